"""normviz.jacobian: autograd's input gradient against the closed-form Jacobian in numpy float64."""

from __future__ import annotations

import numpy as np
import pytest

from normviz.experiments import jacobian

RNG = np.random.default_rng(7)


def _ln_reference(x, g):
    """(1/σ)(g − mean(g)1 − (y·g/d) y), y = (x − μ)/σ, ε = 0."""
    mu = x.mean(-1, keepdims=True)
    sigma = np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True))
    y = (x - mu) / sigma
    d = x.shape[-1]
    return (g - g.mean(-1, keepdims=True) - (y * g).sum(-1, keepdims=True) / d * y) / sigma


def _rms_reference(x, g):
    rms = np.sqrt((x**2).mean(-1, keepdims=True))
    y = x / rms
    return (g - (y * g).sum(-1, keepdims=True) / x.shape[-1] * y) / rms


@pytest.mark.parametrize("d", [3, 8, 64])
def test_layernorm_gradient_matches_closed_form_and_is_orthogonal_to_1_and_centered_x(d):
    x = RNG.standard_normal((200, d)) * RNG.uniform(0.1, 10, (200, 1)) + RNG.standard_normal((200, 1))
    g = RNG.standard_normal((200, d))
    gx = jacobian.input_gradient("layernorm", x, g)
    np.testing.assert_allclose(gx, _ln_reference(x, g), rtol=1e-10, atol=1e-12)
    centered = x - x.mean(-1, keepdims=True)
    scale = np.linalg.norm(gx, axis=-1)
    assert np.all(np.abs(gx.sum(-1)) < 1e-12 * np.sqrt(d) * scale)  # ⟂ 1
    cos = (gx * centered).sum(-1) / (scale * np.linalg.norm(centered, axis=-1))
    assert np.all(np.abs(cos) < 1e-12)  # ⟂ x − μ1
    assert np.all(scale > 1e-6)  # random g: the gradient itself is not zero, so orthogonality means something


@pytest.mark.parametrize("norm", jacobian.NORMS)
@pytest.mark.parametrize("s", [0.01, 0.5, 3.0, 1000.0])
def test_gradient_scales_as_one_over_s(norm, s):
    x = RNG.standard_normal((50, 3))
    g = RNG.standard_normal((50, 3))
    base = jacobian.input_gradient(norm, x, g)
    np.testing.assert_allclose(jacobian.input_gradient(norm, s * x, g), base / s, rtol=1e-10)


def test_rmsnorm_gradient_is_orthogonal_to_x_only():
    x = RNG.standard_normal((200, 3)) + 2.0  # a clear mean, so "orthogonal to 1" would be a different claim
    g = RNG.standard_normal((200, 3))
    gx = jacobian.input_gradient("rmsnorm", x, g)
    np.testing.assert_allclose(gx, _rms_reference(x, g), rtol=1e-10, atol=1e-12)
    cos_x = (gx * x).sum(-1) / (np.linalg.norm(gx, axis=-1) * np.linalg.norm(x, axis=-1))
    assert np.all(np.abs(cos_x) < 1e-12)
    cos_1 = gx.sum(-1) / (np.linalg.norm(gx, axis=-1) * np.sqrt(3))
    assert np.median(np.abs(cos_1)) > 0.1  # no centering: the gradient does have a mean component


def test_with_eps_the_scaling_is_only_approximate():
    x, g = RNG.standard_normal(3) * 1e-3, RNG.standard_normal(3)  # var ~ 1e-6, comparable to ε = 1e-5
    exact = jacobian.input_gradient("layernorm", x, g)
    with_eps = jacobian.input_gradient("layernorm", x, g, eps=1e-5)
    assert np.linalg.norm(with_eps) < 0.8 * np.linalg.norm(exact)


@pytest.mark.parametrize("norm", jacobian.NORMS)
def test_arrows_geometry(norm):
    a = jacobian.arrows(norm, azimuth=-40, elevation=10, scale=2.0, upstream="tangent")
    np.testing.assert_allclose(np.linalg.norm(a.x), 2.0)
    np.testing.assert_allclose(np.linalg.norm(a.y), np.sqrt(3), rtol=1e-12)  # both norms: radius √d
    np.testing.assert_allclose(np.linalg.norm(a.g), 1.0)
    ref = _ln_reference(a.x, a.g) if norm == "layernorm" else _rms_reference(a.x, a.g)
    np.testing.assert_allclose(a.grad_x, ref, rtol=1e-10, atol=1e-14)
    assert abs(a.dots["centered"]) < 1e-12 and a.grad_norm > 0.1
    if norm == "layernorm":
        assert abs(a.y.sum()) < 1e-12 and abs(a.dots["1"]) < 1e-12
    assert a.shown == pytest.approx(min(1.0, jacobian.VIEW_HALF / a.grad_norm))


@pytest.mark.parametrize(("norm", "upstream"), [("layernorm", "radial"), ("layernorm", "ones"), ("rmsnorm", "radial")])
def test_directions_the_norm_cannot_change_pass_nothing_back(norm, upstream):
    assert jacobian.arrows(norm, upstream=upstream).grad_norm < 1e-12


