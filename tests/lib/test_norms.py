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
import torch.nn.functional as F

from normviz.core import norms

ATOL = RTOL = 1e-4  # float32 computation vs float64 reference, see module docstring
ATOL64 = RTOL64 = 1e-10  # float64 computation vs float64 reference


# --- independent references: numpy float64, written from the definitions ------------------------------


def _affine(y, w, b):
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def ref_layernorm(x, *, eps, w=None, b=None, **_):
    mu = x.mean(axis=-1, keepdims=True)  # (B, T, 1)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)  # biased
    return _affine((x - mu) / np.sqrt(var + eps), w, b)


def ref_rmsnorm(x, *, eps, w=None, b=None, **_):
    return _affine(x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + eps), w, b)


def ref_groupnorm(x, *, eps, groups, w=None, b=None, **_):
    B, T, d = x.shape
    xg = x.reshape(B, T, groups, d // groups)  # (B, T, G, d/G): contiguous blocks of features
    mu = xg.mean(axis=-1, keepdims=True)
    var = ((xg - mu) ** 2).mean(axis=-1, keepdims=True)
    return _affine(((xg - mu) / np.sqrt(var + eps)).reshape(B, T, d), w, b)


def ref_instancenorm(x, *, eps, w=None, b=None, **_):
    mu = x.mean(axis=1, keepdims=True)  # (B, 1, d): over the T tokens of one sequence
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return _affine((x - mu) / np.sqrt(var + eps), w, b)


def ref_batchnorm(x, *, eps, w=None, b=None, **_):
    mu = x.mean(axis=(0, 1), keepdims=True)  # (1, 1, d): over all B*T tokens
    var = ((x - mu) ** 2).mean(axis=(0, 1), keepdims=True)
    return _affine((x - mu) / np.sqrt(var + eps), w, b)


def ref_dyt(x, *, alpha=0.5, w=None, b=None, **_):
    return _affine(np.tanh(alpha * x), w, b)


def ref_identity(x, **_):
    return x.copy()  # "identity: nothing, x" -- no affine either (the page disables gamma/beta for it)


REFS = {
    "layernorm": ref_layernorm,
    "rmsnorm": ref_rmsnorm,
    "groupnorm": ref_groupnorm,
    "instancenorm": ref_instancenorm,
    "batchnorm": ref_batchnorm,
    "dyt": ref_dyt,
    "identity": ref_identity,
}


def ref_masked(name, x, mask, **kw):
    """The reference on real tokens only; padded positions 0. x: (B, T, d) float64, mask: (B, T) bool."""
    y = np.zeros_like(x)
    if name == "instancenorm":  # statistics per sequence, over that sequence's real tokens
        for i in range(x.shape[0]):
            if mask[i].any():
                y[i, mask[i]] = REFS[name](x[i, mask[i]][None], **kw)[0]
    else:  # per-token norms, and batchnorm over all real tokens: the real tokens as one sequence
        y[mask] = REFS[name](x[mask][None], **kw)[0]
    return y


def torch_reference(name, x, *, eps, groups=1, w=None, b=None, alpha=0.5):
    """The same norm spelled with torch's functional ops on the token layout."""
    B, T, d = x.shape
    if name == "layernorm":
        return F.layer_norm(x, (d,), w, b, eps)
    if name == "rmsnorm":
        y = F.rms_norm(x, (d,), w, eps)
        return y if b is None else y + b
    if name == "groupnorm":
        return F.group_norm(x.reshape(B * T, d), groups, w, b, eps).reshape(B, T, d)
    if name == "instancenorm":
        return F.instance_norm(x.transpose(1, 2), weight=w, bias=b, eps=eps).transpose(1, 2)
    if name == "batchnorm":
        return F.batch_norm(x.reshape(B * T, d), None, None, w, b, training=True, eps=eps).reshape(B, T, d)
    if name == "dyt":
        y = torch.tanh(alpha * x)
        y = y if w is None else y * w
        return y if b is None else y + b
    return x


# --- case tables ------------------------------------------------------------------------------------------

SHAPES = [(2, 5, 8), (3, 4, 2), (1, 7, 3), (4, 1, 6), (2, 16, 64)]  # d = 2, d = 3 and T = 1 included
EPSES = [1e-5, 0.1]


def _valid(name, shape):
    _, T, _ = shape
    if name == "instancenorm" and T < 2:
        return False  # needs T >= 2 unmasked (tested in the error table)
    return True


def _cases():
    for name in norms.NORMS:
        for shape in SHAPES:
            if not _valid(name, shape):
                continue
            for eps in EPSES:
                for affine in (False, True):
                    groups = 2 if name == "groupnorm" and shape[2] % 2 == 0 else 1
                    yield pytest.param(name, shape, eps, affine, groups, id=f"{name}-{shape}-eps{eps}-affine{affine}")


def _data(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64) * 1.5 + 0.3
    d = shape[-1]
    w = torch.rand(d, generator=g, dtype=torch.float64) * 2 + 0.25  # gamma in [0.25, 2.25]
    b = torch.randn(d, generator=g, dtype=torch.float64)
    return x.to(dtype), w.to(dtype), b.to(dtype)


def test_registry_lists_every_norm_of_the_contract():
    assert set(norms.NORMS) == {"layernorm", "rmsnorm", "batchnorm", "groupnorm", "instancenorm", "dyt", "identity"}


@pytest.mark.parametrize(("name", "shape", "eps", "affine", "groups"), list(_cases()))
def test_matches_numpy_float64_and_torch_functional(name, shape, eps, affine, groups):
    x, w, b = _data(shape, seed=norms.NORMS.index(name) * 100 + sum(shape))  # fixed, varied seeds
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
    x, w, b = _data((3, 6, 12), seed=3, dtype=torch.float64)
    y = norms.apply(name, x, eps=1e-5, groups=3, weight=w, bias=b)
    assert y.dtype == torch.float64
    ref = REFS[name](x.numpy(), eps=1e-5, groups=3, w=w.numpy(), b=b.numpy())
    np.testing.assert_allclose(y.numpy(), ref, atol=ATOL64, rtol=RTOL64)


@pytest.mark.parametrize("alpha", [0.05, 0.5, 2.0, -1.0])
def test_dyt_alpha(alpha):
    x, w, b = _data((2, 4, 8), seed=11)
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
    x, w, b = _data(shape, seed=5)
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


def _padded(shape, seed, garbage):
    """x with garbage at padded positions; sequences of decreasing length, one of them full."""
    x, w, b = _data(shape, seed)
    B, T, _ = shape
    lengths = [T - (i * T) // (B + 1) for i in range(B)]  # first sequence full, others shorter, all >= 1
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]  # (B, T)
    assert mask.any(dim=1).all() and not mask.all()
    x = x.clone()
    pad = ~mask
    if garbage == "huge_and_nan":
        fill = torch.full_like(x[pad], 1e30)  # (n_pad, d): padded tokens, by row
        fill[::2] = float("nan")
        fill[1::3] = -3e38  # squares overflow float32: any leak into a statistic gives inf or NaN
        x[pad] = fill
    else:  # finite, but large enough to move a mean and a variance: values 50 ... 56
        x[pad] = 50.0 + (torch.arange(x[pad].numel(), dtype=x.dtype) % 7).reshape(x[pad].shape)
    return x, mask, w, b


@pytest.mark.parametrize("name", MASK_NORMS)
@pytest.mark.parametrize("shape", MASK_SHAPES)
@pytest.mark.parametrize("affine", [False, True])
def test_mask_ignores_garbage_and_zeros_padding(name, shape, affine):
    x, mask, w, b = _padded(shape, seed=21, garbage="huge_and_nan")
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
    x, mask, _, _ = _padded((3, 6, 8), seed=22, garbage="finite")
    ref = ref_masked(name, x.double().numpy(), mask.numpy(), eps=1e-5)
    masked = norms.apply(name, x, mask=mask)
    unmasked = norms.apply(name, x)  # the padding takes part in the statistics
    np.testing.assert_allclose(masked.double().numpy(), ref, atol=ATOL, rtol=RTOL)
    diff = (unmasked[mask] - masked[mask]).abs().max()
    assert diff > 0.5, f"padding should have changed real tokens' outputs, max change {float(diff)}"


@pytest.mark.parametrize("name", ["layernorm", "rmsnorm", "groupnorm", "dyt", "identity"])
def test_per_token_norms_are_unaffected_by_padding_even_unmasked(name):
    x, mask, _, _ = _padded((3, 6, 8), seed=23, garbage="finite")
    torch.testing.assert_close(norms.apply(name, x)[mask], norms.apply(name, x, mask=mask)[mask])


def test_instancenorm_mask_with_one_real_token_in_a_sequence():
    x, _, b = _data((2, 4, 5), seed=24)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    y = norms.apply("instancenorm", x, mask=mask, bias=b)
    # one real token: it is its own mean, variance 0, so the output is the bias (eps keeps it finite)
    torch.testing.assert_close(y[1, 0], b, atol=ATOL, rtol=RTOL)
    assert (y[1, 1:] == 0).all()


# --- scale, offset, constant tokens -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["layernorm", "rmsnorm", "groupnorm", "instancenorm", "batchnorm", "dyt"])
def test_large_scale_and_offset_still_match_float64(name):
    x, _, _ = _data((3, 8, 16), seed=31)
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


# --- invariants -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [2, 3, 8, 64])
@pytest.mark.parametrize("eps", [1e-5, 0.5])
def test_layernorm_sphere_in_hyperplane(d, eps):
    x, _, _ = _data((4, 16, d), seed=41)
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
    x, _, _ = _data((4, 16, d), seed=42)
    y = norms.apply("rmsnorm", x, eps=1e-8).double()
    torch.testing.assert_close(
        y.norm(dim=-1), torch.full((4, 16), math.sqrt(d), dtype=torch.float64), atol=1e-5, rtol=1e-5
    )
    # no centering: the mean component is kept (x has a +0.3 offset, so it is not ~0)
    assert y.mean(dim=-1).abs().max() > 0.1


@pytest.mark.parametrize(("d", "groups"), [(8, 2), (12, 3), (12, 4), (64, 8)])
def test_groupnorm_product_of_spheres(d, groups):
    x, _, _ = _data((3, 10, d), seed=43)
    y = norms.apply("groupnorm", x, groups=groups, eps=1e-8).double().reshape(3, 10, groups, d // groups)
    torch.testing.assert_close(y.mean(dim=-1), torch.zeros(3, 10, groups, dtype=torch.float64), atol=1e-5, rtol=0)
    expected = torch.full((3, 10, groups), math.sqrt(d / groups), dtype=torch.float64)
    torch.testing.assert_close(y.norm(dim=-1), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("d", [2, 3, 12])
def test_groupnorm_one_group_is_layernorm(d):
    x, w, b = _data((2, 5, d), seed=44)
    torch.testing.assert_close(
        norms.apply("groupnorm", x, groups=1, weight=w, bias=b),
        norms.apply("layernorm", x, weight=w, bias=b),
        atol=1e-5,
        rtol=1e-5,
    )


@pytest.mark.parametrize("d", [2, 3, 12])
def test_groupnorm_d_groups_sends_everything_to_zero(d):
    x, _, b = _data((2, 5, d), seed=45)
    assert (norms.apply("groupnorm", x, groups=d) == 0).all()  # each value is its own group's mean
    # with a bias torch fuses the affine into x * rstd + (beta - mean * rstd), rstd = 1/sqrt(eps) ~ 316: the two
    # products no longer cancel bit for bit, leaving float32 rounding of values ~316 |x| (ulp ~3e-5)
    torch.testing.assert_close(norms.apply("groupnorm", x, groups=d, bias=b), b.expand(2, 5, d), atol=3e-4, rtol=0)


def test_instancenorm_couples_tokens_not_features():
    x, _, _ = _data((2, 6, 4), seed=46)
    y = norms.apply("instancenorm", x)
    x2 = x.clone()
    x2[0, 0] += 10.0  # change one token of sequence 0
    y2 = norms.apply("instancenorm", x2)
    assert (y2[0, 1:] - y[0, 1:]).abs().max() > 0.1  # the other tokens of that sequence move
    torch.testing.assert_close(y2[1], y[1])  # the other sequence does not


def test_batchnorm_couples_every_token_in_the_batch():
    x, _, _ = _data((2, 6, 4), seed=47)
    x2 = x.clone()
    x2[0, 0] += 10.0
    assert (norms.apply("batchnorm", x2)[1] - norms.apply("batchnorm", x)[1]).abs().max() > 0.1


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", norms.NORMS)
def test_half_precision_returns_input_dtype(name, dtype):
    x, w, b = _data((2, 6, 8), seed=51)
    y = norms.apply(name, x.to(dtype), groups=2, weight=w.to(dtype), bias=b.to(dtype))
    assert y.dtype == dtype
    ref = REFS[name](
        x.to(dtype).double().numpy(), eps=1e-5, groups=2, w=w.to(dtype).double().numpy(), b=b.to(dtype).double().numpy()
    )
    # stats in float32, one rounding to the output dtype: bfloat16 has 8 bits of mantissa (rel. 2**-8 = 0.4%)
    tol = 1e-2 if dtype == torch.bfloat16 else 2e-3
    np.testing.assert_allclose(y.double().numpy(), ref, atol=tol, rtol=tol)


def test_masked_half_precision():
    x, mask, _, _ = _padded((3, 6, 8), seed=52, garbage="finite")
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
    x, mask, w, b = _padded((3, 6, 8), seed=61, garbage="huge_and_nan")
    before = x.clone()
    for name in norms.NORMS:
        norms.apply(name, x, mask=mask, weight=w, bias=b)
        torch.testing.assert_close(x, before, equal_nan=True)
