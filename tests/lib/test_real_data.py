"""Measurements on real activations, checked against numpy float64 written from the definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.experiments import real_data


def _tokens(n=200, d=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) + 0.3 * torch.randn(n, 1, generator=g)  # per-token offsets


def test_angle_and_share_match_numpy():
    x = _tokens()
    a = x.double().numpy()
    cos = a.sum(1) / (np.linalg.norm(a, axis=1) * math.sqrt(a.shape[1]))
    np.testing.assert_allclose(real_data.ones_angle(x).numpy(), np.degrees(np.arccos(cos)), rtol=1e-10)
    share = a.shape[1] * a.mean(1) ** 2 / (a**2).sum(1)
    np.testing.assert_allclose(real_data.mean_share(x).numpy(), share, rtol=1e-10)
    np.testing.assert_allclose(share, cos**2, rtol=1e-10)  # the stated identity


def test_massive_finds_planted_features_and_their_effect_on_layernorm():
    x = _tokens(300, 32)
    x[:40, 7] = 400.0
    x[10:20, 21] = -250.0
    m = real_data.massive(x)
    assert m.features.tolist() == [7, 21]  # largest peak first
    assert m.tokens_hit == 40 and m.n_tokens == 300
    assert m.hit[:40].all() and not m.hit[40:].any()
    a = np.abs(x.double().numpy())
    assert m.median_abs == pytest.approx(np.median(a))
    assert m.threshold == pytest.approx(max(100 * np.median(a), 10.0))
    np.testing.assert_allclose(m.peak, a.max(0), rtol=1e-6)
    # LayerNorm of a token dominated by one feature: that output is near ±√d, all tokens near one point
    c = x[:40].double() - x[:40].double().mean(1, keepdim=True)
    share = (c[:, [7, 21]] ** 2).sum(1) / (c**2).sum(1)
    assert m.variance_share == pytest.approx(float(share.median()))
    assert m.ln_value > 0.95 * math.sqrt(32)
    assert m.cos_hit > 0.9 > 0.2 > abs(m.cos_rest)  # hit tokens sit near two fixed points (±√d e₇, mixed)


def test_no_massive_features_in_gaussian_tokens():
    m = real_data.massive(_tokens())
    assert m.features.size == 0 and m.tokens_hit == 0


def test_mean_pairwise_cosine_against_loops():
    y = _tokens(12, 5, seed=3).double()
    u = y / y.norm(dim=1, keepdim=True)
    ref = np.mean([float(u[i] @ u[j]) for i in range(12) for j in range(12) if i != j])
    assert real_data._mean_pairwise_cos(y) == pytest.approx(ref, rel=1e-9)


def test_layer_stats_per_point():
    pts = [_tokens(seed=s) for s in range(3)]
    pts[1] = pts[1] + 5.0  # a large shared mean: small angle, big share
    st = real_data.layer_stats(pts)
    assert st.angle_median.shape == (3,)
    assert st.angle_median[1] < 30 < st.angle_median[0]
    assert st.share_median[1] > 0.5 > st.share_median[0]
    assert np.all(st.angle_q10 <= st.angle_median) and np.all(st.angle_median <= st.angle_q90)


def test_apply_own_norm_matches_torch():
    x = _tokens(10, 8)
    w, b = torch.linspace(0.5, 2, 8), torch.linspace(-1, 1, 8)
    torch.testing.assert_close(
        real_data.apply_own_norm("LayerNorm", x, w, b, 1e-12), F.layer_norm(x, (8,), w, b, 1e-12)
    )
    xd = x.double()
    ref = xd / torch.sqrt(xd.square().mean(-1, keepdim=True) + 1e-6) * w.double()
    torch.testing.assert_close(
        real_data.apply_own_norm("LlamaRMSNorm", x, w, None, 1e-6).double(), ref, rtol=1e-5, atol=1e-6
    )


def test_real_view_lengths_and_errors():
    x = _tokens(500, 16)
    v = real_data.real_view(x, eps=1e-12, max_points=100, labels=tuple(f"t{i}" for i in range(500)))
    assert v.before.shape == v.after.shape == (100, 3)
    assert v.radius_hist.minimum == pytest.approx(4.0, rel=1e-5)  # √16, no affine
    assert v.radius_hist.maximum == pytest.approx(4.0, rel=1e-5)
    assert v.labels[0] == f"t{v.shown[0]}"
    with pytest.raises(ValueError, match="d >= 2"):
        real_data.real_view(torch.ones(4, 1))


@pytest.mark.parametrize("d", [2, 3, 16, 384])
def test_random_angle_std_matches_closed_forms_and_monte_carlo(d):
    got = real_data.random_angle_std(d)
    # d = 2: θ uniform on [0, π]; d = 3: cos θ uniform on [−1, 1]
    exact = {2: math.degrees(math.pi / math.sqrt(12)), 3: math.degrees(math.sqrt(math.pi**2 / 4 - 2))}
    if d in exact:
        assert got == pytest.approx(exact[d], rel=1e-7)
    rng = np.random.default_rng(d)
    samples = [rng.standard_normal((40_000, d))]  # exact for Gaussian entries
    if d >= 100:  # any independent zero-mean entries, by the central limit theorem: ±1 entries
        samples.append(rng.choice([-1.0, 1.0], (40_000, d)))
    for x in samples:
        cos = x.sum(1) / (np.linalg.norm(x, axis=1) * math.sqrt(d))
        assert got == pytest.approx(np.degrees(np.arccos(cos)).std(), rel=0.03)
    if d >= 100:
        assert got == pytest.approx(math.degrees(1 / math.sqrt(d)), rel=0.01)  # std ≈ 1/√d rad
    with pytest.raises(ValueError, match="integer >= 2"):
        real_data.random_angle_std(1)
