"""The coupling Jacobian: exact zero pattern per norm, values against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.experiments import coupling

B, T, D = 3, 4, 6  # N = 12 tokens


def _pattern(name: str, groups: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Expected nonzero pattern (tokens N x N, features d x d inside one token) from the semantics table."""
    seq = np.repeat(np.arange(B), T)
    same_seq = seq[:, None] == seq[None, :]
    eye_n, eye_d = np.eye(B * T, dtype=bool), np.eye(D, dtype=bool)
    group = np.arange(D) // (D // groups)
    tokens = {"instancenorm": same_seq, "batchnorm": np.ones((B * T, B * T), bool)}.get(name, eye_n)
    features = {
        "layernorm": np.ones((D, D), bool),
        "rmsnorm": np.ones((D, D), bool),
        "groupnorm": group[:, None] == group[None, :],
    }.get(name, eye_d)
    return tokens, features


@pytest.mark.parametrize("name", ["layernorm", "rmsnorm", "groupnorm", "instancenorm", "batchnorm", "dyt", "identity"])
@pytest.mark.parametrize("seed", [0, 1])
def test_zero_pattern_is_exactly_the_norms_coupling(name, seed):
    x = torch.randn(B, T, D, generator=torch.Generator().manual_seed(seed))
    c = coupling.jacobian_blocks(name, x, groups=2).numpy()  # groups of 3 (of 2, outputs are ±1: J ~ 0)
    tokens, features = _pattern(name)
    assert (c[~tokens] == 0).all(), f"{name}: nonzero where the norm cannot couple"
    assert (c[tokens] > 1e-4).all(), f"{name}: a zero where the norm must couple"
    J = coupling.full_jacobian(name, x, groups=2).numpy()  # (N, d, N, d)
    inner = np.abs(J[5, :, 5, :])  # token 5's own d x d block
    assert (inner[~features] == 0).all() and (inner[features] > 1e-6).all(), name


def _layernorm_jacobian(x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """d x d Jacobian of LayerNorm for one token, float64 by hand: (I - 11^T/d - y y^T/d) / sqrt(var + eps)."""
    d = x.size
    mu, var = x.mean(), x.var()
    s = np.sqrt(var + eps)
    y = (x - mu) / s
    return (np.eye(d) - np.ones((d, d)) / d - np.outer(y, y) / d) / s


def test_layernorm_blocks_match_the_closed_form():
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    J = coupling.full_jacobian("layernorm", x).numpy()
    flat = x.reshape(6, 5).numpy()
    for j in range(6):
        np.testing.assert_allclose(J[j, :, j, :], _layernorm_jacobian(flat[j]), atol=1e-10)


@pytest.mark.parametrize("name", ["batchnorm", "instancenorm", "groupnorm"])
def test_full_jacobian_matches_torch_autograd_functional(name):
    x = torch.randn(2, 3, 4, dtype=torch.float64)

    def f(v):
        if name == "batchnorm":
            return F.batch_norm(v.reshape(-1, 4), None, None, training=True).reshape(2, 3, 4)
        if name == "instancenorm":
            return F.instance_norm(v.transpose(1, 2)).transpose(1, 2)
        return F.group_norm(v.reshape(6, 4), 2).reshape(2, 3, 4)

    ref = torch.autograd.functional.jacobian(f, x).reshape(6, 4, 6, 4)
    torch.testing.assert_close(coupling.full_jacobian(name, x, groups=2), ref, rtol=1e-9, atol=1e-9)


def test_batchnorm_coupling_shrinks_with_the_batch():
    """Off-diagonal BatchNorm blocks are O(1/(B*T)): the bigger the batch, the weaker each mate's pull."""

    def mean_off(b):
        c = coupling.jacobian_blocks("batchnorm", torch.randn(b, 4, 8, generator=torch.Generator().manual_seed(3)))
        return float(c[~torch.eye(b * 4, dtype=torch.bool)].mean())

    assert mean_off(8) < 0.5 * mean_off(2)


def test_coupling_result_and_probe():
    cp = coupling.coupling("instancenorm", "gaussian", batch=3, tokens=4, dim=8, probe=5)
    assert cp.tokens.shape == (12, 12) and cp.features.shape == (8, 8)
    np.testing.assert_array_equal(np.flatnonzero(cp.coupled), [4, 5, 6, 7])  # the probe's sequence


@pytest.mark.parametrize(
    ("name", "direction", "moving"),
    [
        ("layernorm", "random", {5}),  # only the probe itself
        ("layernorm", "ones", set()),  # LayerNorm removes the mean: not even the probe moves
        ("rmsnorm", "ones", {5}),  # RMSNorm keeps the mean: the probe moves
        ("instancenorm", "random", {4, 5, 6, 7}),  # the probe's sequence
        ("batchnorm", "random", set(range(12))),  # everyone
    ],
)
def test_motion_moves_exactly_the_coupled_tokens(name, direction, moving):
    mo = coupling.motion(name, "gaussian", batch=3, tokens=4, dim=8, probe=5, direction=direction)
    assert set(np.flatnonzero(~mo.still)) == moving
    assert mo.paths.shape == (31, 12, 3)
    assert mo.steps[15] == 0.0


def test_bad_calls_say_how_to_fix_them():
    with pytest.raises(ValueError, match="Keep B·T·d <= 8,192"):
        coupling.coupling("layernorm", "gaussian", batch=8, tokens=16, dim=128)
    with pytest.raises(ValueError, match="probe must be"):
        coupling.coupling("layernorm", "gaussian", batch=2, tokens=2, dim=4, probe=4)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        coupling.coupling("batchnorm", "gaussian", batch=1, tokens=1, dim=4)
    with pytest.raises(ValueError, match="Unknown direction"):
        coupling.motion("layernorm", "gaussian", batch=1, tokens=2, dim=4, direction="up")


def test_colour_scale_log_over_a_decade_linear_from_0_below():
    ln = coupling.coupling("layernorm", "gaussian", batch=4, tokens=8, dim=16)
    nz = ln.tokens[ln.tokens > 0]
    s = coupling.colour_scale(ln.tokens)  # a diagonal within a factor ~2.5: a log scale would exaggerate it
    assert nz.max() / nz.min() < 10 and not s.log
    assert s.zrange == (0.0, float(nz.max())) and s.decades == pytest.approx(np.log10(nz.max() / nz.min()), abs=1e-3)
    bn = coupling.coupling("batchnorm", "gaussian", batch=4, tokens=8, dim=16)
    s = coupling.colour_scale(bn.tokens)
    assert s.log and s.zrange[1] - s.zrange[0] >= 1
    np.testing.assert_allclose(s.zrange, np.log10([bn.tokens.min(), bn.tokens.max()]), atol=1e-3)
    assert coupling.colour_scale(np.array([0.0, 1.0, 9.99])).log is False  # just under a decade
    assert coupling.colour_scale(np.array([0.0, 1.0, 10.0])).log is True
    assert coupling.colour_scale(np.zeros((2, 2))) == coupling.ColourScale(log=False, zrange=(0.0, 1.0), decades=0.0)
    with pytest.raises(ValueError, match=">= 0"):
        coupling.colour_scale(np.array([-1.0, 1.0]))
