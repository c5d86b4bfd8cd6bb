"""norms.apply against independent references: numpy float64 written out here, and torch's own functional ops.

Tolerances. Inputs are float32 and O(1); the numpy references run in float64 on the same float32 values, so
the only difference is float32 rounding inside torch: a few ulps (~1e-7 relative) per operation, summed over at
most d = 64 features or a few hundred tokens, then divided by a standard deviation of about 1. That gives
errors around 1e-6; we allow ATOL = RTOL = 1e-4, which still catches any wrong axis, a missing eps, an
unbiased variance (off by a factor sqrt(n/(n-1)), >= 0.8% here) or a missing affine. float64 inputs are
checked at 1e-10.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from normviz.core import norms
from tests.helpers.norm_refs import (
    REFS,
    cases,
    data,
    padded,
    ref_dyt,
    ref_groupnorm,
    ref_masked,
    torch_reference,
)

ATOL = RTOL = 1e-4  # float32 computation vs float64 reference, see module docstring
ATOL64 = RTOL64 = 1e-10  # float64 computation vs float64 reference


def test_registry_lists_every_norm_of_the_contract():
    assert set(norms.NORMS) == {"layernorm", "rmsnorm", "batchnorm", "groupnorm", "instancenorm", "dyt", "identity"}


@pytest.mark.parametrize(("name", "shape", "eps", "affine", "groups"), list(cases()))
def test_matches_numpy_float64_and_torch_functional(name, shape, eps, affine, groups):
    x, w, b = data(shape, seed=norms.NORMS.index(name) * 100 + sum(shape))  # fixed, varied seeds
    w, b = (w, b) if affine else (None, None)
    y = norms.apply(name, x, eps=eps, groups=groups, weight=w, bias=b)
    assert y.shape == x.shape and y.dtype == torch.float32
    ref = REFS[name](
        x.double().numpy(),
        eps=eps,
        groups=groups,
        w=None if w is None else w.double().numpy(),
        b=None if b is None else b.double().numpy(),
    )
    np.testing.assert_allclose(y.double().numpy(), ref, atol=ATOL, rtol=RTOL, err_msg="vs numpy float64")
    expected = torch_reference(name, x, eps=eps, groups=groups, w=w, b=b)
    torch.testing.assert_close(y, expected, atol=ATOL, rtol=RTOL, msg=lambda m: f"vs torch functional: {m}")


@pytest.mark.parametrize("name", norms.NORMS)
def test_float64_input_stays_float64_and_matches_tightly(name):
    x, w, b = data((3, 6, 12), seed=3, dtype=torch.float64)
    y = norms.apply(name, x, eps=1e-5, groups=3, weight=w, bias=b)
    assert y.dtype == torch.float64
    ref = REFS[name](x.numpy(), eps=1e-5, groups=3, w=w.numpy(), b=b.numpy())
    np.testing.assert_allclose(y.numpy(), ref, atol=ATOL64, rtol=RTOL64)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 2.0, -1.0])
def test_dyt_alpha(alpha):
    x, w, b = data((2, 4, 8), seed=11)
    y = norms.apply("dyt", x, alpha=alpha, weight=w, bias=b)
    ref = ref_dyt(x.double().numpy(), alpha=alpha, w=w.double().numpy(), b=b.double().numpy())
    np.testing.assert_allclose(y.double().numpy(), ref, atol=ATOL, rtol=RTOL)


GROUP_CASES = [  # (shape, G)
    ((2, 3, 12), 1),
    ((2, 3, 12), 3),
    ((2, 3, 12), 4),
    ((2, 3, 12), 6),
    ((1, 5, 64), 8),
    ((3, 1, 2), 2),
]


@pytest.mark.parametrize(("shape", "groups"), GROUP_CASES)
@pytest.mark.parametrize("affine", [False, True])
def test_groupnorm_groups_are_contiguous_feature_blocks(shape, groups, affine):
    x, w, b = data(shape, seed=5)
    w, b = (w, b) if affine else (None, None)
    y = norms.apply("groupnorm", x, groups=groups, weight=w, bias=b)
    ref = ref_groupnorm(
        x.double().numpy(),
        eps=1e-5,
        groups=groups,
        w=None if w is None else w.double().numpy(),
        b=None if b is None else b.double().numpy(),
    )
    np.testing.assert_allclose(y.double().numpy(), ref, atol=ATOL, rtol=RTOL)
    torch.testing.assert_close(
        y, torch_reference("groupnorm", x, eps=1e-5, groups=groups, w=w, b=b), atol=ATOL, rtol=RTOL
    )


# --- masks ------------------------------------------------------------------------------------------------

MASK_NORMS = norms.NORMS
MASK_SHAPES = [(3, 6, 8), (2, 5, 3), (4, 3, 2)]


@pytest.mark.parametrize("name", MASK_NORMS)
@pytest.mark.parametrize("shape", MASK_SHAPES)
@pytest.mark.parametrize("affine", [False, True])
def test_mask_ignores_garbage_and_zeros_padding(name, shape, affine):
    x, mask, w, b = padded(shape, seed=21, garbage="huge_and_nan")
    w, b = (w, b) if affine else (None, None)
    y = norms.apply(name, x, mask=mask, groups=1, weight=w, bias=b)
    assert torch.isfinite(y).all()
    assert (y[~mask] == 0).all(), "padded positions must come out as exactly 0"
    ref = ref_masked(
        name,
        x.double().numpy(),
        mask.numpy(),
        eps=1e-5,
        groups=1,
        w=None if w is None else w.double().numpy(),
        b=None if b is None else b.double().numpy(),
    )
    np.testing.assert_allclose(y.double().numpy(), ref, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", ["instancenorm", "batchnorm"])
def test_without_mask_padding_garbage_pollutes_real_tokens(name):
    x, mask, _, _ = padded((3, 6, 8), seed=22, garbage="finite")
    ref = ref_masked(name, x.double().numpy(), mask.numpy(), eps=1e-5)
    masked = norms.apply(name, x, mask=mask)
    unmasked = norms.apply(name, x)  # the padding takes part in the statistics
    np.testing.assert_allclose(masked.double().numpy(), ref, atol=ATOL, rtol=RTOL)
    diff = (unmasked[mask] - masked[mask]).abs().max()
    assert diff > 0.5, f"padding should have changed real tokens' outputs, max change {float(diff)}"


@pytest.mark.parametrize("name", ["layernorm", "rmsnorm", "groupnorm", "dyt", "identity"])
def test_per_token_norms_are_unaffected_by_padding_even_unmasked(name):
    x, mask, _, _ = padded((3, 6, 8), seed=23, garbage="finite")
    torch.testing.assert_close(norms.apply(name, x)[mask], norms.apply(name, x, mask=mask)[mask])


def test_instancenorm_mask_with_one_real_token_in_a_sequence():
    x, _, b = data((2, 4, 5), seed=24)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    y = norms.apply("instancenorm", x, mask=mask, bias=b)
    # one real token: it is its own mean, variance 0, so the output is the bias (eps keeps it finite)
    torch.testing.assert_close(y[1, 0], b, atol=ATOL, rtol=RTOL)
    assert (y[1, 1:] == 0).all()


# --- scale, offset, constant tokens -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["layernorm", "rmsnorm", "groupnorm", "instancenorm", "batchnorm", "dyt"])
def test_large_scale_and_offset_still_match_float64(name):
    x, _, _ = data((3, 8, 16), seed=31)
    x = (x * 1e3 + 5e3).float()  # values around 5000 +- 1500 in float32 (ulp ~ 5e-4)
    y = norms.apply(name, x, groups=4)
    ref = REFS[name](x.double().numpy(), eps=1e-5, groups=4)  # on the same float32 values
    # The mean is ~5e3 times the std: float32 centering loses ~5e3 * 6e-8 / 1.5e3 ~ 2e-7 of relative precision
    # per operation on the normalized output. Measured max error here is ~1e-6; 1e-4 leaves wide margin.
    np.testing.assert_allclose(y.double().numpy(), ref, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", norms.NORMS)
@pytest.mark.parametrize("eps", [1e-12, 1e-5])
def test_constant_tokens_give_finite_outputs(name, eps):
    c = torch.tensor([-3.0, 0.0, 1e-3, 7.5, 100.0, 2.0])
    x = c[:, None, None].expand(6, 1, 8).reshape(2, 3, 8).contiguous()  # every token constant across d
    y = norms.apply(name, x, eps=eps, groups=2)
    assert torch.isfinite(y).all()
    if name in ("layernorm", "groupnorm"):  # nothing left after removing the token's own mean
        assert y.abs().max() < 1e-3


def test_everything_constant():
    x = torch.full((2, 3, 4), 3.7)
    for name in ("layernorm", "groupnorm", "instancenorm", "batchnorm"):
        y = norms.apply(name, x, groups=2)
        assert y.abs().max() < 1e-3, name
    y = norms.apply("rmsnorm", x)
    torch.testing.assert_close(y, torch.full_like(x, 3.7 / math.sqrt(3.7**2 + 1e-5)))
