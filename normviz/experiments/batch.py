"""BatchNorm experiments: one token inside many batches, batch statistics, padding.

(Running statistics, train against eval and Batch Renormalization are in ``normviz.running``.)

BatchNorm standardizes each feature over all ``B*T`` tokens of a batch,
``y = (x - mu_B) / sqrt(var_B + eps)``, so a token's output depends on every other token in the
batch. LayerNorm's statistics come from the token alone: it has no such coupling.

How the tokens are drawn (the tests rebuild these draws to check against torch):

* the probe token is ``inputs.sample(kind, batch=1, tokens=1, dim=d, seed=seed)[0, 0]``;
* for batch size B, ``batches`` batches of B sequences come from ONE call
  ``inputs.sample(kind, batch=batches*B, tokens=T, dim=d, seed=seed)``: batch k holds sequences
  ``k*B ... k*B + B - 1``, and the probe replaces token 0 of its first sequence.

Every B uses the same seed on purpose: kinds such as "shifted" or "outliers" draw their parameters
(the mean vector, which features are massive) from the seed, so one seed keeps one population for
the probe and for every B (and common random numbers make curves over B smooth). Within one B the
batches are independent. One draw holds at most ``MAX_VALUES`` values, which keeps peak memory
under 2 GB; the statistics are then taken in chunks of about ``_CHUNK`` values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from normviz.core import device, fits, inputs, projection
from normviz.core.checks import check_batch_sizes, check_sizes

_CHUNK = 2**20  # values per chunk of statistics (4 MiB float32): measured 2-10x faster than 2**18 or 2**22

__all__ = [
    "Cloud",
    "Clouds",
    "ProbeOutputs",
    "Sweep",
    "cloud",
    "clouds",
    "probe_outputs",
    "probe_spread",
    "probe_token",
    "spread_sweep",
]


# --- one token in many batches ------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeOutputs:
    """The probe token and its outputs: ``batchnorm[k]`` inside batch k, ``layernorm`` on its own."""

    probe: torch.Tensor  # (d,) float32, the input token
    batchnorm: torch.Tensor  # (K, d) float32, one point per batch: the cloud
    layernorm: torch.Tensor  # (d,) float32, one point whatever the batch


def probe_spread(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int = 100,
    seed: int = 0,
    eps: float = 1e-5,
    progress: Callable[[float], None] | None = None,
) -> list[float]:
    """RMS spread of one token's BatchNorm output over ``batches`` batches, for each B.

    ``spread(B) = sqrt(mean_k ||y_k - mean_j y_j||^2)`` with ``y_k = (p - mu_k) / sqrt(var_k + eps)``,
    where p is the probe token and ``mu_k``, ``var_k`` (biased) are the per-feature statistics of
    batch k: B sequences x ``tokens`` tokens, the probe among them (training mode, gamma = 1, beta = 0,
    exactly ``F.batch_norm(..., training=True)``). It falls like ``1/sqrt(B)``; LayerNorm's is 0.
    The draws are described in the module docstring. ``progress(fraction)`` is called after each B.

    >>> s = probe_spread("gaussian", batch_sizes=[4, 64], tokens=8, dim=16, batches=50)
    >>> s[0] > 3 * s[1] > 0
    True
    """
    sizes = check_batch_sizes(batch_sizes)
    for B in sizes:
        check_sizes(kind, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
    probe = probe_token(kind, dim, seed)
    total, done, spreads = sum(sizes), 0, []
    for B in sizes:
        y = _probe_in_batches(kind, probe, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
        dev = y - y.mean(dim=0)  # (K, d)
        spreads.append(math.sqrt(float(dev.square().sum(dim=1).mean())))
        done += B
        if progress is not None:
            progress(done / total)
    return spreads


def probe_outputs(
    kind: str, *, batch: int, tokens: int, dim: int, batches: int = 100, seed: int = 0, eps: float = 1e-5
) -> ProbeOutputs:
    """The probe's BatchNorm outputs in each batch (the cloud) and its LayerNorm output (one point).

    The same draws as :func:`probe_spread`: the cloud's RMS spread is ``probe_spread(...)`` at this B.

    >>> out = probe_outputs("gaussian", batch=8, tokens=4, dim=3, batches=20)
    >>> tuple(out.batchnorm.shape), tuple(out.layernorm.shape)
    ((20, 3), (3,))
    """
    check_sizes(kind, batch=batch, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
    probe = probe_token(kind, dim, seed)
    y = _probe_in_batches(kind, probe, batch=batch, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
    ln = F.layer_norm(probe, (dim,), eps=eps)  # (d,) one token: on the CPU, where the probe was drawn
    return ProbeOutputs(probe=probe, batchnorm=y.float().cpu(), layernorm=ln)


def probe_token(kind: str, dim: int, seed: int) -> torch.Tensor:
    """The probe token of every BatchNorm experiment: one ``(d,)`` draw of ``kind`` (the same for a seed)."""
    return inputs.sample(kind, batch=1, tokens=1, dim=dim, seed=seed)[0, 0]  # (d,)


def _probe_in_batches(kind, probe, *, batch, tokens, dim, batches, seed, eps) -> torch.Tensor:
    """``(K, d)`` float64 BatchNorm outputs of the probe, from per-batch sums (no normalized copy).

    Shifted sums ``s1 = sum(x - p)``, ``s2 = sum((x - p)^2)`` over the n = B*T tokens give
    ``mu - p = s1/n`` and ``var = s2/n - (s1/n)^2``. The shift by p (a token of the same population)
    keeps the cancellation small, so torch's float32 cascade sums agree with F.batch_norm's double
    accumulation to ~1e-7; float64 sums cost 2x here (a float64 copy of each chunk).
    Then ``y = (p - mu) / sqrt(var + eps) = -(s1/n) / sqrt(var + eps)``, in float64.
    """
    n = batch * tokens
    dev = device.device()
    x = inputs.sample(kind, batch=batches * batch, tokens=tokens, dim=dim, seed=seed).to(dev)  # (K*B, T, d)
    x = x.view(batches, n, dim)  # (K, B*T, d): batch k = sequences k*B ... k*B + B - 1
    probe = probe.to(dev)
    x[:, 0] = probe  # the probe replaces token 0 of each batch
    s1 = torch.empty(batches, dim, device=dev)  # (K, d)
    s2 = torch.empty(batches, dim, device=dev)  # (K, d)
    step = max(1, _CHUNK // (n * dim))
    for k in range(0, batches, step):
        c = x[k : k + step].sub_(probe)  # (k', n, d), shifted in place: x is ours
        s1[k : k + step] = c.sum(dim=1)
        s2[k : k + step] = c.square_().sum(dim=1)
    m1 = device.f64(s1) / n  # (K, d) = mu_k - p
    var = (device.f64(s2) / n - m1.square()).clamp_min_(0.0)  # (K, d), biased like F.batch_norm
    return -m1 / (var + eps).sqrt()  # (K, d)


@dataclass(frozen=True)
class Sweep:
    """Values against the batch size B, with a fitted log-log slope and its 1/sqrt(B) reference."""

    batch_sizes: np.ndarray  # (S,) float64
    series: dict[str, np.ndarray]  # name -> (S,) float64
    reference: np.ndarray  # (S,) c / sqrt(B), through the geometric mean of the first series
    slope: float  # least-squares slope of log(first series) against log(B)


@dataclass(frozen=True)
class Cloud:
    """One probe token's BatchNorm outputs over K batches of size B, in a 3D view."""

    points: np.ndarray  # (K, 3) float32, BatchNorm outputs of the probe, one per batch
    layernorm: np.ndarray  # (3,) float32, the probe's LayerNorm output: one point whatever the batch
    labels: tuple[str, str, str]
    kept: float  # share of sum ||y||^2 the 3 axes keep (1.0 when d <= 3)
    rms_spread: float  # RMS distance of the outputs from their mean, over all d features
    ranges: np.ndarray  # (3, 2) float64, [low, high] of each axis: equal lengths, so the view is a cube


