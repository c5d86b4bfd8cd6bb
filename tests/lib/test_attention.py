"""normviz.attention: softmax statistics against numpy float64, unselectable keys against scipy's linprog."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import linprog

from normviz.experiments import attention


def _inside_hull_of_others(points: np.ndarray, i: int) -> bool:
    """Independent check by linear programming: is there λ >= 0, Σλ = 1, Σ_j λ_j k_j = k_i over j != i?"""
    others = np.delete(points, i, axis=0)  # (n - 1, k)
    a_eq = np.vstack([others.T, np.ones(len(others))])  # (k + 1, n - 1)
    b_eq = np.append(points[i], 1.0)
    res = linprog(np.zeros(len(others)), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    return res.status == 0


@pytest.mark.parametrize("dim", [3, 4, 5, 6])
@pytest.mark.parametrize("variant", attention.KEY_VARIANTS)
def test_unselectable_agrees_with_linear_programming(dim, variant):
    rng = np.random.default_rng(dim)
    found = 0
    for n in (4, 8, 16, 32):
        for _ in range(3):
            k = attention.keys(variant, rng.standard_normal((n, dim)))
            got = attention.unselectable(k)
            ref = np.array([_inside_hull_of_others(k, i) for i in range(n)])
            np.testing.assert_array_equal(got, ref, err_msg=f"n={n} d={dim} {variant}")
            found += int(ref.sum())
    if variant == "layernorm":
        assert found == 0  # on the sphere every key is a corner
    else:
        assert found > 0  # the comparison covered keys inside the hull too


def test_projection_coordinates_keep_inner_products():
    x = np.random.default_rng(0).standard_normal((9, 5))
    centered = x - x.mean(1, keepdims=True)
    k = attention.keys("projection", x)
    assert k.shape == (9, 4)
    np.testing.assert_allclose(k @ k.T, centered @ centered.T, atol=1e-12)
    ln = attention.keys("layernorm", x)
    np.testing.assert_allclose(np.linalg.norm(ln, axis=1), math.sqrt(5))


def test_fraction_layernorm_zero_projection_high():
    r = attention.unselectable_fraction(n=16, dim=3, sets=40, seed=1)
    assert r["layernorm"] == (0.0, 0.0)
    assert r["projection"][0] > 0.9 and 0.1 < r["projection"][1] < 0.9


def _head_reference(*, n, dim, head, sets, seed):
    """The same random draws (x, then W, from one generator), LayerNorm in float64 by hand, hulls by linprog."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((sets, n, dim))
    w = rng.standard_normal((sets, head, dim))
    inside = []
    for s in range(sets):
        c = x[s] - x[s].mean(1, keepdims=True)
        k = (c / c.std(1, keepdims=True)) @ w[s].T  # (n, head)
        inside.append([_inside_hull_of_others(k, i) for i in range(n)])
    inside = np.array(inside)
    return float(inside.any(1).mean()), float(inside.mean())


@pytest.mark.parametrize(("n", "head"), [(8, 3), (16, 2), (16, 4), (12, 1)])
def test_head_unselectable_agrees_with_linear_programming(n, head):
    got = attention.head_unselectable(n=n, dim=8, head=head, sets=12, seed=5)
    ref = _head_reference(n=n, dim=8, head=head, sets=12, seed=5)
    assert got == pytest.approx(ref, abs=1e-12)
    assert ref[1] > 0  # the comparison covered keys inside the hull


def test_low_rank_head_puts_keys_back_inside_the_hull():
    """The page's sentence: d = 8, a random map to 3 dimensions: ~45% of 32 keys, ~9% of 8 keys unselectable."""
    many = attention.head_unselectable(n=32, dim=8, head=3, sets=200)
    few = attention.head_unselectable(n=8, dim=8, head=3, sets=200)
    assert 0.40 < many[1] < 0.50 and many[0] == 1.0
    assert 0.05 < few[1] < 0.13
    # one-to-one on the hyperplane (k = d − 1): the sphere becomes an ellipsoid, every key stays a corner
    assert attention.head_unselectable(n=32, dim=5, head=4, sets=50) == (0.0, 0.0)
    assert attention.head_unselectable(n=32, dim=5, head=3, sets=50)[1] > 0.1


