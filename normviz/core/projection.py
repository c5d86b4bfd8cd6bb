"""Bases for 3D views of d-dimensional tokens, and what each one keeps.

Coordinates are exact dot products with orthonormal axes: the origin stays the origin,
lengths in the view never exceed true lengths, and a sphere of radius r shows as a ball
of radius r. Three bases:

* ``"exact"`` (d <= 3): the coordinates themselves, nothing lost.
* ``"ones+pca"`` (d > 3): axis 1 is the unit all-ones direction 1/sqrt(d) (the mean
  component LayerNorm removes), axes 2-3 the top two principal components of the tokens
  after removing that component (they lie in the hyperplane sum(y) = 0).
* ``"pca"``: the top three principal components (scikit-learn, ``svd_solver="auto"``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import torch
from sklearn.decomposition import PCA

from normviz.core import device

__all__ = ["METHODS", "Basis", "circle", "fit_basis", "kept_share", "project", "sphere_mesh"]

METHODS = ("ones+pca", "pca")


@dataclass(frozen=True)
class Basis:
    """Three orthonormal axes in R^d (rows of ``vectors``; a zero row when d = 2)."""

    vectors: np.ndarray  # (3, d) float64
    labels: tuple[str, str, str]
    method: str  # "exact", "ones+pca" or "pca"
    explained_variance_ratio: tuple[float, ...]  # what the fitted PCs explain of the (centered) fit data

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


def fit_basis(tokens: torch.Tensor, method: str = "ones+pca") -> Basis:
    """Fit a basis to ``tokens: (N, d)``. d <= 3 always gives the exact coordinates.

    >>> b = fit_basis(torch.randn(100, 8))
    >>> b.method, b.vectors.shape
    ('ones+pca', (3, 8))
    """
    if method not in METHODS:
        raise ValueError(f"Unknown projection {method!r}. Pick one of {', '.join(METHODS)}.")
    if tokens.ndim != 2 or tokens.shape[0] < 1:
        raise ValueError(f"tokens must have shape (N, d) with N >= 1, got {tuple(tokens.shape)}.")
    d = tokens.shape[1]
    if d <= 3:
        vectors = np.zeros((3, d))
        vectors[np.arange(d), np.arange(d)] = 1.0
        labels = tuple(f"y{i + 1}" if i < d else "(none: d = 2)" for i in range(3))
        return Basis(vectors, labels, "exact", (1.0,) * d)
    t = tokens.detach().float()
    if method == "ones+pca":
        ones = np.full(d, 1.0 / math.sqrt(d))  # (d,) unit all-ones direction
        pcs, ratio = _top_components_within_hyperplane(t, 2)  # (2, d)
        vectors = _orthonormal(np.vstack([ones, pcs]))
        labels = ("all-ones axis 1/√d", "PC 1 (⟂ 1)", "PC 2 (⟂ 1)")
    else:
        # scikit-learn on the CPU: "pca" serves the small clouds (a probe's outputs over K batches, a sliding
        # token's path: a few thousand points), where copying them over costs less than a GPU launch would
        vectors, ratio = _top_components(t.cpu().numpy(), 3)
        vectors = _orthonormal(vectors)
        labels = ("PC 1", "PC 2", "PC 3")
    return Basis(vectors, labels, method, ratio)


def project(tokens: torch.Tensor, basis: Basis) -> np.ndarray:
    """Coordinates ``(N, 3)`` float32 of ``tokens: (N, d)`` on the basis axes (about the origin)."""
    if tokens.shape[-1] != basis.dim:
        raise ValueError(f"tokens have d={tokens.shape[-1]} but the basis was fitted for d={basis.dim}.")
    t = device.f64(tokens)  # on the tokens' device (the CPU for MPS, which has no float64)
    v = torch.as_tensor(basis.vectors, dtype=torch.float64, device=t.device)
    return (t @ v.T).float().cpu().numpy()  # (N, 3)


def kept_share(tokens: torch.Tensor, basis: Basis, *, radii: torch.Tensor | None = None) -> float:
    """Share of the tokens' total squared length ``sum ||y||^2`` that the 3 axes keep (1.0 = exact).

    ``radii``: the tokens' lengths, when the caller has them already.
    """
    t = tokens.float()
    if radii is None:
        radii = torch.linalg.vector_norm(t, dim=-1)  # (N,) no (N, d) copy
    total = float(device.f64(radii).square().sum())
    if total == 0.0:
        return 1.0
    v = torch.as_tensor(basis.vectors, dtype=torch.float32, device=t.device)
    return min(1.0, float(device.f64(t @ v.T).square().sum()) / total)  # (N, 3) coordinates


def circle(center: np.ndarray, u: np.ndarray, v: np.ndarray, radius: float, n: int = 181) -> np.ndarray:
    """Points ``(n, 3)`` of the circle ``center + radius (cos t u + sin t v)``."""
    t = np.linspace(0.0, 2.0 * np.pi, n)[:, None]  # (n, 1)
    return (center + radius * (np.cos(t) * u + np.sin(t) * v)).astype(np.float32)


def sphere_mesh(center: np.ndarray, radii: np.ndarray, n: int = 24) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid ``(x, y, z)``, each ``(n, 2n)``, of the ellipsoid ``center + radii * unit sphere``."""
    theta = np.linspace(0.0, np.pi, n)[:, None]  # (n, 1)
    phi = np.linspace(0.0, 2.0 * np.pi, 2 * n)[None, :]  # (1, 2n)
    x = center[0] + radii[0] * np.sin(theta) * np.cos(phi)
    y = center[1] + radii[1] * np.sin(theta) * np.sin(phi)
    z = center[2] + radii[2] * np.cos(theta) * np.ones_like(phi)
    return x.astype(np.float32), y.astype(np.float32), z.astype(np.float32)


