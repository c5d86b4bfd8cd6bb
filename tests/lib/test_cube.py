"""The statistics cube against the maths: the highlighted cells are exactly the outputs a cell's value moves.

The reference perturbs one cell of a random float64 input and runs torch's functional ops directly
(not normviz.norms), so a wrong table in normviz.cube cannot agree with it by construction.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.experiments import cube


def _reference(name: str, x: torch.Tensor, groups: int) -> torch.Tensor:
    B, T, d = x.shape
    if name == "layernorm":
        return F.layer_norm(x, (d,))
    if name == "rmsnorm":
        return F.rms_norm(x, (d,), eps=1e-5)
    if name == "groupnorm":
        return F.group_norm(x.reshape(B * T, d), groups).reshape(B, T, d)
    if name == "instancenorm":
        return F.instance_norm(x.transpose(1, 2)).transpose(1, 2)
    if name == "batchnorm":
        return F.batch_norm(x.reshape(-1, d), None, None, training=True).reshape(B, T, d)
    return torch.tanh(0.5 * x)  # dyt


def _moved_by(name, shape, cell, groups) -> np.ndarray:
    g = torch.Generator().manual_seed(sum(shape) * 100 + sum(cell))
    x = torch.randn(shape, generator=g, dtype=torch.float64)
    x2 = x.clone()
    x2[cell] += 0.5
    return ((_reference(name, x2, groups) - _reference(name, x, groups)).abs() > 1e-10).numpy()


SHAPES = [((3, 4, 6), 3), ((2, 5, 8), 2), ((4, 2, 12), 4)]  # (B, T, d), G with groups of >= 2 features


@pytest.mark.parametrize("name", cube.CUBE_NORMS)
@pytest.mark.parametrize(("shape", "groups"), SHAPES)
def test_highlighted_cells_are_exactly_the_outputs_the_cell_moves(name, shape, groups):
    for cell in [(0, 0, 0), tuple(n - 1 for n in shape), (shape[0] // 2, shape[1] // 2, shape[2] // 2 + 1)]:
        shared = cube.shared_cells(name, shape, cell, groups=groups)
        np.testing.assert_array_equal(shared, _moved_by(name, shape, cell, groups), err_msg=f"{name} {cell}")
        assert shared[cell], "the chosen cell always belongs to its own set"


@pytest.mark.parametrize(
    ("name", "count"),
    [("layernorm", 6), ("rmsnorm", 6), ("groupnorm", 2), ("instancenorm", 4), ("batchnorm", 12), ("dyt", 1)],
)
def test_set_sizes_follow_the_semantics_table(name, count):
    shape = (3, 4, 6)  # B, T, d; G = 3 -> groups of 2
    sizes = {int(cube.shared_cells(name, shape, c, groups=3).sum()) for c in itertools.product(*map(range, shape))}
    assert sizes == {count}


def test_changed_cells_matches_the_table_and_the_degenerate_groups_move_nothing():
    shape = (2, 3, 4)
    for name in cube.CUBE_NORMS:
        np.testing.assert_array_equal(
            cube.changed_cells(name, shape, (1, 2, 3), groups=2), cube.shared_cells(name, shape, (1, 2, 3), groups=2)
        )
    # G = d: each value is its own group mean, every output is 0 whatever the input
    assert not cube.changed_cells("groupnorm", shape, (0, 0, 0), groups=4).any()
    assert cube.shared_cells("groupnorm", shape, (0, 0, 0), groups=4).sum() == 1


def test_describe_says_the_set_in_words_with_its_size():
    shape = (3, 4, 6)
    assert "feature 2 over the T = 4 tokens of sequence 3" in cube.describe("instancenorm", shape, (2, 0, 1))
    assert "B·T = 3·4 = 12 cells" in cube.describe("batchnorm", shape, (0, 0, 5))
    assert "features 3–4" in cube.describe("groupnorm", shape, (0, 0, 2), groups=3)
    assert "no mean" in cube.describe("rmsnorm", shape, (0, 0, 0))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("batchnorm", (2, 3, 4), (2, 0, 0)), {}, "cell must be"),
        (("groupnorm", (2, 3, 6), (0, 0, 0)), {"groups": 4}, r"divisors of 6: \[1, 2, 3, 6\]"),
        (("layernorm", (2, 3, 99), (0, 0, 0)), {}, "keep"),
        (("softmax", (2, 3, 4), (0, 0, 0)), {}, "Unknown norm"),
        (("layernorm", (2, 0, 4), (0, 0, 0)), {}, "positive integers"),
    ],
)
def test_bad_calls_say_how_to_fix_them(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cube.shared_cells(*args, **kwargs)


def test_wu_and_he_layout_against_the_token_layout():
    """The cube page's mapping: on Wu & He's (N, C, H·W) = (B, d, T), GroupNorm with G = C is InstanceNorm (feature j
    over the T tokens); on the token layout (each token a sample) G = d sends every value to 0."""
    B, T, d = 3, 6, 8
    x = torch.randn(B, T, d, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    wu_he = F.group_norm(x.transpose(1, 2), num_groups=d, eps=1e-5).transpose(1, 2)  # (B, d, T): G = C
    torch.testing.assert_close(wu_he, _reference("instancenorm", x, 1))
    token_layout = F.group_norm(x.reshape(B * T, d), num_groups=d, eps=1e-5)  # (B·T, d): tokens as samples
    assert token_layout.abs().max() == 0
    for cell in itertools.product(range(B), range(T), range(d)):
        assert cube.shared_cells("groupnorm", (B, T, d), cell, groups=d).sum() == 1  # a group of one value