def test_query_along_ones_attends_uniformly_after_layernorm():
    for n, dim in ((8, 8), (32, 8), (5, 64)):
        raw, ln = attention.uniform_query(n=n, dim=dim, scale=3.0, seed=2)
        np.testing.assert_allclose(ln, 1 / n, rtol=1e-12)
        x = np.random.default_rng(2).standard_normal((n, dim))
        s = 3.0 * x.sum(1) / math.sqrt(dim)  # q·x_j/√d for q = 3·1
        ref = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
        np.testing.assert_allclose(raw, ref, rtol=1e-12)
        assert raw.max() > 1.5 / n and np.ptp(raw) > 0.5 / n  # without the projection the same query picks favourites


def _np_attention(x, w_q, w_k):
    q, k = x @ w_q.T, x @ w_k.T
    s = q @ k.T / math.sqrt(x.shape[-1])
    e = np.exp(s - s.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_saturation_matches_numpy_float64_reference():
    dim, tokens, scales = 16, 8, [0.1, 1.0, 10.0, 100.0]
    got = attention.saturation(dim=dim, tokens=tokens, batch=3, scales=scales, seed=4)
    x, w_q, w_k = (t.double().numpy() for t in attention._inputs(dim=dim, tokens=tokens, batch=3, seed=4))
    for j, s in enumerate(scales):
        ent, mx, ent_ln = [], [], []
        for b in range(3):
            a = _np_attention(s * x[b], w_q, w_k)
            ent.append(-(a * np.log(np.maximum(a, 1e-300))).sum(1).mean())
            mx.append(a.max(1).mean())
            z = s * x[b]
            ln = (z - z.mean(1, keepdims=True)) / np.sqrt(z.var(1, keepdims=True) + 1e-5)
            a = _np_attention(ln, w_q, w_k)
            ent_ln.append(-(a * np.log(a)).sum(1).mean())
        assert got["entropy"][j] == pytest.approx(np.mean(ent), abs=2e-4)
        assert got["max_weight"][j] == pytest.approx(np.mean(mx), abs=2e-4)
        assert got["entropy_ln"][j] == pytest.approx(np.mean(ent_ln), abs=2e-4)


def test_entropy_falls_without_norm_and_stays_bounded_with_layernorm():
    r = attention.saturation(dim=64, tokens=32)
    big = r["scales"] >= 1
    assert np.all(np.diff(r["entropy"][big]) < 0)  # saturating as s grows
    assert r["entropy"][-1] < 0.05 and r["max_weight"][-1] > 0.98
    assert r["entropy"][0] > 0.95 * math.log(32)  # tiny inputs: near uniform
    ent_ln = r["entropy_ln"]
    assert ent_ln.min() > 0.5 * math.log(32) and np.ptp(ent_ln) < 0.02
    assert np.ptp(r["max_weight_ln"]) < 0.01


def test_attention_maps_rows_sum_to_one_and_layernorm_removes_scale():
    raw1, ln1 = attention.attention_maps(1.0, dim=16, tokens=8)
    raw2, ln2 = attention.attention_maps(50.0, dim=16, tokens=8)
    np.testing.assert_allclose(raw1.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(ln1, ln2, atol=1e-4)
    assert np.abs(raw1 - raw2).max() > 0.3


def test_keys_view_at_d3():
    v = attention.keys_view(n=10, seed=3)
    np.testing.assert_allclose(v.projected.sum(1), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(v.normalized, axis=1), math.sqrt(3))
    centered = v.raw - v.raw.mean(1, keepdims=True)
    np.testing.assert_allclose(v.projected, centered, atol=1e-12)  # the plane's coordinates, mapped back exactly
    ref = np.array([_inside_hull_of_others(v.projected, i) for i in range(10)])
    np.testing.assert_array_equal(v.unselectable, ref)
    np.testing.assert_allclose(v.hull[0], v.hull[-1])  # closed polygon


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: attention.unselectable_fraction(n=1, dim=3), "keys per set"),
        (lambda: attention.unselectable_fraction(n=8, dim=9), "dim must be in 3"),
        (lambda: attention.saturation(dim=1), "at least 2"),
        (lambda: attention.saturation(scales=[0.0]), "scales"),
        (lambda: attention.attention_maps(-1.0), "scale"),
        (lambda: attention.keys("whiten", np.zeros((3, 3))), "Unknown key variant"),
        (lambda: attention.unselectable(np.zeros((0, 3))), "points"),
        (lambda: attention.head_unselectable(n=8, dim=8, head=7), "head must be in 1 ... 6"),
        (lambda: attention.head_unselectable(n=8, dim=1, head=1), "dim must be in 2"),
        (lambda: attention.uniform_query(n=8, dim=8, scale=0.0), "scale"),
    ],
)
def test_errors_say_how_to_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()
