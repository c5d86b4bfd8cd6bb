"""Train/eval mode and padding on a pool of real sequences, against numpy float64 references that pad the
batches themselves and run BatchNorm's running-statistics update by hand.

A small made-up pool of variable-length sequences keeps this fast (no model): the functions see a TokenPool,
whatever made it; the Batch page's test runs them on MiniLM's tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from normviz.experiments import batch_real, batch_real_modes
from normviz.io import patches
from normviz.io.token_pool import TokenPool

EPS = 1e-5


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(3)
    lengths = rng.integers(3, 12, size=48)  # (S,)
    x = rng.standard_normal((int(lengths.sum()), 6)) * [1, 2, 3, 1, 1, 5] + [0, 1, -2, 4, 0, 10]  # (N, d)
    return TokenPool(torch.tensor(x, dtype=torch.float32), lengths.astype(np.int64), "made up")


def _padded(pool, index):
    """numpy float64: the batch padded to its longest with zeros, and its mask."""
    seqs = [pool.sequence(int(s)).double().numpy() for s in index]
    T = max(len(q) for q in seqs)
    x = np.zeros((len(seqs), T, pool.dim))
    mask = np.zeros((len(seqs), T), dtype=bool)
    for b, q in enumerate(seqs):
        x[b, : len(q)], mask[b, : len(q)] = q, True
    return x, mask


def _reference_gap(pool, B, i, *, steps, momentum, masked, probe=(0, 1), seed=0):
    """‖train − eval‖ computed in numpy float64: torch's update with the unbiased batch variance."""
    s, t = probe
    rm, rv = np.zeros(pool.dim), np.ones(pool.dim)
    index = batch_real.draw_batches(pool.n_sequences, B, steps, seed=seed + i, exclude=s)
    for k, row in enumerate(index):
        x, mask = _padded(pool, row)
        flat = x[mask] if masked else x.reshape(-1, pool.dim)
        mu, var = flat.mean(0), flat.var(0, ddof=1)
        m = 1.0 / (k + 1) if momentum is None else momentum
        rm, rv = (1 - m) * rm + m * mu, (1 - m) * rv + m * var
    fresh = [s, *batch_real.draw_batches(pool.n_sequences, B - 1, 1, seed=seed + 1000 + i, exclude=s)[0]]
    x, mask = _padded(pool, fresh)
    flat = x[mask] if masked else x.reshape(-1, pool.dim)
    p = flat[t]
    train = (p - flat.mean(0)) / np.sqrt(flat.var(0) + EPS)
    evals = (p - rm) / np.sqrt(rv + EPS)
    return np.linalg.norm(train - evals)


@pytest.mark.parametrize(("momentum", "masked"), [(0.1, True), (0.1, False), (None, True)])
def test_train_eval_gap_is_the_float64_reference(pool, momentum, masked):
    sw = batch_real_modes.train_eval(pool, batch_sizes=[2, 3, 6], steps=12, momentum=momentum, masked=masked)
    np.testing.assert_array_equal(sw.batch_sizes, [2, 3, 6])
    want = [_reference_gap(pool, B, i, steps=12, momentum=momentum, masked=masked) for i, B in enumerate([2, 3, 6])]
    np.testing.assert_allclose(sw.series["BatchNorm: ‖train − eval‖"], want, rtol=1e-4)


def test_loose_batch_renorm_clips_give_the_eval_output(pool):
    sw = batch_real_modes.train_eval(pool, batch_sizes=[2, 4], steps=10, r_max=1e6, d_max=1e6)
    np.testing.assert_allclose(sw.series["Batch Renorm: ‖train − eval‖"], 0.0, atol=1e-3)
    tight = batch_real_modes.train_eval(pool, batch_sizes=[2, 4], steps=10, r_max=1.0, d_max=0.0)
    np.testing.assert_allclose(
        tight.series["Batch Renorm: ‖train − eval‖"], tight.series["BatchNorm: ‖train − eval‖"], rtol=1e-5
    )


def test_the_training_batches_hold_distinct_sequences_and_never_the_probes(pool):
    idx = batch_real_modes.training_batches(pool, 5, 30, exclude=0)
    assert idx.shape == (30, 5) and (idx != 0).all()
    assert all(len(set(r)) == 5 for r in idx)


def test_padding_shift_is_the_float64_reference(pool):
    sizes, K = [2, 4, 6], 15
    ps = batch_real_modes.padding_shift(pool, batch_sizes=sizes, batches=K)
    for i, B in enumerate(sizes):
        shares, shifts = [], []
        for row in batch_real.draw_batches(pool.n_sequences, B, K, seed=i):
            x, mask = _padded(pool, row)
            counted = x.reshape(-1, pool.dim).mean(0)  # every position, pads (0) included
            real = x[mask]
            masked, sd = real.mean(0), real.std(0)
            share = 1 - mask.mean()
            np.testing.assert_allclose(counted - masked, share * (0.0 - masked), atol=1e-9)  # the identity
            shares.append(share)
            shifts.append(np.sqrt((((counted - masked) / sd) ** 2).mean()))
        assert ps.share[i] == pytest.approx(np.mean(shares), rel=1e-9)
        assert ps.shift[i] == pytest.approx(np.mean(shifts), rel=1e-6)
        assert ps.shift_low[i] <= ps.shift[i] <= ps.shift_high[i]
    assert ps.share[0] < ps.share[-1]  # a batch padded to its longest holds more pads as B grows


def test_images_have_no_padding():
    ps = batch_real_modes.padding_shift(patches.image_pool("digits"), batch_sizes=[2, 8], batches=10)
    np.testing.assert_array_equal(ps.share, 0.0)
    np.testing.assert_array_equal(ps.shift, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"momentum": 2.0}, "momentum must be in"),
        ({"probe": (0, 99)}, "is not a token of this pool"),
        ({"batch_sizes": [64]}, "over S/8"),
    ],
)
def test_bad_train_eval_calls_say_how_to_fix_them(pool, kwargs, match):
    with pytest.raises(ValueError, match=match):
        batch_real_modes.train_eval(pool, **{"batch_sizes": [2], "steps": 5, **kwargs})
