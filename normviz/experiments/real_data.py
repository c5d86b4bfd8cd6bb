"""Measurements of real residual streams: massive activations, the all-ones axis, the model's own norm.

For a token ``x`` in R^d the all-ones axis is ``u = 1/√d``; LayerNorm removes the component along it.

* angle to the all-ones axis: ``θ = arccos(x·1 / (‖x‖√d)) = arccos(√d·μ / ‖x‖)`` (90° = orthogonal);
* share of ``‖x‖²`` carried by the mean component: ``d·μ² / ‖x‖² = cos²θ``;
* the reference for θ: a random x with independent zero-mean entries lies at 90° ± about 1/√d rad from 1
  (exactly for Gaussian entries, whose direction is uniform: θ has density ∝ sin^(d−2) θ on [0, π]);
* massive activations (Sun et al. 2024): a value ``x_ij`` with ``|x_ij| ≥ ratio × median|x|`` of that
  capture point and ``|x_ij| ≥ floor`` (defaults 100× and 10; Sun et al. use > 100 and ~1000× the
  median on LLMs, which a 6-layer MiniLM never reaches); a feature is massive if any of its values is.

Every statistic is taken over real tokens only (padding excluded) in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from normviz.core import device, geometry, projection

__all__ = [
    "LayerStats",
    "Massive",
    "RealView",
    "apply_own_norm",
    "layer_stats",
    "massive",
    "ones_angle",
    "random_angle_std",
    "real_view",
]

RATIO = 100.0

FLOOR = 10.0


def ones_angle(tokens: torch.Tensor) -> torch.Tensor:
    """Angle in degrees between each token of ``(N, d)`` and the all-ones axis, ``(N,)`` float64.

    >>> ones_angle(torch.tensor([[1.0, 1.0], [1.0, -1.0], [-2.0, -2.0]])).round().tolist()
    [0.0, 90.0, 180.0]
    """
    t = tokens.double()
    d = t.shape[-1]
    cos = t.sum(-1) / (torch.linalg.vector_norm(t, dim=-1).clamp_min(1e-300) * math.sqrt(d))  # (N,)
    return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def random_angle_std(d: int) -> float:
    """Standard deviation in degrees of the angle between a random x ~ N(0, I_d) and 1: exact, by quadrature.

    Its direction is uniform on the sphere, so θ has density ∝ sin^(d−2) θ on [0, π], mean 90°; the std is
    ≈ 1/√d rad for large d (and for any independent zero-mean entries, by the central limit theorem).

    >>> round(random_angle_std(2), 2), round(random_angle_std(384), 2), round(math.degrees(384**-0.5), 2)
    (51.96, 2.93, 2.92)
    """
    if not isinstance(d, int) or isinstance(d, bool) or d < 2:
        raise ValueError(f"d must be an integer >= 2 (the angle to 1 of a single value is 0° or 180°), got {d!r}.")
    theta = np.linspace(0.0, math.pi, 200_001)  # (K,) the density is smooth: the trapezoid rule is exact to ~1e-10
    with np.errstate(divide="ignore"):
        logw = (d - 2) * np.log(np.sin(theta)) if d > 2 else np.zeros_like(theta)
    w = np.exp(logw - logw.max())  # (K,) sin^(d−2) θ, scaled
    var = np.trapezoid((theta - math.pi / 2) ** 2 * w, theta) / np.trapezoid(w, theta)
    return math.degrees(math.sqrt(var))


def mean_share(tokens: torch.Tensor) -> torch.Tensor:
    """Share of each token's ``‖x‖²`` carried by its mean component, ``d·μ²/‖x‖²`` = cos²θ, ``(N,)``.

    >>> mean_share(torch.tensor([[1.0, 1.0], [1.0, -1.0], [3.0, 1.0]])).tolist()
    [1.0, 0.0, 0.8]
    """
    t = tokens.double()
    d = t.shape[-1]
    return d * t.mean(-1).square() / t.square().sum(-1).clamp_min(1e-300)


def apply_own_norm(
    kind: str, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None, eps: float
) -> torch.Tensor:
    """The model's norm applied to ``x: (..., d)`` with its own γ, β, ε.

    ``kind`` is the module's class name: ``*RMSNorm`` → ``F.rms_norm(x, (d,), γ, ε) (+ β)``,
    anything else → ``F.layer_norm(x, (d,), γ, β, ε)``. (Gemma's RMSNorm multiplies by 1 + γ: not covered.)
    """
    d = x.shape[-1]
    if kind.endswith("RMSNorm"):
        y = F.rms_norm(x, (d,), weight, eps)
        return y if bias is None else y + bias
    return F.layer_norm(x, (d,), weight, bias, eps)


@dataclass(frozen=True)
class Massive:
    """Massive-activation features at one capture point and what LayerNorm does with them."""

    features: np.ndarray  # (k,) int64 feature indices, largest peak first
    peak: np.ndarray  # (d,) float32: max_i |x_ij| over real tokens, per feature j
    median_abs: float  # median |x| over all real values
    threshold: float  # max(ratio * median_abs, floor)
    tokens_hit: int  # tokens holding at least one massive value
    hit: np.ndarray  # (N,) bool: which tokens hold one
    n_tokens: int
    variance_share: float  # median over hit tokens of Σ_{j massive}(x_j-μ)² / Σ_j (x_j-μ)²
    ln_value: float  # median over hit tokens of max_j massive |LN(x)_j| (no affine); √d = all variance in one feature
    cos_hit: float  # mean pairwise cosine of LN(x) among hit tokens (1 = one fixed point)
    cos_rest: float  # the same among the other tokens


def massive(tokens: torch.Tensor, *, ratio: float = RATIO, floor: float = FLOOR) -> Massive:
    """Find massive-activation features in ``tokens: (N, d)`` (rule in the module docstring).

    >>> x = torch.randn(50, 16, generator=torch.Generator().manual_seed(0)); x[:5, 3] = 500.0
    >>> m = massive(x); m.features.tolist(), m.tokens_hit
    ([3], 5)
    """
    if tokens.ndim != 2 or tokens.shape[0] < 1 or tokens.shape[1] < 2:
        raise ValueError(f"tokens must be (N, d) with N >= 1 and d >= 2, got {tuple(tokens.shape)}.")
    t = tokens.to(device.float64_device()).double()  # float64 throughout
    n, d = t.shape
    a = t.abs()
    # numpy's median on the CPU: the usual median (mean of the middle two; torch.median gives the lower one)
    median_abs = float(np.median(a.cpu().numpy()))
    threshold = max(ratio * median_abs, floor)
    peak = a.amax(0)  # (d,)
    feats = torch.nonzero(peak >= threshold).flatten()
    feats = feats[torch.argsort(peak[feats], descending=True)]  # (k,)
    none = torch.zeros(n, dtype=torch.bool, device=t.device)
    hit = (a[:, feats] >= threshold).any(-1) if feats.numel() else none  # (N,)
    c = t - t.mean(-1, keepdim=True)  # (N, d) centred
    c2 = c.square()
    share = c2[:, feats].sum(-1) / c2.sum(-1).clamp_min(1e-300)  # (N,)
    y = F.layer_norm(t, (d,), eps=1e-12)  # (N, d) no affine
    ln_val = y[:, feats].abs().amax(-1) if feats.numel() else torch.zeros(n, dtype=t.dtype, device=t.device)
    return Massive(
        features=feats.cpu().numpy().astype(np.int64),
        peak=peak.float().cpu().numpy(),
        median_abs=median_abs,
        threshold=threshold,
        tokens_hit=int(hit.sum()),
        hit=hit.cpu().numpy(),
        n_tokens=n,
        variance_share=float(share[hit].median()) if hit.any() else 0.0,
        ln_value=float(ln_val[hit].median()) if hit.any() else 0.0,
        cos_hit=_mean_pairwise_cos(y[hit]),
        cos_rest=_mean_pairwise_cos(y[~hit]),
    )


def _mean_pairwise_cos(y: torch.Tensor) -> float:
    """Mean cosine over all pairs i ≠ j: (‖Σu‖² − n) / (n(n − 1)) with unit rows u (NaN below 2 rows)."""
    n = y.shape[0]
    if n < 2:
        return float("nan")
    u = y / torch.linalg.vector_norm(y, dim=-1, keepdim=True).clamp_min(1e-300)
    return float((u.sum(0).square().sum() - n) / (n * (n - 1)))


@dataclass(frozen=True)
class LayerStats:
    """Per capture point: the angle to the all-ones axis and the mean component's share of ‖x‖²."""

    angle_median: np.ndarray  # (L,) degrees
    angle_q10: np.ndarray  # (L,)
    angle_q90: np.ndarray  # (L,)
    share_median: np.ndarray  # (L,) d·μ²/‖x‖²
    share_q90: np.ndarray  # (L,)
    peak: np.ndarray  # (L,) max |x| over real tokens and features
    massive_count: np.ndarray  # (L,) int: massive features


def layer_stats(points: list[torch.Tensor], *, ratio: float = RATIO, floor: float = FLOOR) -> LayerStats:
    """:class:`LayerStats` for each ``(N, d)`` tensor of real tokens in ``points``."""
    if not points:
        raise ValueError("layer_stats needs at least one capture point.")
    rows = []
    dev = device.float64_device()  # the statistics are taken in float64
    for t in points:
        t = t.to(dev)
        ang, sh = ones_angle(t), mean_share(t)
        q = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64, device=dev)
        aq = torch.quantile(ang, q)
        rows.append(
            (
                float(aq[1]),
                float(aq[0]),
                float(aq[2]),
                float(sh.median()),
                float(torch.quantile(sh, 0.9)),
                float(t.abs().max()),
                int(massive(t, ratio=ratio, floor=floor).features.size),
            )
        )
    cols = list(zip(*rows, strict=True))
    return LayerStats(*(np.asarray(c, dtype=np.float64) for c in cols[:6]), np.asarray(cols[6], dtype=np.int64))


