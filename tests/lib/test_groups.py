"""GroupNorm on tokens: per-group invariants against numpy float64, and the page's measurements."""

from __future__ import annotations

import math

import numpy as np
import pytest

from normviz.core import inputs, norms
from normviz.experiments import groups

EPS = 1e-5


def _numpy_groupnorm(x: np.ndarray, G: int) -> np.ndarray:
    n, d = x.shape
    sub = x.reshape(n, G, d // G)
    mu = sub.mean(-1, keepdims=True)
    var = sub.var(-1, keepdims=True)
    return ((sub - mu) / np.sqrt(var + EPS)).reshape(n, d)


@pytest.mark.parametrize(("d", "G"), [(12, 1), (12, 2), (12, 3), (12, 4), (24, 8), (64, 16)])
def test_each_group_has_mean_0_and_radius_sqrt_d_over_g(d, G):
    x = inputs.sample("anisotropic", batch=2, tokens=64, dim=d, seed=1)
    y = norms.apply("groupnorm", x, groups=G).reshape(-1, d).double().numpy()
    ref = _numpy_groupnorm(x.reshape(-1, d).double().numpy(), G)
    np.testing.assert_allclose(y, ref, atol=2e-5)
    sub = y.reshape(-1, G, d // G)
    np.testing.assert_allclose(sub.mean(-1), 0.0, atol=2e-6)
    xs = x.reshape(-1, G, d // G).double().numpy()
    var = xs.var(-1)
    expected = math.sqrt(d // G) * np.sqrt(var / (var + EPS))  # the exact radius with eps
    np.testing.assert_allclose(np.linalg.norm(sub, axis=-1), expected, rtol=2e-5)


def test_g1_is_layernorm_and_g_equal_d_is_zero():
    v1 = groups.group_view("heavy_tailed", tokens=512, dim=16, groups=1)
    assert v1.ln_max_diff < 1e-5
    vd = groups.group_view("heavy_tailed", tokens=512, dim=16, groups=16)
    assert vd.max_abs == 0.0
    assert vd.radius_hist.maximum == 0.0


def test_group_view_measures_every_token_exactly():
    d, G, n = 12, 4, 1000
    v = groups.group_view("gaussian", tokens=n, dim=d, groups=G, seed=3)
    x = inputs.sample("gaussian", batch=1, tokens=n, dim=d, seed=3)[0].double().numpy()
    ref = _numpy_groupnorm(x, G).reshape(n, G, 3)
    radius = np.linalg.norm(ref, axis=-1)  # (n, G)
    assert v.radius_hist.counts.sum() == n * G
    assert v.radius_hist.minimum == pytest.approx(radius.min(), rel=1e-5)
    assert v.radius_hist.maximum == pytest.approx(radius.max(), rel=1e-5)
    np.testing.assert_allclose(v.energy_gn, (radius**2 / 3).mean(0), rtol=1e-5)
    np.testing.assert_allclose(v.input_rms, np.sqrt((x.reshape(n, G, 3) ** 2).mean((0, 2))), rtol=1e-6)


def test_group_of_three_is_drawn_exactly_on_its_circle():
    v = groups.group_view("shifted", tokens=800, dim=9, groups=3)
    assert len(v.panels) == 3
    for p in v.panels:
        assert p.basis.method == "exact" and p.kept == pytest.approx(1.0)
        pts = p.points.astype(np.float64)  # (n, 3): the group's own 3 features
        np.testing.assert_allclose(pts.sum(1), 0.0, atol=5e-5)  # in the plane y1 + y2 + y3 = 0 (float32)
        assert np.median(np.linalg.norm(pts, axis=1)) == pytest.approx(math.sqrt(3), rel=1e-4)
        assert p.reference.kind == "circle"


def test_a_massive_feature_dominates_only_its_own_group():
    v = groups.group_view("outliers", tokens=2048, dim=16, groups=4)
    assert v.outstanding
    np.testing.assert_allclose(v.energy_gn, 1.0, atol=1e-3)  # GroupNorm: every group its fair share
    others = np.delete(v.energy_ln, v.loudest)
    assert v.energy_ln[v.loudest] > 3.5 and (others < 0.1).all()  # LayerNorm: one group takes ~all of G = 4
    assert v.loudest in [p.group for p in v.panels]


@pytest.mark.parametrize(("kind", "low", "high"), [("outliers", 0.95, 1.0), ("massive", 1 / 64, 1 / 64)])
def test_layernorm_hands_the_loud_group_every_token_or_only_the_massive_ones(kind, low, high):
    v = groups.group_view(kind, tokens=2048, dim=64, groups=8)
    x = inputs.sample(kind, batch=1, tokens=2048, dim=64, seed=0)[0].double().numpy()
    y = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)  # LayerNorm, numpy float64
    energy = (y.reshape(2048, 8, 8) ** 2).sum(-1)  # (N, G)
    loud = int(np.argmax(np.sqrt((x.reshape(2048, 8, 8) ** 2).mean(axis=(0, 2)))))
    assert v.loudest == loud
    share = float(np.mean(energy[:, loud] > 0.5 * energy.sum(-1)))
    assert v.ln_dominated == pytest.approx(share) and low <= share <= high  # massive: exactly the 32 massive tokens


def test_divisors_and_shown_groups():
    assert groups.divisors(1) == [1]
    assert groups.divisors(24) == [1, 2, 3, 4, 6, 8, 12, 24]
    assert groups.shown_groups(3, 2) == (0, 1, 2)
    assert groups.shown_groups(64, 40) == (0, 1, 2, 3, 4, 40)


@pytest.mark.parametrize("G", [5, 0, 2.0])
def test_invalid_g_says_which_g_are_valid(G):
    with pytest.raises(ValueError, match=r"divisors of 12: \[1, 2, 3, 4, 6, 12\]"):
        groups.group_view("gaussian", tokens=64, dim=12, groups=G)
