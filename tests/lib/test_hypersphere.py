"""hypersphere.compute: the geometry the Hypersphere page shows, checked against what each norm must do."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from normviz.core import inputs
from normviz.experiments import hypersphere


def _x(kind="gaussian", tokens=1024, dim=16, seed=0):
    return inputs.sample(kind, batch=1, tokens=tokens, dim=dim, seed=seed)  # (1, T, d)


def _layernorm_np(a, eps):
    a = np.asarray(a, dtype=np.float64)
    mu = a.mean(axis=-1, keepdims=True)
    return (a - mu) / np.sqrt(((a - mu) ** 2).mean(axis=-1, keepdims=True) + eps)


# --- LayerNorm with gamma = 1, beta = 0: the sphere of radius sqrt(d) in the hyperplane sum = 0 --------------


@pytest.mark.parametrize("dim", [2, 3, 8, 64])
@pytest.mark.parametrize("kind", ["gaussian", "shifted", "lognormal_scale"])
def test_layernorm_histograms_radius_sqrt_d_mean_zero(dim, kind):
    v = hypersphere.compute(_x(kind, dim=dim), "layernorm", eps=1e-12)
    assert v.sqrt_d == pytest.approx(math.sqrt(dim))
    # eps = 1e-12 next to variances ~1: radius sqrt(d var / (var + eps)) = sqrt(d) up to float32 rounding, except
    # the rare d = 2 token whose two features nearly coincide (float32 cancellation, measured ~3e-5)
    assert v.radius_hist.mean == pytest.approx(math.sqrt(dim), rel=1e-4)
    assert v.radius_hist.minimum == pytest.approx(math.sqrt(dim), rel=1e-3)
    assert v.radius_hist.maximum == pytest.approx(math.sqrt(dim), rel=1e-4)
    # every token's mean is 0 up to float32 rounding; at d = 2 a token with x1 ~ x2 divides the rounding error of
    # its mean by a tiny std (measured up to 3e-4 for the lognormal input), elsewhere it stays below 1e-6
    worst = 1e-3 if dim == 2 else 1e-5
    assert abs(v.mean_hist.mean) < 1e-6 and max(abs(v.mean_hist.minimum), abs(v.mean_hist.maximum)) < worst
    # the histograms cover every token, and the sqrt(d) and 0 marks are in range
    assert v.radius_hist.counts.sum() == v.n_tokens == 1024
    assert v.mean_hist.counts.sum() == 1024
    assert v.radius_hist.edges[0] <= math.sqrt(dim) <= v.radius_hist.edges[-1]
    assert v.mean_hist.edges[0] <= 0.0 <= v.mean_hist.edges[-1]


def test_layernorm_eps_pulls_small_tokens_inside_the_sphere():
    x = _x(dim=8) * 1e-3  # variance 1e-6, next to eps = 1e-5
    v = hypersphere.compute(x, "layernorm", eps=1e-5)
    var = x.double().var(dim=-1, unbiased=False).ravel()
    expected = torch.sqrt(8 * var / (var + 1e-5))  # DESIGN: ||y|| = sqrt(d var / (var + eps))
    assert v.radius_hist.mean == pytest.approx(float(expected.mean()), rel=1e-4)
    assert v.radius_hist.maximum < math.sqrt(8) * 0.9


def test_layernorm_d2_outputs_are_only_two_points():
    v = hypersphere.compute(_x(dim=2), "layernorm", eps=1e-12)
    assert v.basis.method == "exact"
    after = v.after.astype(np.float64)
    plus, minus = np.array([1.0, -1.0, 0.0]), np.array([-1.0, 1.0, 0.0])
    dist = np.minimum(np.abs(after - plus).max(axis=1), np.abs(after - minus).max(axis=1))
    assert dist.max() < 1e-4  # float32 cancellation for nearly equal features, measured ~3e-5
    # both points occur, and which one is the sign of x1 - x2
    before = v.before.astype(np.float64)
    np.testing.assert_array_equal(np.sign(after[:, 0]), np.sign(before[:, 0] - before[:, 1]))
    assert (after[:, 0] > 0).any() and (after[:, 0] < 0).any()
    assert v.reference is not None and v.reference.kind == "points"


def test_layernorm_d3_outputs_on_the_circle_in_the_plane():
    v = hypersphere.compute(_x(dim=3), "layernorm", eps=1e-12)
    assert v.basis.method == "exact"
    after = v.after.astype(np.float64)
    np.testing.assert_allclose(after.sum(axis=1), 0.0, atol=1e-5)  # on the plane y1 + y2 + y3 = 0
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), math.sqrt(3), rtol=1e-4)
    # exact coordinates: 'before' are the input tokens, 'after' their LayerNorm
    np.testing.assert_allclose(after, _layernorm_np(v.before, 1e-12), atol=1e-4)
    assert v.reference.kind == "circle" and v.reference.plane is not None
    curve = v.reference.curve.astype(np.float64)
    np.testing.assert_allclose(curve.sum(axis=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(curve, axis=1), math.sqrt(3), rtol=1e-5)


@pytest.mark.parametrize("method", ["ones+pca", "pca"])
def test_exact_views_use_the_inputs_themselves(method):
    x = _x(dim=3, tokens=200)
    v = hypersphere.compute(x, "rmsnorm", method=method)
    tokens = x.reshape(-1, 3).numpy()
    # every shown 'before' point is one of the input tokens, each at most once
    match = np.abs(v.before[:, None, :] - tokens[None, :, :]).max(axis=-1) == 0  # (n_shown, N)
    assert (match.sum(axis=1) >= 1).all()
    assert len({int(np.argmax(row)) for row in match}) == v.n_shown
    np.testing.assert_allclose(v.color, np.log10(np.linalg.norm(v.before.astype(np.float64), axis=1)), atol=1e-5)


def test_projected_layernorm_lies_in_the_disk():
    v = hypersphere.compute(_x(dim=32), "layernorm", method="ones+pca")
    assert v.basis.method == "ones+pca"
    np.testing.assert_allclose(v.after[:, 0], 0.0, atol=1e-5)  # no component along the all-ones axis
    assert (np.linalg.norm(v.after, axis=1) <= math.sqrt(32) * (1 + 1e-5)).all()  # inside the disk of radius sqrt(d)
    assert v.reference.kind == "disk"
    assert 0.0 < v.kept_after < 1.0 and 0.0 < v.kept_before < 1.0


# --- RMSNorm keeps the mean; gamma and beta --------------------------------------------------------------------


def test_rmsnorm_keeps_the_mean_component_of_a_shifted_input():
    x = _x("shifted", dim=16)
    rms = hypersphere.compute(x, "rmsnorm", eps=1e-12)
    ln = hypersphere.compute(x, "layernorm", eps=1e-12)
    # shifted tokens: mean ~2, rms ~ sqrt(4.25 + 1): RMSNorm leaves a mean ~ 2 / 2.3 ~ 0.87 per feature
    assert 0.6 < rms.mean_hist.mean < 1.0 and rms.mean_hist.minimum > 0.3
    assert abs(ln.mean_hist.mean) < 1e-6
    assert rms.radius_hist.mean == pytest.approx(4.0, rel=1e-4)  # but still the sphere of radius sqrt(16)


@pytest.mark.parametrize("norm", ["layernorm", "rmsnorm"])
def test_gamma_spread_turns_the_sphere_into_an_ellipsoid(norm):
    x = _x(dim=16)
    round_ = hypersphere.compute(x, norm, gamma_spread=1.0)
    stretched = hypersphere.compute(x, norm, gamma_spread=3.0)
    rel_range = lambda h: (h.maximum - h.minimum) / h.mean  # noqa: E731
    assert rel_range(round_.radius_hist) < 1e-3
    assert rel_range(stretched.radius_hist) > 0.3
    # gamma_j runs from 1/3 to 3: radii stay within the ellipsoid's semi-axes times sqrt(d)
    assert stretched.radius_hist.maximum <= 3 * 4.0 and stretched.radius_hist.minimum >= 4.0 / 3


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_gamma_scale_scales_the_radius(scale):
    v = hypersphere.compute(_x(dim=16), "layernorm", gamma_scale=scale, eps=1e-12)
    assert v.radius_hist.mean == pytest.approx(4.0 * scale, rel=1e-4)


@pytest.mark.parametrize("beta", [-1.5, 0.7, 3.0])
def test_beta_shift_moves_the_mean_by_beta(beta):
    x = _x(dim=16)
    ln = hypersphere.compute(x, "layernorm", beta_shift=beta)
    # LayerNorm outputs have mean exactly 0, so with beta = shift * ones every token's mean is the shift
    assert ln.mean_hist.minimum == pytest.approx(beta, abs=1e-5)
    assert ln.mean_hist.maximum == pytest.approx(beta, abs=1e-5)
    rms0, rms = hypersphere.compute(x, "rmsnorm"), hypersphere.compute(x, "rmsnorm", beta_shift=beta)
    assert rms.mean_hist.mean - rms0.mean_hist.mean == pytest.approx(beta, abs=1e-5)
    # in the ones+pca view the whole cloud sits at sqrt(d) * beta along the all-ones axis
    np.testing.assert_allclose(ln.after[:, 0], 4.0 * beta, atol=1e-4)


def test_identity_and_dyt_have_no_sphere():
    x = _x(dim=8)
    ident = hypersphere.compute(x, "identity")
    np.testing.assert_allclose(ident.radius_hist.mean, float(x.double().norm(dim=-1).mean()), rtol=1e-6)
    np.testing.assert_array_equal(ident.after, ident.before)
    assert ident.reference is None
    dyt = hypersphere.compute(x, "dyt", alpha=0.5)
    assert dyt.reference is None
    np.testing.assert_allclose(dyt.elementwise_y, np.tanh(0.5 * dyt.elementwise_x.astype(np.float64)), atol=1e-6)
    np.testing.assert_allclose(dyt.curve_dyt, np.tanh(0.5 * dyt.curve_x.astype(np.float64)), atol=1e-6)


# --- sampling: draw a capped sample, measure every token ---------------------------------------------------


@pytest.mark.parametrize(("tokens", "max_points"), [(1024, 3000), (5000, 3000), (5000, 100), (7, 3)])
def test_draws_at_most_max_points_but_measures_all(tokens, max_points):
    v = hypersphere.compute(_x(tokens=tokens, dim=8), "layernorm", max_points=max_points)
    assert v.n_shown == min(tokens, max_points) <= max_points
    assert v.before.shape == v.after.shape == (v.n_shown, 3) and v.color.shape == (v.n_shown,)
    assert v.before.dtype == v.after.dtype == v.color.dtype == np.float32
    assert v.n_tokens == tokens
    assert v.radius_hist.counts.sum() == tokens and v.mean_hist.counts.sum() == tokens


def test_same_seed_same_view_other_seed_other_sample():
    x = _x(tokens=2000, dim=8)
    a, b = (
        hypersphere.compute(x, "rmsnorm", max_points=50, seed=1),
        hypersphere.compute(x, "rmsnorm", max_points=50, seed=1),
    )
    c = hypersphere.compute(x, "rmsnorm", max_points=50, seed=2)
    np.testing.assert_array_equal(a.after, b.after)
    assert not np.array_equal(a.after, c.after)
    np.testing.assert_array_equal(a.radius_hist.counts, c.radius_hist.counts)  # statistics do not depend on the sample


def test_elementwise_sample_is_whole_tokens_and_their_layernorm():
    d = 8
    v = hypersphere.compute(_x(dim=d), "rmsnorm", eps=1e-5, max_elements=800)
    ex, eln = v.elementwise_x.astype(np.float64), v.elementwise_ln.astype(np.float64)
    assert ex.size == eln.size == v.elementwise_y.size == 800  # 100 whole tokens of d = 8
    np.testing.assert_allclose(eln.reshape(-1, d), _layernorm_np(ex.reshape(-1, d), 1e-5), atol=1e-4)
    rms = ex.reshape(-1, d) / np.sqrt((ex.reshape(-1, d) ** 2).mean(axis=1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(v.elementwise_y.reshape(-1, d), rms, atol=1e-4)
    # (ln_alpha, ln_gamma) is the best gamma tanh(alpha x) fit to that cloud: nudging either one fits worse
    err = lambda a, g: ((g * np.tanh(a * ex) - eln) ** 2).sum()  # noqa: E731
    a, g = v.ln_alpha, v.ln_gamma
    assert err(a, g) <= min(err(a * 1.02, g), err(a / 1.02, g), err(a, g * 1.02), err(a, g / 1.02))
    np.testing.assert_allclose(v.curve_ln_fit, g * np.tanh(a * v.curve_x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    assert v.ln_fit_error == pytest.approx(math.sqrt(err(a, g) / ex.size), rel=1e-6)
    slope = (ex @ eln) / (ex @ ex)  # least squares through 0
    assert v.line_slope == pytest.approx(slope, rel=1e-6)
    assert v.line_error == pytest.approx(np.sqrt(np.mean((slope * ex - eln) ** 2)), rel=1e-6)
    assert v.curve_x.min() == pytest.approx(-np.abs(ex).max()) and v.curve_x.max() == pytest.approx(np.abs(ex).max())


@pytest.mark.parametrize("norm", hypersphere.SPHERE_NORMS)
@pytest.mark.parametrize(("tokens", "dim"), [(1, 1), (2, 1), (1, 2), (2, 3), (1, 4), (2, 4)])
def test_tiny_inputs_do_not_crash(norm, tokens, dim):
    v = hypersphere.compute(_x(tokens=tokens, dim=dim), norm, gamma_spread=2.0, beta_shift=0.5)
    assert v.n_tokens == v.n_shown == tokens and v.radius_hist.counts.sum() == tokens
    for a in (v.before, v.after, v.color, v.elementwise_x, v.elementwise_y, v.curve_ln_fit, v.curve_line):
        assert np.isfinite(a).all()
    assert np.isfinite(v.ln_alpha) and v.ln_alpha > 0 and np.isfinite([v.ln_gamma, v.ln_fit_error, v.line_error]).all()


# --- the S-curve: gamma tanh(alpha x) against LayerNorm's element cloud ------------------------------------------


@pytest.mark.parametrize("alpha", [0.02, 0.7, 1.3, 25.0])
@pytest.mark.parametrize("gamma", [1.0, 6.0])
def test_best_dyt_fit_recovers_a_known_alpha_and_gamma(alpha, gamma):
    x = torch.linspace(-5, 5, 1001) / (alpha if alpha > 1 else 1)  # keep the curve's bend inside the data
    a, g = hypersphere.best_dyt_fit(x, gamma * torch.tanh(alpha * x))
    assert a == pytest.approx(alpha, rel=0.01) and g == pytest.approx(gamma, rel=0.01)


def test_best_dyt_fit_with_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5000, generator=g, dtype=torch.float64) * 2
    y = 3 * torch.tanh(0.7 * x) + 0.05 * torch.randn(5000, generator=g, dtype=torch.float64)
    a, gamma = hypersphere.best_dyt_fit(x, y)
    assert a == pytest.approx(0.7, rel=0.02) and gamma == pytest.approx(3.0, rel=0.02)


@pytest.mark.parametrize(
    # (kind, d, RMS error of the best bare tanh(alpha x), of gamma tanh(alpha x)): measured, seed 0, 1024 tokens
    ("kind", "dim", "bare", "fitted"),
    [("gaussian", 64, 0.41, 0.16), ("heavy_tailed", 64, 0.55, 0.23), ("outliers", 768, 0.95, 0.26)],
)
def test_a_bare_tanh_cannot_reach_layernorm_outputs_above_one(kind, dim, bare, fitted):
    v = hypersphere.compute(_x(kind, dim=dim), "layernorm")
    ex, eln = v.elementwise_x.astype(np.float64), v.elementwise_ln.astype(np.float64)
    assert v.ln_above_one == pytest.approx(np.mean(np.abs(eln) > 1))
    # the best bare tanh, by brute force on a fine grid: independent of the library's search
    alphas = np.exp(np.linspace(np.log(1e-3), np.log(1e2), 4001))
    bare_rms = min(np.sqrt(np.mean((np.tanh(a * ex) - eln) ** 2)) for a in alphas)
    assert bare_rms == pytest.approx(bare, abs=0.01)
    assert v.ln_fit_error == pytest.approx(fitted, abs=0.01)  # the amplitude gamma is what the fit needed
    assert v.ln_gamma > 5  # LayerNorm outputs reach ~sqrt(d), far past tanh's 1


def test_iid_gaussian_tokens_give_nearly_a_straight_line():
    v = hypersphere.compute(_x("gaussian", dim=64), "layernorm")
    assert v.line_error < 1.05 * v.ln_fit_error  # a straight line fits as well: no S (the page says so)
    w = hypersphere.compute(_x("massive", dim=64), "layernorm")  # a few extreme tokens bend the cloud
    assert w.line_error > 3 * w.ln_fit_error


@pytest.fixture(scope="module")
def minilm():
    from normviz.io import capture

    model, tokenizer = capture.load_model(capture.MINILM)
    return capture.capture_text(model, tokenizer, capture.split_sentences(capture.DEFAULT_TEXT), max_tokens=64)


def test_minilm_feed_forward_layernorms_show_the_s_and_attention_ones_a_line(minilm):
    # what the page's expander says, measured on the default text with the page's REAL_ELEMENTS = 48,000
    for point in range(1, 13):
        v = hypersphere.compute(minilm.real(point)[None], "layernorm", max_elements=48_000)
        assert v.elementwise_x.size == minilm.real(point).numel()  # every token of the default text
        if point in (2, 4, 6, 8):
            assert 0.6 < v.line_error < 0.9 and 0.08 < v.ln_fit_error < 0.22, point
            assert v.pinned.feature == 99 and v.pinned.near == 8  # [CLS] of each of the 8 sentences
        elif point % 2:
            assert v.line_error < 1.01 * v.ln_fit_error, point  # after attention: a straight line


# --- pinned tokens: massive activations against outlier features -----------------------------------------------


@pytest.mark.parametrize(("dim", "outlier_share"), [(16, 0.9), (64, 0.9), (768, 0.5)])  # d = 768: 3 outlier features
def test_massive_tokens_are_pinned_and_outlier_features_pin_every_token(dim, outlier_share):
    x = _x("massive", dim=dim)[0]  # (1024, d)
    j, m = inputs.massive_feature(dim, seed=0)
    p = hypersphere.pinned(x)
    assert (p.feature, p.peak) == (j, pytest.approx(m))
    assert p.near == p.near_plus == 1024 // inputs.SEQUENCE  # exactly the massive tokens, all at +p_j
    q = hypersphere.pinned(_x("outliers", dim=dim)[0])
    assert (
        q.near > outlier_share * 1024 and 0.3 < q.near_plus / q.near < 0.7
    )  # every token, at +p_j or -p_j by x_j's sign
    assert hypersphere.pinned(_x("gaussian", dim=dim)[0]).near == 0


# --- affine and errors -----------------------------------------------------------------------------------------


def test_affine_values():
    gamma, beta = hypersphere.affine(5, gamma_scale=2.0, gamma_spread=4.0, beta_shift=-0.5)
    np.testing.assert_allclose(gamma.numpy(), 2.0 * 4.0 ** np.linspace(-1, 1, 5), rtol=1e-6)
    np.testing.assert_array_equal(beta.numpy(), np.full(5, -0.5, dtype=np.float32))
    assert hypersphere.affine(5) == (None, None)
    g1, b1 = hypersphere.affine(1, gamma_spread=2.0)
    assert g1.shape == (1,) and float(g1) == 1.0 and b1 is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gamma_scale": 0.0},
        {"gamma_scale": -1.0},
        {"gamma_spread": 0.5},
        {"beta_shift": float("inf")},
        {"beta_shift": float("nan")},
    ],
)
def test_affine_errors(kwargs):
    with pytest.raises(ValueError, match="gamma scale must be > 0"):
        hypersphere.affine(4, **kwargs)


@pytest.mark.parametrize("norm", ["batchnorm", "groupnorm", "instancenorm", "nope"])
def test_compute_rejects_norms_without_a_sphere_view(norm):
    with pytest.raises(ValueError, match=r"covers layernorm, rmsnorm, dyt, identity"):
        hypersphere.compute(_x(dim=4, tokens=10), norm)


def test_compute_over_is_compute_at_each_value_and_refuses_a_fixed_varied_argument():
    x = _x(dim=3)
    values = [0.5, 1.0, 2.5]
    views = hypersphere.compute_over(x, "layernorm", "gamma_scale", values, beta_shift=0.5, eps=1e-12)
    assert len(views) == len(values)
    for v, g in zip(views, values, strict=True):
        one = hypersphere.compute(x, "layernorm", gamma_scale=g, beta_shift=0.5, eps=1e-12)
        np.testing.assert_array_equal(v.after, one.after)
        np.testing.assert_array_equal(v.before, one.before)
        # and the geometry: d = 3 is exact, LayerNorm with γ = g, β = 0.5 puts y − β at radius g·√3
        np.testing.assert_allclose(np.linalg.norm(v.after - 0.5, axis=1), g * np.sqrt(3), rtol=1e-4)
    with pytest.raises(ValueError, match="varies one of"):
        hypersphere.compute_over(x, "layernorm", "tokens", [1])
    with pytest.raises(ValueError, match="pass its values"):
        hypersphere.compute_over(x, "layernorm", "alpha", [0.5], alpha=1.0)