@dataclass(frozen=True)
class RealView:
    """Real tokens and their normalized outputs projected on shared axes, ready to draw."""

    before: np.ndarray  # (n_shown, 3) float32
    after: np.ndarray  # (n_shown, 3) float32
    color: np.ndarray  # (n_shown,) float32 log10 ‖x‖
    labels: tuple[str, ...]  # hover text of each shown token
    shown: np.ndarray  # (n_shown,) int64 index of each shown token among the N real tokens
    basis: projection.Basis
    kept_before: float
    kept_after: float
    radius_hist: geometry.Histogram  # ‖y‖ of every output token
    n_tokens: int


def real_view(
    tokens: torch.Tensor,
    *,
    kind: str = "LayerNorm",
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
    method: str = "ones+pca",
    labels: tuple[str, ...] = (),
    max_points: int = 3000,
    seed: int = 0,
) -> RealView:
    """Normalize real ``tokens: (N, d)`` with the given norm (γ, β optional); project both on axes fitted to y."""
    if tokens.ndim != 2 or tokens.shape[1] < 2 or tokens.shape[0] < 1:
        raise ValueError(f"tokens must be (N, d) with d >= 2, got {tuple(tokens.shape)}.")
    dev = device.device()
    x = tokens.float().to(dev)
    weight = None if weight is None else weight.to(dev)
    bias = None if bias is None else bias.to(dev)
    y = apply_own_norm(kind, x, weight, bias, eps)  # (N, d)
    n = x.shape[0]
    g = torch.Generator().manual_seed(seed)
    shown = torch.randperm(n, generator=g)[:max_points]  # (n_shown,) on the CPU, like the labels
    on = shown.to(dev)
    basis = projection.fit_basis(y[on], method)
    rad = geometry.radii(y)
    return RealView(
        before=projection.project(x[on], basis),
        after=projection.project(y[on], basis),
        color=torch.log10(geometry.radii(x[on]).clamp_min(1e-12)).cpu().numpy().astype(np.float32),
        labels=tuple(labels[i] for i in shown.tolist()) if labels else (),
        shown=shown.numpy().astype(np.int64),
        basis=basis,
        kept_before=projection.kept_share(x, basis),
        kept_after=projection.kept_share(y, basis, radii=rad),
        radius_hist=geometry.histogram(rad),
        n_tokens=n,
    )
