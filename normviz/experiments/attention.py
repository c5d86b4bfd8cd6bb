"""Attention and normalization: softmax saturation as inputs grow, and unselectable keys.

Scores A = softmax(Q Kᵀ / √d) with Q = X W_q, K = X W_k (W Xavier-uniform, one head). Scaling the
input X by s scales the scores by s²: the softmax saturates (entropy → 0, largest weight → 1).
LayerNorm before the projections removes s (LN(sX) = LN(X) for s > 0), so the entropy stays put.

Brody et al. 2023 (*On the Expressivity Role of LayerNorm in Transformers' Attention*): a key k_i
that lies inside the convex hull of the other keys can never get the most attention, since
q·k_i <= max_j q·k_j for every query q ("unselectable"). LayerNorm is a projection onto the
hyperplane ⟂ 1 followed by a scaling to radius √d: the projection alone leaves keys inside the
hull, the scaling puts every key on a sphere, where each one is a vertex. The check here takes the
hull's vertices from Qhull (``scipy.spatial.ConvexHull``); the tests check it by linear programming.

That guarantee lives in the normalized space, and survives any linear map that is one-to-one on the
hyperplane (the sphere becomes an ellipsoid, still all vertices). A head maps the keys to fewer
dimensions: a random map W (k × d) with k < d − 1 squashes the sphere, and keys fall back inside the
hull (:func:`head_unselectable`). The projection has a role of its own: every LN(x) is ⟂ 1, so a
query along 1 scores every key the same and attends to all of them equally (:func:`uniform_query`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import ConvexHull

from normviz.core import device
from normviz.core.checks import is_int

__all__ = [
    "KEY_VARIANTS",
    "SCALES",
    "KeysView",
    "attention_maps",
    "head_unselectable",
    "hyperplane_basis",
    "keys",
    "keys_view",
    "saturation",
    "uniform_query",
    "unselectable",
    "unselectable_fraction",
]

SCALES = tuple(float(s) for s in np.logspace(-1, 2, 25))  # input scale s, 0.1 ... 100

# how the keys are made from x ~ N(0, I_d): Brody et al.'s two steps of LayerNorm, and no norm at all
KEY_VARIANTS = ("raw", "projection", "layernorm")

MAX_KEYS = 64


@dataclass(frozen=True)
class KeysView:
    """One random key set at d = 3, exact coordinates, for the 3D view."""

    raw: np.ndarray  # (n, 3) x
    projected: np.ndarray  # (n, 3) x − μ1, in the plane Σ = 0
    normalized: np.ndarray  # (n, 3) LayerNorm(x), on the circle of radius √3 in that plane
    unselectable: np.ndarray  # (n,) bool, for the projected keys
    hull: np.ndarray  # (m + 1, 3) the projected keys' hull polygon, closed
    circle: np.ndarray  # (120, 3) the circle of radius √3 in the plane Σ = 0, where LayerNorm puts the keys


def saturation(
    *, dim: int = 64, tokens: int = 32, batch: int = 8, scales: Sequence[float] = SCALES, seed: int = 0
) -> dict[str, np.ndarray]:
    """Mean attention entropy and mean largest weight per query, against the input scale s.

    Returns ``{"scales", "entropy", "max_weight", "entropy_ln", "max_weight_ln"}`` (the ``_ln``
    ones with LayerNorm before the projections); entropy in nats, at most ln(tokens).

    >>> r = saturation(dim=8, tokens=4, batch=2, scales=[0.1, 100.0])
    >>> bool(r["entropy"][0] > r["entropy"][1]), bool(abs(r["entropy_ln"][0] - r["entropy_ln"][1]) < 1e-2)
    (True, True)
    """
    _check_sizes(dim=dim, tokens=tokens, batch=batch, seed=seed)
    s = np.asarray(scales, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s) & (s > 0)):
        raise ValueError("scales must be a non-empty list of finite numbers > 0, such as [0.1, 1, 10].")
    dev = device.device()
    x, w_q, w_k = (t.to(dev) for t in _inputs(dim=dim, tokens=tokens, batch=batch, seed=seed))
    xs = torch.as_tensor(s, dtype=torch.float32, device=dev)[:, None, None, None] * x  # (S, B, T, d)
    out = {"scales": s}
    for suffix, inp in (("", xs), ("_ln", F.layer_norm(xs, (dim,)))):
        a = _attention(inp, w_q, w_k)  # (S, B, T, T)
        entropy = -(a * torch.log(a.clamp_min(1e-30))).sum(-1)  # (S, B, T)
        out["entropy" + suffix] = entropy.mean((1, 2)).cpu().double().numpy()
        out["max_weight" + suffix] = a.amax(-1).mean((1, 2)).cpu().double().numpy()
    return out


def attention_maps(
    scale: float, *, dim: int = 64, tokens: int = 32, batch: int = 8, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The first sequence's attention matrix (T, T) at input scale ``scale``, without and with LayerNorm.

    >>> a, b = attention_maps(1.0, dim=8, tokens=4, batch=1)
    >>> a.shape, bool(np.allclose(a.sum(1), 1, atol=1e-6))
    ((4, 4), True)
    """
    _check_sizes(dim=dim, tokens=tokens, batch=batch, seed=seed)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}.")
    # on the CPU whatever the device: one (T, T) map of T <= 64 tokens, redrawn as the scale slider moves;
    # a GPU launch and copy back would cost more than the two small matmuls
    x, w_q, w_k = _inputs(dim=dim, tokens=tokens, batch=batch, seed=seed)
    x = scale * x[:1]  # (1, T, d)
    raw = _attention(x, w_q, w_k)[0]
    ln = _attention(F.layer_norm(x, (dim,)), w_q, w_k)[0]
    return raw.numpy().astype(np.float32), ln.numpy().astype(np.float32)