def _page_input():
    """The Jacobian page's default input x = 2.5·u(10°, 5°)."""
    return 2.5 * jacobian.direction(10, 5)


def test_g_along_1_passes_rmsnorm_but_not_layernorm():
    import torch
    import torch.nn.functional as F

    x, g = _page_input(), np.ones(3) / np.sqrt(3)
    rms_ref = np.linalg.norm(_rms_reference(x, g))  # the closed form in numpy float64
    xt = torch.tensor(x, requires_grad=True)  # and autograd of the definitions, written out
    (xt * torch.rsqrt((xt**2).mean())).backward(torch.tensor(g))
    np.testing.assert_allclose(np.linalg.norm(xt.grad.numpy()), rms_ref, rtol=1e-12)
    xt = torch.tensor(x, requires_grad=True)
    F.layer_norm(xt, (3,), eps=0.0).backward(torch.tensor(g))
    assert np.linalg.norm(xt.grad.numpy()) < 1e-14 and np.linalg.norm(_ln_reference(x, g)) < 1e-14
    assert rms_ref == pytest.approx(0.483, abs=5e-4)  # the number the page shows at its default input
    rms = jacobian.blocked("rmsnorm", azimuth=10, elevation=5, scale=2.5)
    ln = jacobian.blocked("layernorm", azimuth=10, elevation=5, scale=2.5)
    assert rms["ones"] == pytest.approx(rms_ref, rel=1e-10) and rms["radial"] == 0.0
    assert ln == {"radial": 0.0, "ones": 0.0}  # exactly 0: the rounding is flushed


@pytest.mark.parametrize(("norm", "upstream"), [("layernorm", "radial"), ("layernorm", "ones"), ("rmsnorm", "radial")])
def test_a_blocked_gradient_is_exactly_0_though_float_maths_leaves_rounding(norm, upstream):
    s, n = jacobian.scale_sweep(norm, azimuth=10, elevation=5, upstream=upstream)
    assert (n == 0).all()
    u = jacobian.direction(10, 5)
    g = jacobian.arrows(norm, azimuth=10, elevation=5, upstream=upstream).g
    raw = np.linalg.norm(jacobian.input_gradient(norm, s[:, None] * u, np.broadcast_to(g, (len(s), 3))), axis=-1)
    assert raw.max() > 0 and raw.max() < 1e-12 * np.sqrt(3) / (s.min() * np.linalg.norm(u))  # rounding, flushed
    a = jacobian.arrows(norm, azimuth=10, elevation=5, upstream=upstream)
    assert (a.grad_x == 0).all() and a.grad_norm == 0.0


def test_a_passing_gradient_is_not_flushed():
    s, n = jacobian.scale_sweep("rmsnorm", azimuth=10, elevation=5, upstream="ones")
    u, g = jacobian.direction(10, 5), np.ones(3) / np.sqrt(3)
    ref = np.linalg.norm(_rms_reference(s[:, None] * u, np.broadcast_to(g, (len(s), 3))), axis=-1)
    np.testing.assert_allclose(n, ref, rtol=1e-10)
    assert n.min() > 0.1


def test_scale_sweep_has_slope_minus_one():
    s, n = jacobian.scale_sweep("layernorm", upstream="e1")
    assert np.polyfit(np.log(s), np.log(n), 1)[0] == pytest.approx(-1.0, abs=1e-9)


def test_output_sets():
    ln = jacobian.output_set("layernorm")
    assert np.allclose(ln["circle"].sum(1), 0) and np.allclose(np.linalg.norm(ln["circle"], axis=1), np.sqrt(3))
    assert np.allclose(ln["plane"].sum(1), 0) and np.allclose(ln["plane"][0], ln["plane"][-1])
    rings = jacobian.output_set("rmsnorm")["sphere"]
    ok = ~np.isnan(rings).any(1)
    assert (~ok).sum() == 2
    np.testing.assert_allclose(np.linalg.norm(rings[ok], axis=1), np.sqrt(3))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: jacobian.input_gradient("batchnorm", [1.0, 2.0, 3.0], [1.0, 0, 0]), "Unknown norm"),
        (lambda: jacobian.input_gradient("layernorm", [1.0, 1.0, 1.0], [1.0, 0, 0]), "undefined"),
        (lambda: jacobian.input_gradient("rmsnorm", [0.0, 0.0, 0.0], [1.0, 0, 0]), "undefined"),
        (lambda: jacobian.input_gradient("layernorm", [1.0, 2.0], [1.0, 0, 0]), "same shape"),
        (lambda: jacobian.arrows("layernorm", scale=0.0), "scale"),
        (lambda: jacobian.arrows("layernorm", upstream="up"), "upstream"),
        (lambda: jacobian.arrows("layernorm", azimuth=45, elevation=float(np.degrees(np.arcsin(3**-0.5)))), "axis"),
    ],
)
def test_errors_say_how_to_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()
