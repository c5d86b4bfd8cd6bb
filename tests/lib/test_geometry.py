"""geometry: exact measurements checked against numpy float64, and histograms checked by counting by hand."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from normviz.core import geometry


def _x(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=torch.float64) * 3 + 1).to(dtype)


# --- real tokens, radii, mean component ----------------------------------------------------------------


def test_real_tokens_without_mask_is_every_token_in_order():
    x = _x(2, 3, 4)
    np.testing.assert_array_equal(geometry.real_tokens(x).numpy(), x.numpy().reshape(6, 4))


def test_real_tokens_with_mask_keeps_only_real_ones():
    x = _x(2, 3, 4)
    mask = torch.tensor([[True, False, True], [False, False, True]])
    expected = np.stack([x[0, 0].numpy(), x[0, 2].numpy(), x[1, 2].numpy()])
    np.testing.assert_array_equal(geometry.real_tokens(x, mask).numpy(), expected)


def test_real_tokens_wrong_rank():
    with pytest.raises(ValueError, match=r"shape \(B, T, d\)"):
        geometry.real_tokens(_x(6, 4))


@pytest.mark.parametrize("shape", [(1, 1), (10, 2), (7, 3), (50, 64), (20, 1024)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_radii_and_mean_component_match_numpy(shape, dtype):
    x = _x(*shape, seed=1, dtype=dtype)
    a = x.double().numpy()  # the values the function sees, in float64
    r = geometry.radii(x)
    m = geometry.mean_component(x)
    assert r.shape == m.shape == (shape[0],)
    # computed in at least float32: a relative error of a few float32 ulps (1.2e-7) accumulated over d
    # features; the mean has an absolute error relative to the features' size (|x| ~ 3 here)
    assert r.dtype in (torch.float32, torch.float64) and m.dtype in (torch.float32, torch.float64)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(r.double().numpy(), np.sqrt((a**2).sum(axis=1)), rtol=tol)
    np.testing.assert_allclose(m.double().numpy(), a.sum(axis=1) / shape[1], rtol=tol, atol=tol * 10)


def test_radii_of_large_and_tiny_tokens():
    # float32 lengths from 1e-15 to 1e15: squares stay inside float32's range (1e-38 .. 3e38)
    x = torch.tensor([[3e15, 4e15], [3e-15, 4e-15], [0.0, 0.0]], dtype=torch.float32)
    np.testing.assert_allclose(geometry.radii(x).double().numpy(), [5e15, 5e-15, 0.0], rtol=1e-6)


def test_mean_component_is_coordinate_along_ones_over_sqrt_d():
    x = _x(20, 9, seed=2)
    ones = np.ones(9) / 3.0  # unit all-ones direction, sqrt(9) = 3
    np.testing.assert_allclose(geometry.mean_component(x).double().numpy() * 3.0, x.double().numpy() @ ones, rtol=1e-6)


@pytest.mark.parametrize(("d", "groups"), [(12, 1), (12, 3), (12, 4), (12, 12), (2, 2), (64, 8)])
def test_group_stats_match_numpy(d, groups):
    x = _x(15, d, seed=3)
    mean, radius = geometry.group_stats(x, groups)
    assert mean.shape == radius.shape == (15, groups) and mean.dtype == torch.float64
    a = x.double().numpy()
    size = d // groups
    for g in range(groups):  # group g is the contiguous block of features g*size ... (g+1)*size - 1
        block = a[:, g * size : (g + 1) * size]
        np.testing.assert_allclose(mean[:, g].numpy(), block.mean(axis=1), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(radius[:, g].numpy(), np.linalg.norm(block, axis=1), rtol=1e-12)


@pytest.mark.parametrize("groups", [0, -1, 5, 24])
def test_group_stats_bad_groups(groups):
    with pytest.raises(ValueError, match=r"positive divisor of d=12"):
        geometry.group_stats(_x(3, 12), groups)


# --- histograms ---------------------------------------------------------------------------------------------


def _count_by_hand(v, edges):
    """counts[i] = #values in [edges[i], edges[i+1]), the last bin closed."""
    counts = [int(((v >= lo) & (v < hi)).sum()) for lo, hi in itertools.pairwise(edges)]
    counts[-1] += int((v == edges[-1]).sum())
    return np.array(counts)