def hyperplane_basis(dim: int) -> np.ndarray:
    """An orthonormal basis (d − 1, d) of the hyperplane ⟂ 1 (Helmert's): coordinates inside it.

    >>> b = hyperplane_basis(3)
    >>> bool(np.allclose(b @ b.T, np.eye(2))), bool(np.allclose(b.sum(1), 0))
    (True, True)
    """
    rows = []
    for k in range(1, dim):
        v = np.zeros(dim)
        v[:k], v[k] = 1.0, -k
        rows.append(v / math.sqrt(k * (k + 1)))
    return np.array(rows)


def keys(variant: str, x: np.ndarray) -> np.ndarray:
    """The keys made from ``x`` (..., n, d): "raw" x; "projection" x − μ1 and "layernorm" LN(x), both
    in hyperplane coordinates (..., n, d − 1), where the scores q·k live (the 1 component is 0)."""
    if variant not in KEY_VARIANTS:
        raise ValueError(f"Unknown key variant {variant!r}. Pick one of {', '.join(KEY_VARIANTS)}.")
    if variant == "raw":
        return x
    d = x.shape[-1]
    centered = _layernorm(x) if variant == "layernorm" else x - x.mean(-1, keepdims=True)  # radius √d, ε = 0
    return centered @ hyperplane_basis(d).T  # (..., n, d - 1)


def unselectable(points: np.ndarray) -> np.ndarray:
    """Which keys (n, k) lie in the convex hull of the others: they can never get the most attention.

    A key is selectable exactly when it is a vertex of the hull of all keys (then some query scores it
    strictly highest). Vertices from Qhull; fewer than k + 2 keys in general position are all vertices.

    >>> unselectable(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.2, 0.2]])).tolist()
    [False, False, False, True]
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or not np.all(np.isfinite(p)):
        raise ValueError(f"points must be a finite (n, k) array of n keys, got shape {p.shape}.")
    n, k = p.shape
    out = np.ones(n, dtype=bool)
    if k == 1:
        out[[int(p[:, 0].argmin()), int(p[:, 0].argmax())]] = False
        return out
    if n <= k + 1:
        return np.zeros(n, dtype=bool)  # a simplex (general position): every key is a vertex
    out[ConvexHull(p).vertices] = False
    return out


def unselectable_fraction(
    *, n: int, dim: int, sets: int = 200, seed: int = 0, variants: Sequence[str] = KEY_VARIANTS
) -> dict[str, tuple[float, float]]:
    """For ``sets`` random key sets of n keys x ~ N(0, I_d): ``{variant: (share of sets with an unselectable
    key, mean share of unselectable keys)}``.

    >>> r = unselectable_fraction(n=12, dim=3, sets=20)
    >>> r["layernorm"], r["projection"][0] > 0.5
    ((0.0, 0.0), True)
    """
    _check_keys(n=n, dim=dim, sets=sets, seed=seed)
    # numpy on the CPU whatever the device: Qhull (scipy's ConvexHull) runs on the CPU only, on at most
    # 200 sets of 64 keys in 2 ... 5 dimensions; the keys are made where the hull needs them
    x = np.random.default_rng(seed).standard_normal((sets, n, dim))  # (S, n, d)
    out = {}
    for v in variants:
        k = keys(v, x)
        masks = np.stack([unselectable(k[i]) for i in range(sets)])  # (S, n)
        out[v] = (float(masks.any(1).mean()), float(masks.mean()))
    return out


def head_unselectable(*, n: int, dim: int = 8, head: int = 3, sets: int = 200, seed: int = 0) -> tuple[float, float]:
    """LayerNormed keys through a random head map W (head × dim), W_ab ~ N(0, 1): for ``sets`` random sets of
    n keys x ~ N(0, I_dim), (share of sets with an unselectable key, mean share of unselectable keys) of W·LN(x).

    A map that is one-to-one on the hyperplane ⟂ 1 (head >= dim − 1) keeps every key a vertex; a lower-rank one
    does not.

    >>> head_unselectable(n=12, dim=4, head=3, sets=10)  # head = d − 1: one-to-one on the hyperplane
    (0.0, 0.0)
    """
    _check_head(n=n, dim=dim, head=head, sets=sets, seed=seed)
    # numpy on the CPU whatever the device: Qhull runs on the CPU only (at most 200 hulls of 64 keys in 1 ... 6
    # dimensions)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((sets, n, dim))  # (S, n, d)
    w = rng.standard_normal((sets, head, dim))  # (S, k, d): one random head per set
    k = np.einsum("snd,skd->snk", _layernorm(x), w)  # (S, n, k)
    masks = np.stack([unselectable(k[i]) for i in range(sets)])  # (S, n)
    return float(masks.any(1).mean()), float(masks.mean())


def _layernorm(x: np.ndarray) -> np.ndarray:
    """LN(x) = (x − μ1)/σ in the model's own d coordinates (..., n, d), ε = 0: ⟂ 1 and of length √d.

    >>> _layernorm(np.array([[1.0, 2.0, 3.0]])).round(4).tolist()
    [[-1.2247, 0.0, 1.2247]]
    """
    centered = x - x.mean(-1, keepdims=True)
    return centered / np.sqrt((centered**2).mean(-1, keepdims=True))


def uniform_query(*, n: int, dim: int, scale: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Attention weights softmax(q·k_j/√d) of the query q = scale·1 over n keys x ~ N(0, I_dim): (raw x, LN(x)).

    Every LN(x) is ⟂ 1, so q·LN(x_j) = 0 for every key and the weights are exactly 1/n.

    >>> raw, ln = uniform_query(n=5, dim=4)
    >>> bool(np.allclose(ln, 0.2)), bool(np.ptp(raw) > 0.01)
    (True, True)
    """
    _check_head(n=n, dim=dim, head=1, sets=1, seed=seed)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}.")
    x = np.random.default_rng(seed).standard_normal((n, dim))  # (n, d)
    q = np.full(dim, float(scale))  # (d,) along 1
    out = []
    for k in (x, _layernorm(x)):
        s = k @ q / math.sqrt(dim)  # (n,)
        e = np.exp(s - s.max())
        out.append(e / e.sum())
    return out[0], out[1]


