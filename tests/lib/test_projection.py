"""projection: bases checked against numpy's SVD in float64, by comparing projectors (a basis of a plane is only
defined up to rotation and sign, the projector onto it is unique).

Tolerances: sklearn fits on float32 copies of the tokens, so the fitted directions carry float32 rounding
(~1e-7 relative) amplified by 1 / (spectral gap); the test data have gaps of >= 2x, so projector differences
are ~1e-6 and we allow 1e-4. Orthonormality is enforced in float64 (Gram-Schmidt), so it is checked at 1e-6.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from normviz.core import projection


def _tokens(n=400, d=10, seed=0, scales=(6.0, 3.0), offset=True):
    """Anisotropic tokens with clear principal directions, a per-token offset along ones and a global mean."""
    g = torch.Generator().manual_seed(seed)
    s = torch.ones(d, dtype=torch.float64)
    s[: len(scales)] = torch.tensor(scales, dtype=torch.float64)
    rot, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))  # random rotation
    x = (torch.randn(n, d, generator=g, dtype=torch.float64) * s) @ rot.T
    if offset:
        x = (
            x
            + 2.0 * torch.randn(n, 1, generator=g, dtype=torch.float64)
            + torch.randn(d, generator=g, dtype=torch.float64)
        )
    return x.float()  # (n, d)


def _projector(rows: np.ndarray) -> np.ndarray:
    q, _ = np.linalg.qr(rows.T)  # (d, k) orthonormal basis of the rows' span
    return q @ q.T  # (d, d)


def _top_right_singular_vectors(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k principal directions (k, d) of the column-centered a, and all singular values."""
    _, s, vt = np.linalg.svd(a - a.mean(axis=0), full_matrices=False)
    return vt[:k], s


def _assert_orthonormal(v: np.ndarray):
    np.testing.assert_allclose(v @ v.T, np.eye(3), atol=1e-6)


# --- exact coordinates for d <= 3 --------------------------------------------------------------------------