DATA_CASES = [  # (name, values)
    ("gaussian", _x(1000, seed=4)),
    ("positive radii", _x(500, seed=5).abs() + 8.0),
    ("two values", torch.tensor([0.0, 1.0] * 50)),
    ("one value", torch.tensor([2.5])),
    ("wide", torch.tensor([-1e6, 0.0, 3.0, 1e6])),
    ("2-D input is flattened", _x(30, 4, seed=6)),
]


@pytest.mark.parametrize("bins", [1, 7, 60])
@pytest.mark.parametrize(("name", "values"), DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_histogram_counts_every_value_once(name, values, bins):
    h = geometry.histogram(values, bins=bins)
    v = values.double().numpy().ravel()
    assert h.counts.shape == (bins,) and h.edges.shape == (bins + 1,)
    assert h.counts.sum() == v.size
    assert h.edges[0] <= v.min() and h.edges[-1] >= v.max()  # the range covers the data
    assert np.all(np.diff(h.edges) > 0)
    np.testing.assert_array_equal(h.counts, _count_by_hand(v, h.edges))
    assert h.minimum == v.min() and h.maximum == v.max()
    np.testing.assert_allclose(h.mean, v.mean(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h.centers, (h.edges[:-1] + h.edges[1:]) / 2)


def test_histogram_range_includes_marks():
    v = _x(100, seed=7).abs() + 5.0  # all in [5, ~15]
    h = geometry.histogram(v, include=(0.0, 40.0))
    assert h.edges[0] <= 0.0 and h.edges[-1] >= 40.0
    assert h.counts.sum() == 100
    assert h.minimum == float(v.double().min())  # the marks widen the range, not the data's min/max


@pytest.mark.parametrize("value", [2.8284271247461903, 0.0, -5.0, 1e6, 1e-9])
@pytest.mark.parametrize("include", [(), "value"])
def test_histogram_spike_is_one_bar_at_the_value(value, include):
    v = torch.full((1000,), value, dtype=torch.float64)
    h = geometry.histogram(v, include=(value,) if include == "value" else ())
    nonempty = np.flatnonzero(h.counts)
    assert len(nonempty) == 1
    i = nonempty[0]
    assert h.counts[i] == 1000
    assert h.edges[i] <= value <= h.edges[i + 1]
    assert h.edges[-1] - h.edges[0] > 0  # a real window, not a zero-width range
    # the window is narrow around the spike: +-1% of its size (at least +-0.01)
    assert h.edges[-1] - h.edges[0] <= 2 * max(0.01 * abs(value), 0.01) * (1 + 1e-9)


def test_histogram_float32_radii_spike():
    # radii of LayerNorm outputs at sqrt(8), equal up to float32 rounding: still one bar at sqrt(8)
    noise = 1e-7 * torch.randn(500, generator=torch.Generator().manual_seed(0))
    v = torch.full((500,), 8**0.5, dtype=torch.float32) * (1 + noise)
    h = geometry.histogram(v, include=(8**0.5,))
    nonempty = np.flatnonzero(h.counts)
    assert h.counts.sum() == 500
    assert h.edges[nonempty.min()] <= 8**0.5 <= h.edges[nonempty.max() + 1]
    assert h.edges[-1] - h.edges[0] < 0.1


def test_histogram_empty_raises():
    with pytest.raises(ValueError, match="at least one value"):
        geometry.histogram(torch.tensor([]))


def test_histogram_is_frozen():
    h = geometry.histogram(torch.tensor([1.0, 2.0]))
    with pytest.raises(AttributeError):
        h.mean = 0.0