def keys_view(*, n: int, seed: int = 0) -> KeysView:
    """One set of n keys at d = 3, exact: raw, projected onto the plane ⟂ 1, and LayerNormed onto the circle.

    >>> v = keys_view(n=6)
    >>> bool(np.allclose(np.linalg.norm(v.normalized, axis=1), 3**0.5)), bool(np.allclose(v.projected.sum(1), 0))
    (True, True)
    """
    _check_keys(n=n, dim=3, sets=1, seed=seed)
    x = np.random.default_rng(seed).standard_normal((n, 3))
    b = hyperplane_basis(3)  # (2, 3)
    proj2 = keys("projection", x)  # (n, 2)
    mask = unselectable(proj2)
    hull = np.arange(n) if n < 3 else ConvexHull(proj2).vertices  # counter-clockwise in 2D
    ring = proj2[np.r_[hull, hull[:1]]] @ b  # (m + 1, 3)
    t = np.linspace(0, 2 * np.pi, 120)
    circle = math.sqrt(3) * np.stack([np.cos(t), np.sin(t)], 1) @ b  # (120, 3)
    return KeysView(
        raw=x, projected=proj2 @ b, normalized=keys("layernorm", x) @ b, unselectable=mask, hull=ring, circle=circle
    )


def _inputs(*, dim, tokens, batch, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, tokens, dim, generator=g)
    w_q, w_k = (torch.nn.init.xavier_uniform_(torch.empty(dim, dim), generator=g) for _ in range(2))
    return x, w_q, w_k


def _attention(x: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor) -> torch.Tensor:
    q, k = x @ w_q.T, x @ w_k.T  # (..., T, d)
    return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(x.shape[-1]), dim=-1)  # (..., T, T)


def _check_sizes(*, dim, tokens, batch, seed) -> None:
    for label, v in (("dim", dim), ("tokens", tokens), ("batch", batch)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if dim < 2:
        raise ValueError("dim must be at least 2: LayerNorm of a single feature is always 0.")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if batch * tokens * tokens * 25 > 2**24:
        raise ValueError("batch x tokens² is too large for the 25-scale sweep: use fewer tokens or a smaller batch.")


def _check_keys(*, n, dim, sets, seed) -> None:
    for label, v in (("n", n), ("dim", dim), ("sets", sets)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if not 2 <= n <= MAX_KEYS:
        raise ValueError(f"n (keys per set) must be in 2 ... {MAX_KEYS}, got {n}.")
    if not 3 <= dim <= 6:
        raise ValueError(
            f"dim must be in 3 ... 6, got {dim}: the hull is taken in d − 1 dimensions and Qhull's cost grows fast "
            "with them."
        )
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")


def _check_head(*, n, dim, head, sets, seed) -> None:
    for label, v in (("n", n), ("dim", dim), ("head", head), ("sets", sets)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if not 2 <= n <= MAX_KEYS:
        raise ValueError(f"n (keys per set) must be in 2 ... {MAX_KEYS}, got {n}.")
    if not 2 <= dim <= 64:
        raise ValueError(f"dim must be in 2 ... 64, got {dim}: LayerNorm of a single feature is always 0.")
    if not 1 <= head <= min(dim, 6):
        raise ValueError(
            f"head must be in 1 ... {min(dim, 6)}, got {head}: at most d, and the hull is taken in head dimensions, "
            "where Qhull's cost grows fast."
        )
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
