"""The Hypersphere experiment: where a per-token norm puts token vectors, measured exactly.

``compute`` runs normalize -> measure -> fit a basis -> project a capped sample of tokens,
and returns plain numpy arrays ready to draw (:class:`SphereView`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from normviz.core import device, geometry, norms, projection

__all__ = [
    "LIVE",
    "PIN_COS",
    "SPHERE_NORMS",
    "Pinned",
    "Reference",
    "SphereView",
    "affine",
    "best_dyt_fit",
    "compute",
    "compute_over",
    "pinned",
    "reference",
]

SPHERE_NORMS = ("layernorm", "rmsnorm", "dyt", "identity")

FIT_TOKENS = 8_192  # tokens the projection axes are fitted on (a fixed random sample)

PIN_COS = 0.9  # a LayerNorm output this close (|cos| >= 0.9, within 26°) to ±p_j counts as pinned there


@dataclass(frozen=True)
class Pinned:
    """How many LayerNorm outputs sit near the point a huge feature j pins a token to.

    A token whose feature j dwarfs the others has LayerNorm output (γ = 1, β = 0, ε small)
    ``±p_j = ±(d·e_j − 1)/√(d − 1)``, the point of the sphere √d in Σy = 0 closest to ±e_j
    (Sun et al. 2024: massive activations pin a token's output to a fixed point).
    """

    feature: int  # j: the feature with the largest |x| anywhere
    peak: float  # max over tokens of |x_j|
    near: int  # tokens whose LayerNorm output has |cos(y, p_j)| >= PIN_COS
    near_plus: int  # of these, those at +p_j (the rest are at -p_j)
    total: int  # all tokens


@dataclass(frozen=True)
class Reference:
    """The exact set the outputs lie on (or inside, for a projection), in view coordinates."""

    kind: str  # "circle" | "ellipsoid" | "points" | "line" | "disk" | "ball"
    curve: np.ndarray | None = None  # (n, 3) for circles and lines, (k, 3) for "points"
    mesh: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # ellipsoid / ball surface
    plane: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the plane sum(y) = 0 (d = 3)
    description: str = ""


@dataclass(frozen=True)
class SphereView:
    before: np.ndarray  # (n_shown, 3) float32, input tokens in view coordinates
    after: np.ndarray  # (n_shown, 3) float32, output tokens in the same basis
    color: np.ndarray  # (n_shown,) float32: log10 of each shown token's input length
    basis: projection.Basis
    kept_before: float  # share of sum ||x||^2 the 3 axes keep
    kept_after: float
    reference: Reference | None
    radius_hist: geometry.Histogram  # ||y|| of every output token
    mean_hist: geometry.Histogram  # (1/d) sum_i y_i of every output token
    sqrt_d: float
    n_tokens: int
    n_shown: int
    elementwise_x: np.ndarray  # (m,) float32 input elements (for the S-curve view)
    elementwise_ln: np.ndarray  # (m,) LayerNorm output elements (no affine)
    elementwise_y: np.ndarray  # (m,) the chosen norm's output elements
    ln_alpha: float  # alpha of the gamma tanh(alpha x) that best fits the LayerNorm cloud
    ln_gamma: float  # its gamma (amplitude): LayerNorm outputs are not bounded by 1
    ln_fit_error: float  # RMS of ln_gamma tanh(ln_alpha x) - LayerNorm output over the sampled elements
    line_slope: float  # the least-squares straight line through 0, y = slope * x, for comparison
    line_error: float  # its RMS error: close to ln_fit_error when the cloud has no S to see
    ln_above_one: float  # share of sampled LayerNorm output elements with |y| > 1 (a bare tanh cannot reach them)
    pinned: Pinned  # LayerNorm outputs near the point the loudest feature pins a token to
    curve_x: np.ndarray  # (200,) grid over the sampled input range
    curve_ln_fit: np.ndarray  # (200,) ln_gamma * tanh(ln_alpha * curve_x)
    curve_line: np.ndarray  # (200,) line_slope * curve_x
    curve_dyt: np.ndarray  # (200,) tanh(alpha * curve_x), DyT at the chosen alpha (no affine)


def affine(dim: int, *, gamma_scale: float = 1.0, gamma_spread: float = 1.0, beta_shift: float = 0.0):
    """gamma and beta of shape (d,): ``gamma_j = scale * spread^t_j`` (t_j from -1 to 1), ``beta_j = shift``.

    spread = 1 keeps the sphere round; spread > 1 stretches it into an ellipsoid.
    Returns ``(None, None)`` for the identity affine so norms take their fast path.
    """
    if not (gamma_scale > 0 and gamma_spread >= 1 and math.isfinite(beta_shift)):
        raise ValueError("gamma scale must be > 0, gamma spread >= 1 and beta shift finite.")
    t = torch.linspace(-1.0, 1.0, dim) if dim > 1 else torch.zeros(1)
    gamma = gamma_scale * gamma_spread**t  # (d,)
    beta = torch.full((dim,), float(beta_shift))  # (d,)
    is_one = gamma_scale == 1 and gamma_spread == 1
    return (None if is_one else gamma), (None if beta_shift == 0 else beta)


def compute(
    x: torch.Tensor,
    norm: str,
    *,
    eps: float = 1e-5,
    gamma_scale: float = 1.0,
    gamma_spread: float = 1.0,
    beta_shift: float = 0.0,
    alpha: float = 0.5,
    method: str = "ones+pca",
    max_points: int = 3000,
    max_elements: int = 6000,
    seed: int = 0,
) -> SphereView:
    """Normalize every token of ``x: (B, T, d)``, measure all of them, project a sample.

    The basis is fitted on the output tokens (a fixed sample of at most ``FIT_TOKENS``) and
    used for the input too, so both scenes share axes. ``max_points`` caps only what is drawn;
    every measurement uses all tokens.
    """
    if norm not in SPHERE_NORMS:
        raise ValueError(f"The Hypersphere view covers {', '.join(SPHERE_NORMS)}; got {norm!r}.")
    x = x.to(device.device())  # a no-op for the page's cached sample, which is there already
    d = x.shape[-1]
    weight, bias = affine(d, gamma_scale=gamma_scale, gamma_spread=gamma_spread, beta_shift=beta_shift)
    weight = None if weight is None else weight.to(x.device)
    bias = None if bias is None else bias.to(x.device)
    y = norms.apply(norm, x, eps=eps, weight=weight, bias=bias, alpha=alpha)  # (B, T, d)
    xt, yt = x.reshape(-1, d), y.reshape(-1, d)  # (N, d) every token
    n = xt.shape[0]

    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g).to(x.device)  # (N,) one reproducible shuffle
    shown = order[: min(n, max_points)]  # (n_shown,) the tokens drawn
    # The axes are fitted on at most FIT_TOKENS output tokens (8x less work at 65,536; the axes only
    # turn where top variances tie, and then any axes are equally faithful). Every number shown
    # (lengths, means, the share the axes keep) is still computed on all N tokens.
    basis = projection.fit_basis(yt[order[:FIT_TOKENS]], method)
    x_shown, y_shown = xt[shown], yt[shown]  # (n_shown, d)

    sqrt_d = math.sqrt(d)
    rad = geometry.radii(yt)
    ex, eln, ey = _elementwise(xt, y=yt, eps=eps, max_elements=max_elements, g=g)
    ln_alpha, ln_gamma = best_dyt_fit(torch.from_numpy(ex), torch.from_numpy(eln))
    ex64, eln64 = ex.astype(np.float64), eln.astype(np.float64)
    slope = float((ex64 @ eln64) / (ex64 @ ex64)) if np.any(ex64) else 0.0
    rms = lambda r: float(np.sqrt(np.mean(np.square(r)))) if r.size else 0.0  # noqa: E731
    lim = float(np.abs(ex).max()) if ex.size else 1.0
    curve_x = np.linspace(-lim, lim, 200)
    return SphereView(
        before=projection.project(x_shown, basis),
        after=projection.project(y_shown, basis),
        color=torch.log10(geometry.radii(x_shown).clamp_min(1e-12)).float().cpu().numpy(),
        basis=basis,
        kept_before=projection.kept_share(xt, basis),
        kept_after=projection.kept_share(yt, basis, radii=rad),
        reference=_reference(norm, basis, weight=weight, bias=bias),
        radius_hist=geometry.histogram(rad, include=(sqrt_d,) if norm in ("layernorm", "rmsnorm") else ()),
        mean_hist=geometry.histogram(geometry.mean_component(yt), include=(0.0,)),
        sqrt_d=sqrt_d,
        n_tokens=n,
        n_shown=int(shown.numel()),
        elementwise_x=ex,
        elementwise_ln=eln,
        elementwise_y=ey,
        ln_alpha=ln_alpha,
        ln_gamma=ln_gamma,
        ln_fit_error=rms(ln_gamma * np.tanh(ln_alpha * ex64) - eln64),
        line_slope=slope,
        line_error=rms(slope * ex64 - eln64),
        ln_above_one=float(np.mean(np.abs(eln64) > 1)) if eln64.size else 0.0,
        pinned=pinned(xt, eps=eps),
        curve_x=curve_x.astype(np.float32),
        curve_ln_fit=(ln_gamma * np.tanh(ln_alpha * curve_x)).astype(np.float32),
        curve_line=(slope * curve_x).astype(np.float32),
        curve_dyt=np.tanh(alpha * curve_x).astype(np.float32),
    )


LIVE = ("eps", "gamma_scale", "gamma_spread", "beta_shift", "alpha")  # what compute_over can vary


def compute_over(x: torch.Tensor, norm: str, vary: str, values, **kwargs) -> list[SphereView]:
    """:func:`compute` at every value of one argument, the others held: the frames of a live control.

    ``vary`` is one of :data:`LIVE`; ``kwargs`` are :func:`compute`'s other arguments. Each view is
    exactly ``compute(x, norm, **{vary: value}, **kwargs)`` (the same sample, shuffle and basis fit).

    >>> from normviz.core import inputs
    >>> x = inputs.sample("gaussian", batch=1, tokens=64, dim=3, seed=0)
    >>> views = compute_over(x, "rmsnorm", "gamma_scale", [1.0, 2.0])  # RMSNorm: every token at radius γ·√d
    >>> [round(float(np.linalg.norm(v.after, axis=1).max()), 3) for v in views]
    [1.732, 3.464]
    """
    if vary not in LIVE:
        raise ValueError(f"compute_over varies one of {', '.join(LIVE)}; got {vary!r}.")
    if vary in kwargs:
        raise ValueError(f"{vary!r} is the argument being varied: pass its values, not a single {vary}=.")
    x = x.to(device.device())
    return [compute(x, norm, **{vary: value}, **kwargs) for value in values]


def best_dyt_fit(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The (alpha, gamma) minimising sum (gamma tanh(alpha x) - y)^2: DyT's shape with its amplitude.

    For a given alpha the best gamma is closed-form, sum(t y) / sum(t t) with t = tanh(alpha x), so only
    alpha is searched: a log grid of alpha * max|x| from 0.01 (a straight line) to 1000 (a step), then
    golden-section search.

    >>> x = torch.linspace(-3, 3, 101)
    >>> [round(v, 4) for v in best_dyt_fit(x, 2.5 * torch.tanh(0.7 * x))]
    [0.7, 2.5]
    """
    x = x.detach().double().cpu().numpy().ravel()  # numpy: ~100 tiny evaluations, no thread overhead
    y = y.detach().double().cpu().numpy().ravel()
    top = float(np.abs(x).max()) if x.size else 0.0
    if top == 0:
        return 1.0, 0.0  # no input spread: nothing to fit

    def fit(log_a: float) -> tuple[float, float]:
        t = np.tanh(math.exp(log_a) * x)
        gamma = float(t @ y / (t @ t))
        return float(np.square(gamma * t - y).sum()), gamma

    grid = np.linspace(math.log(1e-2 / top), math.log(1e3 / top), 31).tolist()
    i = min(range(len(grid)), key=lambda k: fit(grid[k])[0])
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    phi = (math.sqrt(5) - 1) / 2
    for _ in range(48):  # bracket shrinks by 0.618 each step: 1e-10 of its width after 48
        a, b = hi - phi * (hi - lo), lo + phi * (hi - lo)
        if fit(a)[0] < fit(b)[0]:
            hi = b
        else:
            lo = a
    log_a = (lo + hi) / 2
    return math.exp(log_a), fit(log_a)[1]


def pinned(xt: torch.Tensor, *, eps: float = 1e-5) -> Pinned:
    """Count the tokens ``xt: (N, d)`` whose LayerNorm output (no affine) lies near ±p_j, j the loudest feature.

    >>> x = torch.zeros(3, 8); x[0, 5] = 500.0; x[1:] = torch.randn(2, 8, generator=torch.Generator().manual_seed(0))
    >>> p = pinned(x); (p.feature, p.near >= 1, p.near_plus >= 1)
    (5, True, True)
    """
    n, d = xt.shape
    peak = xt.abs().amax(dim=0)  # (d,) each feature's largest |x|
    j = int(peak.argmax())
    y = torch.nn.functional.layer_norm(xt.float(), (d,), eps=eps)  # (N, d): float32 is ample for a cosine
    p = torch.full((d,), -1.0, dtype=y.dtype, device=y.device)
    p[j] = d - 1.0
    p = p / math.sqrt(d * (d - 1)) if d > 1 else p  # unit vector along p_j
    cos = (y @ p) / torch.linalg.vector_norm(y, dim=-1).clamp_min(1e-30)  # (N,)
    near = cos.abs() >= PIN_COS
    return Pinned(j, float(peak[j]), int(near.sum()), int((near & (cos > 0)).sum()), n)


def _elementwise(xt, *, y, eps, max_elements, g):
    """A sample of (input, LayerNorm output, chosen output) element pairs from whole tokens."""
    n, d = xt.shape
    k = max(1, min(n, max_elements // d))  # whole tokens, so each token's S-curve is complete
    rows = torch.randperm(n, generator=g)[:k].to(xt.device)  # (k,)
    xs = xt[rows]  # (k, d)
    ln = torch.nn.functional.layer_norm(xs, (d,), eps=eps)  # (k, d), no affine, as in Zhu et al.
    cols = slice(0, max(1, max_elements // k))
    pick = lambda t: t[:, cols].reshape(-1).float().cpu().numpy()  # noqa: E731
    return pick(xs), pick(ln), pick(y[rows])


def _reference(norm, basis, *, weight, bias) -> Reference | None:
    """The exact output set in view coordinates, where a picture of it is faithful."""
    d = basis.dim
    if norm not in ("layernorm", "rmsnorm"):
        return None
    gamma = np.ones(d) if weight is None else weight.cpu().double().numpy()
    beta = np.zeros(d) if bias is None else bias.cpu().double().numpy()
    V = basis.vectors  # (3, d)
    center = V @ beta  # (3,)
    r = math.sqrt(d)
    if basis.method == "exact":
        if norm == "layernorm" and d == 2:
            pts = np.array([[1.0, -1.0], [-1.0, 1.0]]) * gamma + beta  # the only two outputs
            line = np.array([[-2.0, 2.0], [2.0, -2.0]]) * gamma + beta
            return Reference(
                "points",
                curve=_pad3(np.vstack([line[0], pts[0], pts[1], line[1]])),
                description="the line y₁ + y₂ = 0 meets the circle of radius √2 in only two points: "
                "(1, −1) and (−1, 1) (times γ, plus β)",
            )
        if norm == "rmsnorm" and d == 2:
            c = projection.circle(np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), r)
            c[:, :2] = c[:, :2] * gamma + beta
            return Reference("circle", curve=c, description="the circle of radius √2 (times γ, plus β)")
        if norm == "layernorm" and d == 3:
            u = np.array([1.0, -1.0, 0.0]) / math.sqrt(2)
            v = np.array([1.0, 1.0, -2.0]) / math.sqrt(6)
            c = projection.circle(np.zeros(3), u, v, r) * gamma + beta  # exact image of the circle
            plane = _plane(u, v, 1.6 * r, gamma, beta)
            return Reference(
                "circle",
                curve=c.astype(np.float32),
                plane=plane,
                description="the circle of radius √3 in the plane y₁ + y₂ + y₃ = 0 (times γ, plus β)",
            )
        if norm == "rmsnorm" and d == 3:
            mesh = projection.sphere_mesh(beta, r * gamma)
            return Reference("ellipsoid", mesh=mesh, description="the sphere of radius √3 (times γ, plus β)")
        return None  # d = 1
    if weight is not None:
        return None  # an ellipsoid's shadow in a projection is not drawn: it would mislead
    if norm == "layernorm":
        # outputs y = z + beta with z ⟂ 1, ||z|| = sqrt(d): axis 1 is the ones direction, so
        # every projected point has axis-1 coordinate (1/sqrt d) sum(beta) and lies in the disk.
        c = projection.circle(center, np.array([0, 1.0, 0]), np.array([0, 0, 1.0]), r)
        return Reference(
            "disk",
            curve=c,
            description=f"the disk of radius √d = {r:.3g} in the plane ⟂ 1: "
            "every projected output lies on this plane, inside the circle",
        )
    mesh = projection.sphere_mesh(center, np.full(3, r))
    return Reference(
        "ball", mesh=mesh, description=f"the ball of radius √d = {r:.3g}: every projected output lies inside it"
    )


reference = _reference  # public: GroupNorm's per-group views reuse LayerNorm's exact sets at d/G


def _pad3(p: np.ndarray) -> np.ndarray:
    out = np.zeros((p.shape[0], 3), dtype=np.float32)
    out[:, : p.shape[1]] = p
    return out


def _plane(u, v, half, gamma, beta):
    s = np.linspace(-half, half, 2)
    a, b = np.meshgrid(s, s)  # (2, 2)
    pts = (a[..., None] * u + b[..., None] * v) * gamma + beta  # (2, 2, 3)
    return tuple(pts[..., i].astype(np.float32) for i in range(3))
