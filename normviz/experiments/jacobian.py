"""The LayerNorm and RMSNorm Jacobians at d = 3, exact: what gradient reaches the input.

For y = LayerNorm(x) = (x − μ1)/σ (γ = 1, β = 0, ε = 0) and an upstream gradient g = ∂loss/∂y,

    ∂loss/∂x = Jᵀg = (1/σ) (g − mean(g)·1 − (y·g / d)·y)

which is orthogonal to 1 and to y ∝ x − μ1 (LayerNorm cannot change a token's mean or its scale)
and shrinks as 1/σ: scaling x by s scales the gradient by 1/s. For y = RMSNorm(x) = x / rms(x),

    ∂loss/∂x = (1/rms) (g − (y·g / d)·y)

orthogonal to x only (RMSNorm does not center). So an upstream g along y is blocked by both norms,
g along 1 only by LayerNorm: RMSNorm passes (1/rms)(1 − (Σy / d)·y) back, not 0. Here the gradients
come from torch's autograd (``torch.func.vjp`` of ``F.layer_norm`` / ``F.rms_norm``) in float64; the
formulas above are the tests' independent reference. A gradient that is 0 in exact arithmetic comes out
as ~1e-16; :func:`arrows` and :func:`scale_sweep` flush it to exactly 0 (``normviz.core.rounding``),
measured against the largest gradient any unit g could give there, the Jacobian's norm √d / ‖x − μ1‖.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from normviz.core.rounding import flush_rounding

__all__ = [
    "NORMS",
    "UPSTREAM",
    "VIEW_HALF",
    "Arrows",
    "arrows",
    "blocked",
    "direction",
    "input_gradient",
    "output_set",
    "scale_sweep",
]

NORMS = ("layernorm", "rmsnorm")

# the chosen output direction g, named by what it shows
UPSTREAM = ("tangent", "radial", "ones", "e1", "e2", "e3")

VIEW_HALF = 3.0  # the 3D view's axes run over ±3

SCALES = tuple(float(s) for s in np.logspace(-1, 1, 21))  # the scale sweep, 0.1 ... 10


@dataclass(frozen=True)
class Arrows:
    """Everything the d = 3 view draws, exact coordinates."""

    x: np.ndarray  # (3,) the input token
    y: np.ndarray  # (3,) its output
    g: np.ndarray  # (3,) the upstream gradient ∂loss/∂y (unit length)
    grad_x: np.ndarray  # (3,) ∂loss/∂x = Jᵀg
    centered: np.ndarray  # (3,) x − μ1 (LayerNorm) or x (RMSNorm): what the gradient is orthogonal to
    dots: dict[str, float]  # grad_x · 1 / ‖·‖, grad_x · centered / ‖·‖ (cosines; 0 = orthogonal)
    grad_norm: float  # ‖∂loss/∂x‖
    shown: float  # the gradient arrow is drawn at this fraction of its length (1 unless it would leave the view)


def direction(azimuth: float, elevation: float) -> np.ndarray:
    """The unit vector at ``azimuth`` and ``elevation`` (degrees).

    >>> direction(0, 0).round(6).tolist(), direction(0, 90).round(6).tolist()
    ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    """
    a, e = math.radians(azimuth), math.radians(elevation)
    return np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


def input_gradient(norm: str, x, g, *, eps: float = 0.0) -> np.ndarray:
    """∂loss/∂x = Jᵀg through ``norm`` at ``x`` (..., d) for upstream ``g`` (..., d), by torch autograd in float64.

    >>> gx = input_gradient("layernorm", [1.0, 2.0, 4.0], [1.0, 0.0, 0.0])
    >>> bool(abs(gx.sum()) < 1e-12)
    True
    """
    if norm not in NORMS:
        raise ValueError(f"Unknown norm {norm!r}. Pick one of {', '.join(NORMS)}.")
    # on the CPU whatever the device: d = 3 (at most 21 scales of it), float64 autograd of a handful of
    # values, where a GPU launch costs more than the maths (and MPS has no float64)
    xt = torch.tensor(np.asarray(x, dtype=np.float64))
    gt = torch.tensor(np.asarray(g, dtype=np.float64))
    if xt.shape != gt.shape or xt.ndim == 0:
        raise ValueError(f"x and g must have the same shape (..., d), got {tuple(xt.shape)} and {tuple(gt.shape)}.")
    d = xt.shape[-1]
    centered = xt - xt.mean(-1, keepdim=True) if norm == "layernorm" else xt
    if eps == 0 and bool((centered.square().sum(-1) == 0).any()):
        what = "all its features equal (x − μ = 0)" if norm == "layernorm" else "x = 0"
        raise ValueError(f"The {norm} Jacobian is undefined at an input with {what} and ε = 0: move x or set eps > 0.")

    def f(v):
        return F.layer_norm(v, (d,), eps=eps) if norm == "layernorm" else F.rms_norm(v, (d,), eps=eps)

    _, vjp = torch.func.vjp(f, xt)
    return vjp(gt)[0].numpy()


def arrows(
    norm: str, *, azimuth: float = 20.0, elevation: float = 35.0, scale: float = 1.0, upstream: str = "tangent"
) -> Arrows:
    """The d = 3 picture: x = scale·u(azimuth, elevation), y = norm(x), g the chosen output direction, ∂loss/∂x.

    ``upstream``: "tangent" (along the output circle / sphere), "radial" (along y: changes only the
    scale), "ones" (along 1: changes only the mean), or a coordinate axis "e1", "e2", "e3".

    >>> a = arrows("layernorm", upstream="radial")
    >>> bool(a.grad_norm < 1e-12)
    True
    """
    if norm not in NORMS:
        raise ValueError(f"Unknown norm {norm!r}. Pick one of {', '.join(NORMS)}.")
    if upstream not in UPSTREAM:
        raise ValueError(f"Unknown upstream direction {upstream!r}. Pick one of {', '.join(UPSTREAM)}.")
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}.")
    x = scale * direction(azimuth, elevation)
    ones = np.ones(3)
    centered = x - x.mean() if norm == "layernorm" else x
    if np.linalg.norm(centered) < 1e-9 * scale:
        raise ValueError(
            "x lies on the all-ones axis, so x − μ1 = 0 and LayerNorm is undefined there (ε = 0): move the "
            "azimuth or elevation off (45°, 35.26°)."
        )
    y = _forward(norm, x)
    g = _upstream(upstream, y, norm)
    grad_x = flush_rounding(input_gradient(norm, x, g), scale=_jacobian_norm(centered))
    n = np.linalg.norm(grad_x)
    zero = n == 0  # the gradient vanishes (g along y, or along 1 for LayerNorm): no direction to compare
    cos = {
        "1": 0.0 if zero else float(grad_x @ ones / (n * math.sqrt(3))),
        "centered": 0.0 if zero else float(grad_x @ centered / (n * np.linalg.norm(centered))),
    }
    shown = min(1.0, VIEW_HALF / float(n)) if n > 0 else 1.0
    return Arrows(x=x, y=y, g=g, grad_x=grad_x, centered=centered, dots=cos, grad_norm=float(n), shown=shown)


def blocked(norm: str, *, azimuth: float = 20.0, elevation: float = 35.0, scale: float = 1.0) -> dict[str, float]:
    """‖∂loss/∂x‖ for a unit g along y ("radial") and along 1 ("ones") at this input: 0 where the norm blocks it.

    LayerNorm blocks both; RMSNorm blocks only g along y (it does not center, so the mean is not lost).

    >>> {k: round(v, 2) for k, v in blocked("layernorm", azimuth=10, elevation=5, scale=2.5).items()}
    {'radial': 0.0, 'ones': 0.0}
    >>> {k: round(v, 2) for k, v in blocked("rmsnorm", azimuth=10, elevation=5, scale=2.5).items()}
    {'radial': 0.0, 'ones': 0.48}
    """
    kw = {"azimuth": azimuth, "elevation": elevation, "scale": scale}
    return {up: arrows(norm, upstream=up, **kw).grad_norm for up in ("radial", "ones")}


def output_set(norm: str, *, points: int = 120) -> dict[str, np.ndarray]:
    """Where the outputs lie at d = 3, as polylines (lines draw far faster than surfaces in WebGL).

    LayerNorm: "circle" (m, 3) of radius √3 in the plane Σy = 0 and "plane" (5, 3), the closed outline of
    that plane inside the view. RMSNorm: "sphere" (3m + 2, 3), three great circles of radius √3 separated
    by NaN rows (gaps in the line).

    >>> c = output_set("layernorm")["circle"]
    >>> bool(np.allclose(np.linalg.norm(c, axis=1), 3**0.5)), bool(np.allclose(c.sum(1), 0))
    (True, True)
    """
    t = np.linspace(0, 2 * np.pi, points)
    r = math.sqrt(3)
    if norm == "layernorm":
        u = np.array([1.0, -1.0, 0.0]) / math.sqrt(2)
        v = np.array([1.0, 1.0, -2.0]) / math.sqrt(6)
        circle = r * (np.cos(t)[:, None] * u + np.sin(t)[:, None] * v)  # (m, 3)
        h = 0.9 * VIEW_HALF
        corners = np.array([[-h, -h], [h, -h], [h, h], [-h, h], [-h, -h]])  # (5, 2) in the plane's (u, v)
        return {"circle": circle, "plane": corners[:, :1] * u + corners[:, 1:] * v}
    if norm == "rmsnorm":
        c, s = r * np.cos(t), r * np.sin(t)
        z = np.zeros_like(t)
        gap = np.full((1, 3), np.nan)
        rings = [np.stack(p, 1) for p in ((c, s, z), (c, z, s), (z, c, s))]  # three great circles
        return {"sphere": np.concatenate([rings[0], gap, rings[1], gap, rings[2]])}
    raise ValueError(f"Unknown norm {norm!r}. Pick one of {', '.join(NORMS)}.")


def scale_sweep(
    norm: str, *, azimuth: float = 20.0, elevation: float = 35.0, upstream: str = "tangent", scales=SCALES
) -> tuple[np.ndarray, np.ndarray]:
    """``(scales, ‖∂loss/∂x‖)`` when x is scaled by s: the gradient falls as 1/s (slope −1 on log–log axes).

    A gradient the norm blocks (g along y; along 1 for LayerNorm) is exactly 0 at every s: float rounding
    (~1e-15) below 1e-12 of the chart's largest possible value, the Jacobian's norm at the smallest s, is
    flushed to 0.

    >>> s, n = scale_sweep("rmsnorm", scales=[1.0, 2.0])
    >>> round(float(n[0] / n[1]), 9)
    2.0
    >>> bool((scale_sweep("layernorm", upstream="radial")[1] == 0).all())
    True
    """
    s = np.asarray(scales, dtype=np.float64)
    u = direction(azimuth, elevation)
    x = s[:, None] * u  # (S, 3)
    g = np.broadcast_to(_upstream(upstream, _forward(norm, u), norm), x.shape)  # same g at every s: y does not move
    centered = x - x.mean(-1, keepdims=True) if norm == "layernorm" else x  # (S, 3)
    largest = max(_jacobian_norm(c) for c in centered)  # the chart's largest possible value (smallest s)
    return s, flush_rounding(np.linalg.norm(input_gradient(norm, x, g), axis=-1), scale=largest)


def _jacobian_norm(centered: np.ndarray) -> float:
    """‖J‖₂ = 1/σ (LayerNorm) or 1/rms (RMSNorm) = √d / ‖centered‖: the largest ‖∂loss/∂x‖ a unit g can give."""
    return math.sqrt(centered.shape[-1]) / float(np.linalg.norm(centered))


def _forward(norm: str, x: np.ndarray) -> np.ndarray:
    t = torch.as_tensor(x)
    y = F.layer_norm(t, (3,), eps=0.0) if norm == "layernorm" else F.rms_norm(t, (3,), eps=0.0)
    return y.numpy()


def _upstream(name: str, y: np.ndarray, norm: str) -> np.ndarray:
    if name == "radial":
        v = y
    elif name == "ones":
        v = np.ones(3)
    elif name == "tangent":  # along the output circle (LayerNorm) / a great circle of the sphere (RMSNorm)
        axis = np.ones(3) if norm == "layernorm" else np.array([0.0, 0.0, 1.0])
        v = np.cross(axis, y)
        if np.linalg.norm(v) < 1e-9:
            v = np.cross(np.array([1.0, 0.0, 0.0]), y)
    else:
        v = np.eye(3)[int(name[1]) - 1]
    return v / np.linalg.norm(v)