@dataclass(frozen=True)
class Clouds:
    """The probe's clouds at every B of a sweep, on ONE basis and ONE set of axis ranges."""

    by_batch: dict[int, Cloud]  # B -> its cloud; every cloud has the same labels and ranges
    basis_batch: int  # the B whose cloud the basis was fitted on (the smallest: the widest cloud)
    sweep: Sweep  # the clouds' RMS spreads against B: exactly :func:`spread_sweep`'s numbers


def _cube_ranges(point_sets: Sequence[np.ndarray], margin: float = 1.08) -> np.ndarray:
    """``(3, 2)`` axis ranges of one cube around every point: centred on their bounding box."""
    pts = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 3) for p in point_sets])
    lo, hi = pts.min(axis=0), pts.max(axis=0)  # (3,) each
    half = margin * float((hi - lo).max()) / 2 or 1.0
    mid = (lo + hi) / 2
    return np.stack([mid - half, mid + half], axis=1)


def _cloud(y: torch.Tensor, ln: torch.Tensor, basis: projection.Basis, ranges=None) -> Cloud:
    """The cloud of ``y: (K, d)`` float64 outputs and the LayerNorm point ``ln: (d,)`` on ``basis``."""
    points = projection.project(y, basis)  # (K, 3)
    marker = projection.project(ln[None, :], basis)[0]  # (3,)
    spread = math.sqrt(float((y - y.mean(dim=0)).square().sum(dim=1).mean()))
    return Cloud(
        points=points,
        layernorm=marker,
        labels=basis.labels,
        kept=projection.kept_share(y, basis),
        rms_spread=spread,
        ranges=_cube_ranges([points, marker]) if ranges is None else ranges,
    )