def _top_components_within_hyperplane(t: torch.Tensor, k: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """Top-k principal directions of the tokens after removing each token's mean.

    The same numbers as ``PCA(k).fit(t - t.mean(dim=1, keepdim=True))`` (sklearn's covariance
    route: ``C = (X^T X - n m m^T) / (n - 1)``), without the (N, d) centered copy: with
    ``P = I - 1 1^T / d`` the centered tokens' covariance is ``P C P``, i.e. ``C`` with its row
    and column means removed. Measured 1.2-1.4x faster than sklearn at 65,536 x 768.
    """
    n, d = t.shape
    if n < 2:
        return np.zeros((0, d)), (0.0,) * k
    m = device.f64(t.mean(dim=0))  # (d,)
    gram = device.f64(t.T @ t)  # (d, d), float32 products like sklearn's covariance_eigh, on the tokens' device
    cov = (gram - n * torch.outer(m, m)) / (n - 1)  # (d, d)
    cov = cov - cov.mean(dim=0, keepdim=True)  # P C
    cov = cov - cov.mean(dim=1, keepdim=True)  # P C P
    cov = 0.5 * (cov + cov.T)
    c = cov.cpu().numpy()
    total = float(np.trace(c))  # the sum of all eigenvalues: the centered tokens' total variance
    if total <= 1e-10 * float(gram.diagonal().sum()) / n:  # no spread beyond rounding: no direction
        return np.zeros((0, d)), (0.0,) * k
    k_fit = min(k, d)
    # only the top k eigenpairs (LAPACK syevr): ~10x faster than a full eigh at d = 768. On the CPU whatever the
    # device: the (d, d) matrix is small (d <= 1024) and torch has no subset eigh; the N x d work is done above
    evals, evecs = scipy.linalg.eigh(c, subset_by_index=[d - k_fit, d - 1])  # ascending
    evals, evecs = evals[::-1].clip(min=0.0), evecs[:, ::-1]
    keep = [i for i in range(k_fit) if total > 0 and evals[i] > 1e-12 * total]
    comps = evecs[:, keep].T  # (<=k, d)
    ratio = tuple(min(1.0, float(evals[i]) / total) for i in keep)
    return comps, ratio + (0.0,) * (k - len(ratio))


def _top_components(a: np.ndarray, k: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """Top-k principal directions ``(k, d)`` of ``a`` and their explained-variance ratios."""
    n, d = a.shape
    k_fit = min(k, n, d)
    comps, ratio = np.zeros((0, d)), ()
    if n >= 2:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 ratios when every token is equal
            pca = PCA(n_components=k_fit, svd_solver="auto", random_state=0).fit(a)
        if np.all(np.isfinite(pca.explained_variance_ratio_)) and pca.explained_variance_.sum() > 0:
            keep = pca.explained_variance_ > 0  # directions with no spread carry no information
            comps = pca.components_[keep]
            ratio = tuple(float(r) for r in pca.explained_variance_ratio_[keep])
    # no spread at all (one token, or every token equal): _orthonormal completes with any axes
    return comps, ratio + (0.0,) * (k - len(ratio))


def _orthonormal(rows: np.ndarray) -> np.ndarray:
    """Gram-Schmidt on the given rows, completed with standard axes when some are missing or dependent."""
    d = rows.shape[1]
    out: list[np.ndarray] = []
    candidates = [*rows, *np.eye(d)]
    for r in candidates:
        w = r.astype(np.float64).copy()
        for q in out:
            w -= (w @ q) * q
        norm = np.linalg.norm(w)
        if norm > 1e-8:
            out.append(w / norm)
        if len(out) == 3:
            break
    return np.vstack(out)
