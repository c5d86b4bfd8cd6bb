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

import torch
import torch.nn.functional as F

from normviz import inputs
from normviz._checks import MAX_VALUES, _check_batch_sizes, _check_sizes

__all__ = [
    "MAX_VALUES",
    "POPULATION_TOKENS",
    "PaddingShift",
    "ProbeOutputs",
    "StatsError",
    "batch_stats",
    "padding_shift",
    "probe_outputs",
    "probe_spread",
    "stats_error",
]

POPULATION_TOKENS = 2**16  # tokens in the "large sample" that stands for the population
_CHUNK = 2**20  # values per chunk of statistics (4 MiB float32): measured 2-10x faster than 2**18 or 2**22


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
    sizes = _check_batch_sizes(batch_sizes)
    for B in sizes:
        _check_sizes(kind, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
    probe = _probe(kind, dim, seed)
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
    _check_sizes(kind, batch=batch, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
    probe = _probe(kind, dim, seed)
    y = _probe_in_batches(kind, probe, batch=batch, tokens=tokens, dim=dim, batches=batches, seed=seed, eps=eps)
    ln = F.layer_norm(probe, (dim,), eps=eps)  # (d,)
    return ProbeOutputs(probe=probe, batchnorm=y.float(), layernorm=ln)


def _probe(kind: str, dim: int, seed: int) -> torch.Tensor:
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
    x = inputs.sample(kind, batch=batches * batch, tokens=tokens, dim=dim, seed=seed)  # (K*B, T, d)
    x = x.view(batches, n, dim)  # (K, B*T, d): batch k = sequences k*B ... k*B + B - 1
    x[:, 0] = probe  # the probe replaces token 0 of each batch
    s1 = torch.empty(batches, dim)  # (K, d)
    s2 = torch.empty(batches, dim)  # (K, d)
    step = max(1, _CHUNK // (n * dim))
    for k in range(0, batches, step):
        c = x[k : k + step].sub_(probe)  # (k', n, d), shifted in place: x is ours
        s1[k : k + step] = c.sum(dim=1)
        s2[k : k + step] = c.square_().sum(dim=1)
    m1 = s1.double() / n  # (K, d) = mu_k - p
    var = (s2.double() / n - m1.square()).clamp_min_(0.0)  # (K, d), biased like F.batch_norm
    return -m1 / (var + eps).sqrt()  # (K, d)


# --- batch statistics against the population -----------------------------------------------------


def batch_stats(x: torch.Tensor, *, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature ``mean`` and biased ``var`` of each batch, over its real tokens only.

    ``mean = sum_real x / n_real``, ``var = sum_real (x - mean)^2 / n_real``, in float64.
    ``x: (..., B, T, d)`` -> two ``(..., d)`` tensors; ``mask: (..., B, T)`` bool, True = real token.
    Padded positions never reach a statistic, whatever they hold (even NaN).

    >>> x = torch.tensor([[[1.0], [3.0]], [[5.0], [float("nan")]]])  # (B=2, T=2, d=1)
    >>> mean, var = batch_stats(x, mask=torch.tensor([[True, True], [True, False]]))
    >>> mean.tolist(), var.tolist()
    ([3.0], [2.6666666666666665])
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor of shape (..., B, T, d), got {shape}. Try x[None] for one sequence.")
    x = x.double()
    if mask is None:
        flat = x.flatten(-3, -2)  # (..., B*T, d)
        return flat.mean(dim=-2), flat.var(dim=-2, unbiased=False)
    if mask.dtype != torch.bool or tuple(mask.shape) != tuple(x.shape[:-1]):
        raise ValueError(
            f"mask must be bool of shape {tuple(x.shape[:-1])} (True = real token), "
            f"got {mask.dtype} {tuple(mask.shape)}. Try mask.bool()."
        )
    m = mask[..., None]  # (..., B, T, 1)
    x = torch.where(m, x, 0.0)  # (..., B, T, d): garbage in padding never reaches a sum
    n = m.sum(dim=(-3, -2)).clamp_min(1)  # (..., 1) real tokens per batch
    mean = x.sum(dim=(-3, -2)) / n  # (..., d)
    var = torch.where(m, x - mean[..., None, None, :], 0.0).square().sum(dim=(-3, -2)) / n  # (..., d)
    return mean, var


@dataclass(frozen=True)
class StatsError:
    """Typical distance of batch statistics from the population's, one entry per B.

    ``mean_error[i] = RMS over batches and features of (mu_B - mu) / sigma``;
    ``var_error[i] = RMS of (var_B - var) / var``: relative, so kinds of any scale compare.
    """

    batch_sizes: tuple[int, ...]
    mean_error: tuple[float, ...]
    var_error: tuple[float, ...]
    pad_share: tuple[float, ...]  # share of padded positions in the batches (0 for fixed lengths)


def stats_error(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int = 100,
    seed: int = 0,
    variable_length: bool = False,
    masked: bool = True,
    pad_value: float = 0.0,
) -> StatsError:
    """How far each batch's per-feature mean and variance lie from the population's, for each B.

    ``err_mu = sqrt(mean_{k,j} ((mu_kj - mu_j) / sigma_j)^2)``, ``err_var = sqrt(mean_{k,j}
    ((var_kj - var_j) / var_j)^2)``. The population is a further ``POPULATION_TOKENS`` tokens of the
    same draw. With ``variable_length`` each sequence's length is uniform on 1..T and the rest is
    padding (``pad_value``); ``masked`` statistics use real tokens only, unmasked ones count the pads.
    Heavy-tailed tokens give far larger errors than Gaussian ones (Shen et al. 2020, PowerNorm).
    """
    sizes = _check_batch_sizes(batch_sizes)
    pop_seq = -(-POPULATION_TOKENS // tokens)  # population sequences, rounded up
    for B in sizes:
        _check_sizes(kind, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, extra=pop_seq)
    if not math.isfinite(pad_value):
        raise ValueError(f"pad_value must be a finite number (padding embeddings are usually 0), got {pad_value!r}.")
    mean_err, var_err, shares = [], [], []
    for B in sizes:
        x = inputs.sample(kind, batch=batches * B + pop_seq, tokens=tokens, dim=dim, seed=seed)  # (K*B + P, T, d)
        mu, var = batch_stats(x[batches * B :][None])  # (1, d) each: the population
        sigma2 = var.clamp_min(1e-12)  # a constant feature has no scale to compare with
        xb = x[: batches * B].view(batches, B, tokens, dim)  # (K, B, T, d)
        mask = None
        if variable_length:
            g = torch.Generator().manual_seed(seed)
            lengths = torch.randint(1, tokens + 1, (batches, B, 1), generator=g)  # (K, B, 1)
            mask = torch.arange(tokens) < lengths  # (K, B, T)
            xb[~mask] = pad_value  # x is ours: padded positions get the pad embedding
        se_mu = se_var = 0.0
        step = max(1, _CHUNK // (B * tokens * dim))
        for k in range(0, batches, step):
            cm = None if mask is None or not masked else mask[k : k + step]
            m_b, v_b = batch_stats(xb[k : k + step], mask=cm)  # (k', d) each
            se_mu += float((m_b - mu).square().div(sigma2).sum())
            se_var += float((v_b - var).div(sigma2).square().sum())
        count = batches * dim
        mean_err.append(math.sqrt(se_mu / count))
        var_err.append(math.sqrt(se_var / count))
        shares.append(0.0 if mask is None else 1.0 - float(mask.float().mean()))
    return StatsError(tuple(sizes), tuple(mean_err), tuple(var_err), tuple(shares))


# --- padding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaddingShift:
    """The batch mean with pad tokens counted against masked, one row per pad share."""

    pad_share: tuple[float, ...]  # the realized share of padded positions
    counted_mean: torch.Tensor  # (S, d) float64, pads counted as tokens
    masked_mean: torch.Tensor  # (S, d) float64, real tokens only
    shift: tuple[float, ...]  # RMS over features of (counted - masked) / sigma


def padding_shift(
    kind: str,
    *,
    batch: int,
    tokens: int,
    dim: int,
    pad_shares: Sequence[float],
    seed: int = 0,
    pad_value: float = 0.0,
) -> PaddingShift:
    """How much padding moves BatchNorm's mean when pad tokens are counted: ``counted - masked``.

    With a pad share s of the B*T positions holding ``pad_value``,
    ``counted = (1 - s) * masked + s * pad_value``. Sequence i gets ``floor(s*T + u_i)`` pads at its
    end (u_i uniform, fixed across shares; at least one real token), so the expected share is s.
    ``shift`` is in units of the batch's per-feature standard deviation over real tokens.
    """
    _check_sizes(kind, batch=batch, tokens=tokens, dim=dim, batches=1, seed=seed, min_batches=1)
    shares = list(pad_shares)
    if not shares or not all(isinstance(s, (int, float)) and 0 <= s < 1 for s in shares):
        raise ValueError(f"pad_shares must be a non-empty list of numbers in [0, 1), got {pad_shares!r}.")
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed)  # (B, T, d)
    u = torch.rand(batch, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)  # (B, 1)
    counted, masked, realized, shift = [], [], [], []
    for s in shares:
        pads = (s * tokens + u).floor().long().clamp(max=tokens - 1)  # (B, 1) pads per sequence
        mask = torch.arange(tokens) < tokens - pads  # (B, T)
        xp = torch.where(mask[..., None], x, pad_value)  # (B, T, d)
        mean_c, _ = batch_stats(xp)
        mean_m, var_m = batch_stats(xp, mask=mask)
        counted.append(mean_c)
        masked.append(mean_m)
        realized.append(1.0 - float(mask.double().mean()))
        shift.append(float(((mean_c - mean_m).square() / var_m.clamp_min(1e-12)).mean().sqrt()))
    return PaddingShift(tuple(realized), torch.stack(counted), torch.stack(masked), tuple(shift))