def cloud(kind: str, *, batch_size: int, tokens: int, dim: int, batches: int, seed: int = 0) -> Cloud:
    """The probe's outputs in ``batches`` batches of ``batch_size`` sequences, projected to 3D.

    Axes: exact coordinates when d <= 3, else the top 3 principal components of this cloud
    (coordinates are dot products about the origin, so LayerNorm's point is placed faithfully too).
    To compare batch sizes use :func:`clouds`, which keeps one basis and one range for every B.
    """
    out = probe_outputs(kind, batch=batch_size, tokens=tokens, dim=dim, batches=batches, seed=seed)
    return _cloud(out.batchnorm.double(), out.layernorm, projection.fit_basis(out.batchnorm, "pca"))


def clouds(kind: str, *, batch_sizes: Sequence[int], tokens: int, dim: int, batches: int, seed: int = 0) -> Clouds:
    """The probe's clouds at every B, drawn so that a smaller spread LOOKS smaller.

    One basis for all of them: the top 3 principal components of the smallest B's cloud (the widest;
    exact coordinates when d <= 3). One cube of axis ranges for all of them: around every cloud and the
    LayerNorm point. The draws are :func:`probe_spread`'s, so ``sweep`` is :func:`spread_sweep`.

    >>> cs = clouds("gaussian", batch_sizes=[2, 64], tokens=4, dim=8, batches=20)
    >>> bool((cs.by_batch[2].ranges == cs.by_batch[64].ranges).all()), cs.basis_batch
    (True, 2)
    """
    sizes = check_batch_sizes(batch_sizes)
    for B in sizes:
        check_sizes(kind, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=1e-5)
    probe = probe_token(kind, dim, seed)
    ln = F.layer_norm(probe, (dim,), eps=1e-5)  # (d,)
    ys = {
        B: _probe_in_batches(kind, probe, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=1e-5).cpu()
        for B in sizes
    }  # B -> (K, d) float64
    smallest = min(sizes)
    basis = projection.fit_basis(ys[smallest].float(), "pca")
    first = {B: _cloud(y, ln, basis) for B, y in ys.items()}
    ranges = _cube_ranges([p for c in first.values() for p in (c.points, c.layernorm)])
    by_batch = {B: _cloud(y, ln, basis, ranges) for B, y in ys.items()}
    spread = np.array([by_batch[B].rms_spread for B in sizes])
    return Clouds(by_batch, smallest, _sweep(sizes, {"BatchNorm: probe's spread": spread}))


def spread_sweep(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Sweep:
    """:func:`probe_spread` over the batch sizes, with its slope and the 1/sqrt(B) line."""
    spread = probe_spread(
        kind, batch_sizes=batch_sizes, tokens=tokens, dim=dim, batches=batches, seed=seed, progress=progress
    )
    return _sweep(batch_sizes, {"BatchNorm: probe's spread": np.asarray(spread)})


def _sweep(batch_sizes: Sequence[int], series: dict[str, np.ndarray]) -> Sweep:
    b = np.asarray(batch_sizes, dtype=np.float64)
    first = next(iter(series.values())).astype(np.float64)
    ok = (first > 0) & np.isfinite(first)
    if ok.sum() >= 2:
        slope = fits.slope(b[ok], first[ok])
        c = fits.power_through(b[ok], first[ok], -0.5)  # c / sqrt(B) through the data
    else:
        slope, c = float("nan"), 1.0
    return Sweep(b, {k: v.astype(np.float64) for k, v in series.items()}, c / np.sqrt(b), slope)