@pytest.mark.parametrize("method", projection.METHODS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_small_d_is_exact(method, d):
    x = _tokens(n=50, d=d, scales=())
    b = projection.fit_basis(x, method)
    assert b.method == "exact" and b.vectors.shape == (3, d) and b.dim == d
    coords = projection.project(x, b)
    assert coords.shape == (50, 3) and coords.dtype == np.float32
    np.testing.assert_array_equal(coords[:, :d], x.numpy())  # the data themselves
    np.testing.assert_array_equal(coords[:, d:], 0.0)  # unused axes
    assert projection.kept_share(x, b) == pytest.approx(1.0, abs=1e-6)


def test_exact_labels_say_the_missing_axis():
    b = projection.fit_basis(_tokens(n=5, d=2, scales=()))
    assert b.labels[:2] == ("y1", "y2") and "none" in b.labels[2]


# --- "ones+pca" --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "d", "seed"), [(400, 4, 0), (400, 10, 1), (1000, 64, 2), (300, 128, 3)])
def test_ones_plus_pca_basis(n, d, seed):
    x = _tokens(n=n, d=d, seed=seed)
    b = projection.fit_basis(x, "ones+pca")
    v = b.vectors
    assert b.method == "ones+pca" and v.shape == (3, d) and v.dtype == np.float64
    _assert_orthonormal(v)
    np.testing.assert_allclose(v[0], np.full(d, 1 / math.sqrt(d)), atol=1e-12)  # axis 1: the unit all-ones direction
    np.testing.assert_allclose(v[1:] @ np.ones(d), 0.0, atol=1e-6)  # axes 2-3 lie in the hyperplane sum(y) = 0

    # reference: top-2 right singular vectors of the per-token-centered data after column-centering
    a = x.double().numpy()
    centered = a - a.mean(axis=1, keepdims=True)  # (n, d): each token minus its own mean
    top, s = _top_right_singular_vectors(centered, 2)
    assert s[1] > 1.5 * s[2]  # the plane is well defined (spectral gap)
    np.testing.assert_allclose(_projector(v[1:]), _projector(top), atol=1e-4)
    np.testing.assert_allclose(b.explained_variance_ratio, (s[:2] ** 2) / (s**2).sum(), atol=1e-5)


@pytest.mark.parametrize(("n", "d", "seed"), [(400, 4, 0), (400, 10, 1), (1000, 64, 2), (300, 128, 3)])
def test_pca_basis_spans_top_three_components(n, d, seed):
    x = _tokens(n=n, d=d, seed=seed, scales=(8.0, 5.0, 3.0), offset=False)
    b = projection.fit_basis(x, "pca")
    assert b.method == "pca" and b.labels == ("PC 1", "PC 2", "PC 3")
    _assert_orthonormal(b.vectors)
    a = x.double().numpy()
    top, s = _top_right_singular_vectors(a, 3)
    assert s[0] > 1.2 * s[1] > 1.2**2 * s[2] and s[2] > 1.5 * s[3]  # each PC well defined
    np.testing.assert_allclose(_projector(b.vectors), _projector(top), atol=1e-4)
    for i in range(3):  # each axis is its PC (up to sign), in order
        assert abs(b.vectors[i] @ top[i]) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(b.explained_variance_ratio, (s[:3] ** 2) / (s**2).sum(), atol=1e-5)


def test_ones_axis_differs_from_plain_pca_when_the_mean_dominates():
    x = _tokens(n=300, d=8, seed=4)
    ones = np.ones(8) / math.sqrt(8)
    assert abs(projection.fit_basis(x, "ones+pca").vectors[0] @ ones) == pytest.approx(1.0)
    assert abs(projection.fit_basis(x, "pca").vectors[1:] @ ones).max() < 0.99


@pytest.mark.parametrize("method", projection.METHODS)
@pytest.mark.parametrize("d", [3, 5, 32])
def test_project_is_the_float64_dot_product(method, d):
    x = _tokens(n=200, d=d, seed=5)
    b = projection.fit_basis(x, method)
    coords = projection.project(x, b)
    expected = x.double().numpy() @ b.vectors.T  # (n, 3)
    assert coords.dtype == np.float32 and coords.shape == (200, 3)
    np.testing.assert_allclose(coords, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())
    # orthonormal axes never lengthen a vector
    assert (np.linalg.norm(coords, axis=1) <= np.linalg.norm(x.double().numpy(), axis=1) * (1 + 1e-6)).all()


@pytest.mark.parametrize("method", projection.METHODS)
@pytest.mark.parametrize("d", [3, 4, 16])
def test_kept_share(method, d):
    x = _tokens(n=200, d=d, seed=6)
    b = projection.fit_basis(x, method)
    k = projection.kept_share(x, b)
    a = x.double().numpy()
    assert 0.0 <= k <= 1.0
    assert k == pytest.approx(((a @ b.vectors.T) ** 2).sum() / (a**2).sum(), rel=1e-5)  # float32 dot products
    if d == 3:
        assert k == pytest.approx(1.0, abs=1e-6)
    else:
        assert k < 1.0


def test_kept_share_is_one_for_data_inside_the_basis():
    x = _tokens(n=100, d=12, seed=7)
    b = projection.fit_basis(x, "pca")
    inside = torch.from_numpy(x.double().numpy() @ b.vectors.T @ b.vectors)  # projected onto the 3 axes
    assert projection.kept_share(inside, b) == pytest.approx(1.0, abs=1e-5)


def test_kept_share_of_zeros_is_one():
    b = projection.fit_basis(_tokens(n=10, d=6), "pca")
    assert projection.kept_share(torch.zeros(5, 6), b) == 1.0


# --- degenerate data -------------------------------------------------------------------------------------


DEGENERATE = [  # (name, tokens)
    ("all equal", torch.tensor([1.0, -2.0, 3.0, 0.5, 4.0, 7.0]).repeat(50, 1)),
    ("all zero", torch.zeros(50, 6)),
    ("all constant tokens", torch.linspace(-3, 3, 50)[:, None].repeat(1, 6)),  # only the ones direction
    ("one token", torch.randn(1, 6, generator=torch.Generator().manual_seed(0))),
    ("two tokens", torch.randn(2, 6, generator=torch.Generator().manual_seed(1))),
    ("rank one", torch.linspace(-1, 1, 40)[:, None] * torch.tensor([1.0, 2.0, 0.0, -1.0, 0.5, 3.0])),
]


@pytest.mark.parametrize("method", projection.METHODS)
@pytest.mark.parametrize(("name", "x"), DEGENERATE, ids=[c[0] for c in DEGENERATE])
def test_degenerate_data_still_gives_an_orthonormal_basis(method, name, x):
    b = projection.fit_basis(x, method)  # no crash, no warning (pytest turns warnings into errors)
    v = b.vectors
    assert v.shape == (3, 6) and np.isfinite(v).all()
    _assert_orthonormal(v)
    assert len(b.explained_variance_ratio) == (2 if method == "ones+pca" else 3)
    assert all(0.0 <= r <= 1.0 + 1e-9 for r in b.explained_variance_ratio)
    if method == "ones+pca":
        np.testing.assert_allclose(v[0], np.full(6, 1 / math.sqrt(6)), atol=1e-12)
        np.testing.assert_allclose(v[1:] @ np.ones(6), 0.0, atol=1e-6)
    coords = projection.project(x, b)
    assert np.isfinite(coords).all()
    assert 0.0 <= projection.kept_share(x, b) <= 1.0 + 1e-6


def test_rank_one_data_first_axis_is_its_direction():
    direction = torch.tensor([1.0, 2.0, 0.0, -1.0, 0.5, 3.0])
    x = torch.linspace(-1, 1, 40)[:, None] * direction
    b = projection.fit_basis(x, "pca")
    unit = direction.double().numpy() / np.linalg.norm(direction.double().numpy())
    assert abs(b.vectors[0] @ unit) == pytest.approx(1.0, abs=1e-6)
    assert projection.kept_share(x, b) == pytest.approx(1.0, abs=1e-5)


# --- errors ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "method", "match"),
    [
        (torch.randn(10, 5), "tsne", r"Unknown projection 'tsne'\. Pick one of ones\+pca, pca"),
        (torch.randn(10, 5), "exact", r"Unknown projection"),
        (torch.randn(2, 10, 5), "pca", r"shape \(N, d\)"),
        (torch.randn(0, 5), "pca", r"N >= 1"),
    ],
)
def test_fit_basis_errors(tokens, method, match):
    with pytest.raises(ValueError, match=match):
        projection.fit_basis(tokens, method)


