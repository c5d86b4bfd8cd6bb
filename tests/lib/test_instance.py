"""InstanceNorm on the token layout: statistics per sequence and feature, padding, and the prose claim."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.core import inputs, norms
from normviz.experiments import instance

EPS = 1e-5


def test_per_sequence_per_feature_mean_0_variance_1_against_numpy():
    x = inputs.sample("lognormal_scale", batch=3, tokens=10, dim=8, seed=2)
    y = norms.apply("instancenorm", x).double().numpy()
    xn = x.double().numpy()
    mu, var = xn.mean(1, keepdims=True), xn.var(1, keepdims=True)  # over the T tokens of each sequence
    np.testing.assert_allclose(y, (xn - mu) / np.sqrt(var + EPS), atol=3e-5)
    np.testing.assert_allclose(y.mean(1), 0.0, atol=1e-6)
    np.testing.assert_allclose(y.var(1), (var / (var + EPS))[:, 0], rtol=1e-5)


def test_masked_padding_never_leaks_and_counted_padding_does():
    x = inputs.sample("gaussian", batch=2, tokens=6, dim=4, seed=0)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    garbage_a = torch.where(mask[..., None], x, torch.tensor(0.0))
    garbage_b = torch.where(mask[..., None], x, torch.tensor(50.0))
    ya, yb = (norms.apply("instancenorm", g, mask=mask) for g in (garbage_a, garbage_b))
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)  # the pads' values cannot reach any output
    real = ya[1, :3].double().numpy()
    np.testing.assert_allclose(real.mean(0), 0.0, atol=1e-6)
    ref = F.instance_norm(x[1:, :3].transpose(1, 2)).transpose(1, 2)[0]  # torch on the real tokens only
    torch.testing.assert_close(ya[1, :3], ref, rtol=1e-5, atol=1e-5)
    ua, ub = (norms.apply("instancenorm", g) for g in (garbage_a, garbage_b))
    assert (ua[1, :3] - ub[1, :3]).abs().max() > 0.1  # unmasked: the pads moved the real tokens
    torch.testing.assert_close(ua[0], ub[0])  # an unpadded sequence is unaffected either way


@pytest.mark.parametrize("pad_value", [0.0, 10.0])
def test_padding_view_masked_is_clean_counted_is_polluted(pad_value):
    p = instance.padding("gaussian", batch=4, tokens=8, dim=16, pad_value=pad_value)
    np.testing.assert_array_equal(p.lengths, [8, 7, 5, 4])
    assert (p.mean_masked < 1e-5).all()
    padded = p.lengths < 8
    assert (p.mean_counted[padded] > 1e-2).all()
    assert p.real_shift[0] < 1e-5 and (p.real_shift[padded] > 1e-2).all()


def test_the_claim_measured_tokens_are_coupled_sequences_are_not():
    v = instance.instance_view("gaussian", batch=3, tokens=5, dim=16)
    assert v.neighbour_shift > 0.1  # torch's InstanceNorm: token 1 moves when token 2 changes
    assert v.neighbour_shift_ln == 0.0  # "each token on its own" = LayerNorm: it cannot move
    assert v.other_sequence_shift == 0.0
    assert v.unbatched_vs_layernorm < 1e-5  # InstanceNorm1d fed (T, d) is LayerNorm without affine


def test_three_tokens_are_drawn_exactly_on_the_circle():
    v = instance.instance_view("anisotropic", batch=4, tokens=3, dim=32)
    after = v.after.astype(np.float64)
    np.testing.assert_allclose(after.sum(1), 0.0, atol=1e-5)
    assert np.median(np.linalg.norm(after, axis=1)) == pytest.approx(math.sqrt(3), rel=1e-3)
    assert v.reference.kind == "circle" and v.max_abs_mean < 1e-5
    assert set(v.sequence.tolist()) == {0, 1, 2, 3}


def test_too_few_tokens_is_a_clear_error():
    with pytest.raises(ValueError, match="T >= 2"):
        instance.instance_view("gaussian", batch=2, tokens=1, dim=4)
    with pytest.raises(ValueError, match="T >= 3"):
        instance.padding("gaussian", batch=2, tokens=2, dim=4)


def test_unbatched_instancenorm1d_warns_when_t_differs_from_d_and_is_silent_when_equal():
    # torch 2.13, measured: T != d warns (affine=False) or raises (affine=True); T = d says nothing
    v = instance.instance_view("gaussian", batch=2, tokens=3, dim=16)
    assert "does not match num_features" in v.unbatched_warning
    assert "to match num_features (16), but got: 3" in v.unbatched_affine_error
    same = instance.instance_view("gaussian", batch=2, tokens=8, dim=8)
    assert same.unbatched_warning == "" and same.unbatched_affine_error == ""
    assert same.unbatched_vs_layernorm < 1e-5  # silently LayerNorm over each token's d features


def test_padding_masked_means_are_drawn_as_exactly_zero():
    p = instance.padding("shifted", batch=4, tokens=8, dim=64)
    np.testing.assert_array_equal(p.mean_masked, 0.0)  # 0 in exact arithmetic: flushed, not ~1e-17
    assert p.rounded[0] and (p.mean_counted[1:] > 0.1).all()
    largest = max(p.mean_masked.max(), p.mean_counted.max())
    for values in (p.mean_masked, p.mean_counted, p.var_masked, p.var_counted):
        assert not ((values != 0) & (np.abs(values) < 1e-12 * largest)).any()  # nothing left in (0, 1e-12·max)
    # the ε effect on the variance (σ²/(σ² + ε) − 1 ~ 1e-5) is real, not rounding: it is kept
    assert (p.var_masked > 1e-6).all() and not p.rounded[1]
