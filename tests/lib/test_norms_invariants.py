"""norms.apply's invariants (spheres, products of spheres, who couples whom), dtypes and errors that say the fix.

The comparisons against numpy float64 and torch's functional ops, masks and extreme scales are in test_norms.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from normviz.core import norms
from tests.helpers.norm_refs import REFS, data, padded, ref_masked

ATOL = RTOL = 1e-4  # float32 computation vs float64 reference, see module docstring
ATOL64 = RTOL64 = 1e-10  # float64 computation vs float64 reference


# --- invariants -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 8, 64])
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_layernorm_sphere_in_hyperplane(d, eps):
    x, _, _ = data((4, 16, d), seed=41)
    y = norms.apply("layernorm", x, eps=eps).double()
    xd = x.double()
    var = xd.var(dim=-1, unbiased=False)
    # on the hyperplane sum(y) = 0, at radius sqrt(d * var / (var + eps)) -- sqrt(d) when eps << var
    torch.testing.assert_close(y.sum(dim=-1), torch.zeros(4, 16, dtype=torch.float64), atol=1e-5 * d, rtol=0)
    torch.testing.assert_close(y.norm(dim=-1), torch.sqrt(d * var / (var + eps)), atol=1e-5, rtol=1e-5)
    assert (y.norm(dim=-1) <= math.sqrt(d) * (1 + 1e-6)).all()
    if eps == 1e-5:  # tokens whose variance dwarfs eps sit on the sphere of radius sqrt(d) (gap eps / (2 var))
        big = var > 1000 * eps
        assert big.float().mean() > 0.5  # the check below covers most tokens
        torch.testing.assert_close(y.norm(dim=-1)[big], torch.full_like(var[big], math.sqrt(d)), atol=0, rtol=1e-3)


@pytest.mark.parametrize("d", [2, 3, 8, 64])
def test_rmsnorm_sphere(d):
    x, _, _ = data((4, 16, d), seed=42)
    y = norms.apply("rmsnorm", x, eps=1e-8).double()
    torch.testing.assert_close(
        y.norm(dim=-1), torch.full((4, 16), math.sqrt(d), dtype=torch.float64), atol=1e-5, rtol=1e-5
    )
    # no centering: the mean component is kept (x has a +0.3 offset, so it is not ~0)
    assert y.mean(dim=-1).abs().max() > 0.1


@pytest.mark.parametrize(("d", "groups"), [(8, 2), (12, 3), (12, 4), (64, 8)])
def test_groupnorm_product_of_spheres(d, groups):
    x, _, _ = data((3, 10, d), seed=43)
    y = norms.apply("groupnorm", x, groups=groups, eps=1e-8).double().reshape(3, 10, groups, d // groups)
    torch.testing.assert_close(y.mean(dim=-1), torch.zeros(3, 10, groups, dtype=torch.float64), atol=1e-5, rtol=0)
    expected = torch.full((3, 10, groups), math.sqrt(d / groups), dtype=torch.float64)
    torch.testing.assert_close(y.norm(dim=-1), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("d", [2, 3, 12])
def test_groupnorm_one_group_is_layernorm(d):
    x, w, b = data((2, 5, d), seed=44)
    torch.testing.assert_close(
        norms.apply("groupnorm", x, groups=1, weight=w, bias=b),
        norms.apply("layernorm", x, weight=w, bias=b),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("d", [2, 3, 12])
def test_groupnorm_d_groups_sends_everything_to_zero(d):
    x, _, b = data((2, 5, d), seed=45)
    assert (norms.apply("groupnorm", x, groups=d) == 0).all()  # each value is its own group's mean
    # with a bias torch fuses the affine into x * rstd + (beta - mean * rstd), rstd = 1/sqrt(eps) ~ 316: the two
    # products no longer cancel bit for bit, leaving float32 rounding of values ~316 |x| (ulp ~3e-5)
    torch.testing.assert_close(norms.apply("groupnorm", x, groups=d, bias=b), b.expand(2, 5, d), atol=3e-4, rtol=0)


def test_instancenorm_couples_tokens_not_features():
    x, _, _ = data((2, 6, 4), seed=46)
    y = norms.apply("instancenorm", x)
    x2 = x.clone()
    x2[0, 0] += 10.0  # change one token of sequence 0
    y2 = norms.apply("instancenorm", x2)
    assert (y2[0, 1:] - y[0, 1:]).abs().max() > 0.1  # the other tokens of that sequence move
    torch.testing.assert_close(y2[1], y[1])  # the other sequence does not


def test_batchnorm_couples_every_token_in_the_batch():
    x, _, _ = data((2, 6, 4), seed=47)
    x2 = x.clone()
    x2[0, 0] += 10.0
    assert (norms.apply("batchnorm", x2)[1] - norms.apply("batchnorm", x)[1]).abs().max() > 0.1


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", norms.NORMS)
def test_half_precision_returns_input_dtype(name, dtype):
    x, w, b = data((2, 6, 8), seed=51)
    y = norms.apply(name, x.to(dtype), groups=2, weight=w.to(dtype), bias=b.to(dtype))
    assert y.dtype == dtype
    ref = REFS[name](
        x.to(dtype).double().numpy(), eps=1e-5, groups=2, w=w.to(dtype).double().numpy(), b=b.to(dtype).double().numpy()
    )
    # stats in float32, one rounding to the output dtype: bfloat16 has 8 bits of mantissa (rel. 2**-8 = 0.4%)
    tol = 1e-2 if dtype == torch.bfloat16 else 2e-3
    np.testing.assert_allclose(y.double().numpy(), ref, atol=tol, rtol=tol)


def test_masked_half_precision():
    x, mask, _, _ = padded((3, 6, 8), seed=52, garbage="finite")
    y = norms.apply("batchnorm", x.half(), mask=mask)
    assert y.dtype == torch.float16 and (y[~mask] == 0).all()
    ref = ref_masked("batchnorm", x.half().double().numpy(), mask.numpy(), eps=1e-5)
    np.testing.assert_allclose(y.double().numpy(), ref, atol=2e-3, rtol=2e-3)


# --- errors that say the fix ---------------------------------------------------------------------------

X = torch.randn(2, 3, 12)


def _nonfinite(v):
    x = X.clone()
    x[1, 2, 5] = v
    return x


ERROR_CASES = [  # (name, x, kwargs, match)
    ("softmaxnorm", X, {}, r"Unknown norm 'softmaxnorm'\. Pick one of layernorm, rmsnorm"),
    ("layernorm", X[0], {}, r"shape \(B, T, d\).*got 2 dimensions.*x\[None\]"),
    ("layernorm", X[None], {}, r"shape \(B, T, d\).*got 4 dimensions"),
    ("layernorm", X.numpy(), {}, r"must be a torch\.Tensor"),
    ("layernorm", torch.ones(2, 3, 4, dtype=torch.int64), {}, r"floating tensor.*int64.*x\.float\(\)"),
    ("layernorm", torch.ones(2, 3, 4, dtype=torch.bool), {}, r"floating tensor"),
    ("layernorm", torch.ones(2, 0, 4), {}, r"empty"),
    ("layernorm", _nonfinite(float("nan")), {}, r"NaN or infinite values at real tokens.*mask=False"),
    ("rmsnorm", _nonfinite(float("inf")), {}, r"NaN or infinite values at real tokens"),
    ("batchnorm", _nonfinite(float("-inf")), {}, r"NaN or infinite values at real tokens"),
    ("groupnorm", X, {"groups": 5}, r"groups=5 does not divide d=12.*divisors of 12: \[1, 2, 3, 4, 6, 12\]"),
    ("groupnorm", X, {"groups": 24}, r"groups=24 does not divide d=12"),
    ("groupnorm", X, {"groups": 0}, r"groups must be a positive integer"),
    ("groupnorm", X, {"groups": 2.0}, r"groups must be a positive integer"),
    ("groupnorm", X, {"groups": True}, r"groups must be a positive integer"),
    (
        "layernorm",
        X,
        {"mask": torch.ones(3, 2, dtype=torch.bool)},
        r"mask must be a bool tensor of shape \(B, T\) = \(2, 3\)",
    ),
    ("layernorm", X, {"mask": torch.ones(2, 3, 1, dtype=torch.bool)}, r"mask must be a bool tensor of shape"),
    ("layernorm", X, {"mask": [[True] * 3] * 2}, r"mask must be a bool tensor of shape"),
    ("layernorm", X, {"mask": torch.ones(2, 3)}, r"mask must be bool.*mask\.bool\(\)"),
    ("layernorm", X, {"mask": torch.ones(2, 3, dtype=torch.int64)}, r"mask must be bool"),
    ("batchnorm", X, {"mask": torch.zeros(2, 3, dtype=torch.bool)}, r"no token as real"),
    ("layernorm", X, {"weight": torch.ones(11)}, r"weight must be a tensor of shape \(d,\) = \(12,\), got \(11,\)"),
    ("layernorm", X, {"weight": torch.ones(1, 12)}, r"weight must be a tensor of shape \(d,\)"),
    ("layernorm", X, {"bias": torch.ones(3)}, r"bias must be a tensor of shape \(d,\) = \(12,\)"),
    ("layernorm", X, {"bias": [0.0] * 12}, r"bias must be a tensor of shape"),
    ("layernorm", X, {"weight": torch.full((12,), float("nan"))}, r"weight has NaN"),
    ("layernorm", X, {"eps": 0.0}, r"eps must be a finite number > 0"),
    ("layernorm", X, {"eps": -1e-5}, r"eps must be a finite number > 0"),
    ("layernorm", X, {"eps": float("nan")}, r"eps must be a finite number > 0"),
    ("layernorm", X, {"eps": float("inf")}, r"eps must be a finite number > 0"),
    ("dyt", X, {"alpha": float("nan")}, r"alpha must be a finite number"),
    ("batchnorm", torch.randn(1, 1, 4), {}, r"at least 2 tokens"),
    ("batchnorm", X, {"mask": torch.tensor([[True, False, False], [False, False, False]])}, r"at least 2 tokens"),
    ("instancenorm", torch.randn(4, 1, 6), {}, r"T >= 2"),
]


@pytest.mark.parametrize(
    ("name", "x", "kwargs", "match"), ERROR_CASES, ids=[f"{c[0]}-{c[3][:30]}" for c in ERROR_CASES]
)
def test_bad_arguments_raise_value_error_saying_the_fix(name, x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        norms.apply(name, x, **kwargs)


def test_nonfinite_values_in_padding_are_allowed():
    x = _nonfinite(float("nan"))
    mask = torch.ones(2, 3, dtype=torch.bool)
    mask[1, 2] = False
    y = norms.apply("layernorm", x, mask=mask)
    assert torch.isfinite(y).all()


def test_instancenorm_with_one_token_is_fine_when_masked():
    x = torch.randn(4, 1, 6)
    y = norms.apply("instancenorm", x, mask=torch.ones(4, 1, dtype=torch.bool))
    assert (y == 0).all()  # each sequence's one token is its own mean


def test_input_is_not_modified():
    x, mask, w, b = padded((3, 6, 8), seed=61, garbage="huge_and_nan")
    before = x.clone()
    for name in norms.NORMS:
        norms.apply(name, x, mask=mask, weight=w, bias=b)
        torch.testing.assert_close(x, before, equal_nan=True)