def test_project_dimension_mismatch():
    b = projection.fit_basis(torch.randn(10, 5))
    with pytest.raises(ValueError, match=r"d=6 but the basis was fitted for d=5"):
        projection.project(torch.randn(3, 6), b)


# --- reference shapes ------------------------------------------------------------------------------------


def test_circle_points_lie_on_the_circle():
    u = np.array([1.0, -1.0, 0.0]) / math.sqrt(2)
    v = np.array([1.0, 1.0, -2.0]) / math.sqrt(6)
    center = np.array([0.5, 0.5, 0.5])
    c = projection.circle(center, u, v, math.sqrt(3), n=91)
    assert c.shape == (91, 3) and c.dtype == np.float32
    rel = c.astype(np.float64) - center
    np.testing.assert_allclose(np.linalg.norm(rel, axis=1), math.sqrt(3), rtol=1e-6)
    np.testing.assert_allclose(rel @ np.ones(3), 0.0, atol=1e-5)  # in the plane spanned by u, v
    np.testing.assert_allclose(c[0], c[-1], atol=1e-6)  # closed


def test_sphere_mesh_is_the_ellipsoid():
    center, radii = np.array([1.0, -2.0, 0.5]), np.array([1.0, 2.0, 3.0])
    x, y, z = projection.sphere_mesh(center, radii, n=12)
    assert x.shape == y.shape == z.shape == (12, 24) and x.dtype == np.float32
    q = ((x - center[0]) / radii[0]) ** 2 + ((y - center[1]) / radii[1]) ** 2 + ((z - center[2]) / radii[2]) ** 2
    np.testing.assert_allclose(q, 1.0, atol=1e-5)
