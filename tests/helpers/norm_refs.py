"""Independent references for the norms (numpy float64 from the definitions, torch's functional ops), test data."""

from __future__ import annotations

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


def valid(name, shape):
    _, T, _ = shape
    if name == "instancenorm" and T < 2:
        return False  # needs T >= 2 unmasked (tested in the error table)
    return True


def cases():
    for name in norms.NORMS:
        for shape in SHAPES:
            if not valid(name, shape):
                continue
            for eps in EPSES:
                for affine in (False, True):
                    groups = 2 if name == "groupnorm" and shape[2] % 2 == 0 else 1
                    yield pytest.param(name, shape, eps, affine, groups, id=f"{name}-{shape}-eps{eps}-affine{affine}")


def data(shape, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64) * 1.5 + 0.3
    d = shape[-1]
    w = torch.rand(d, generator=g, dtype=torch.float64) * 2 + 0.25  # gamma in [0.25, 2.25]
    b = torch.randn(d, generator=g, dtype=torch.float64)
    return x.to(dtype), w.to(dtype), b.to(dtype)


def padded(shape, seed, garbage):
    """x with garbage at padded positions; sequences of decreasing length, one of them full."""
    x, w, b = data(shape, seed)
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
