"""The Batch page on real tokens: batches of B distinct sequences from a :class:`~normviz.io.token_pool.TokenPool`.

How the K batches are drawn (:func:`draw_batches`): the sequences are shuffled (one permutation per seed), cut
into consecutive groups of B, and shuffled again when one permutation runs out. So a batch never holds one
sequence twice, the batches of one permutation are disjoint, and a sequence is used at most ⌈K·B/S⌉ times over
the K batches. Two batches from different permutations share B²/S sequences on average; :func:`overlap` gives the
exact mean over all pairs, which the page states (shared sequences make batches alike and bias the spread low).

A batch's statistics come from per-sequence sums (float64, centred at the pool's mean for accuracy): ``masked``
statistics take its real tokens only; unmasked ones also count every pad position of the batch padded to its
longest sequence, holding ``pad_value`` (0), as a BatchNorm fed the padded tensor without a mask does.
The population is the whole pool's real tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from normviz.core import fits, projection
from normviz.core.checks import check_batch_sizes, is_int
from normviz.experiments.batch import Clouds, Sweep, _cloud, _cube_ranges, _sweep
from normviz.io.token_pool import TokenPool

__all__ = [
    "Moments",
    "PoolStats",
    "batch_moments",
    "draw_batches",
    "fit_block",
    "max_batch",
    "overlap",
    "pool_stats",
    "probe_clouds",
    "sequence_sums",
]

EPS = 1e-5


def max_batch(pool: TokenPool) -> int:
    """The largest batch size a pool supports: S/8 sequences (so that K batches do not mostly repeat)."""
    return pool.n_sequences // 8


def _check_b(pool: TokenPool, B: int, batches: int) -> None:
    if not is_int(B) or B < 2:
        raise ValueError(f"A batch needs at least 2 sequences to compare them, got B = {B!r}.")
    if B > max_batch(pool):
        raise ValueError(
            f"B = {B} is over S/8 = {max_batch(pool)} for this pool of {pool.n_sequences} sequences: with larger B "
            "the batches would share most of their sequences. Pick a smaller B or a larger pool."
        )
    if not is_int(batches) or batches < 2:
        raise ValueError(f"batches must be an integer >= 2 to compare batches with each other, got {batches!r}.")


def draw_batches(n: int, batch: int, batches: int, *, seed: int = 0, exclude: int | None = None) -> np.ndarray:
    """``(K, B)`` int64 sequence indices: consecutive groups of B of successive random permutations of 0 … n−1
    (leaving out ``exclude``, the probe's sequence). Rows hold distinct indices; rows of one permutation are disjoint.

    >>> idx = draw_batches(10, 3, 4, seed=0); idx.shape, all(len(set(r)) == 3 for r in idx)
    ((4, 3), True)
    """
    ids = np.array([i for i in range(n) if i != exclude], dtype=np.int64)
    if batch < 1 or batch > ids.size:
        raise ValueError(f"batch must be between 1 and {ids.size} (the sequences to draw from), got {batch}.")
    rng = np.random.default_rng(seed)
    per = ids.size // batch  # full groups per permutation
    rows: list[np.ndarray] = []
    while len(rows) < batches:
        perm = rng.permutation(ids)
        rows.extend(perm[i * batch : (i + 1) * batch] for i in range(per))
    return np.stack(rows[:batches])


def overlap(index: np.ndarray) -> float:
    """Mean number of sequences two different batches of ``index: (K, B)`` share, over all K(K−1)/2 pairs:
    Σ_s C(c_s, 2) / C(K, 2), where c_s counts the batches holding sequence s.

    >>> overlap(np.array([[0, 1], [2, 3], [0, 2]]))
    0.6666666666666666
    """
    K = index.shape[0]
    counts = np.bincount(index.ravel())
    return float((counts * (counts - 1) / 2).sum() / (K * (K - 1) / 2))


@dataclass(frozen=True)
class Moments:
    """Per-sequence float64 sums of ``c = x − center``: ``s1[s] = Σ_t c``, ``s2[s] = Σ_t c²`` (each ``(S, d)``)."""

    s1: torch.Tensor
    s2: torch.Tensor
    lengths: torch.Tensor  # (S,) int64
    center: torch.Tensor  # (d,) float64: the pool's mean over real tokens
    var: torch.Tensor  # (d,) float64: the pool's (population) variance over real tokens


def sequence_sums(pool: TokenPool) -> Moments:
    """:class:`Moments` of every sequence of ``pool`` (one pass over its tokens, float64)."""
    x = pool.x.double()  # (N, d)
    center = x.mean(0)  # (d,)
    c = x - center  # (N, d)
    seq = torch.repeat_interleave(torch.arange(pool.n_sequences), torch.as_tensor(pool.lengths))  # (N,)
    s1 = torch.zeros(pool.n_sequences, pool.dim, dtype=torch.float64).index_add_(0, seq, c)  # (S, d)
    s2 = torch.zeros_like(s1).index_add_(0, seq, c.square())  # (S, d)
    return Moments(s1, s2, torch.as_tensor(pool.lengths), center, c.square().mean(0))


def batch_moments(
    m: Moments, index: np.ndarray, *, masked: bool = True, pad_value: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and biased variance of each batch ``index: (K, B)``, ``(K, d)`` float64 each.

    Masked: over the batch's real tokens. Unmasked: also over its ``B·T − n_real`` pad positions, T the longest
    sequence of the batch, each holding ``pad_value``.
    """
    idx = torch.as_tensor(index)
    s1, s2 = m.s1[idx].sum(1), m.s2[idx].sum(1)  # (K, d) each
    lens = m.lengths[idx]  # (K, B)
    n_real = lens.sum(1).double()[:, None]  # (K, 1)
    n = n_real
    if not masked:
        n = (lens.amax(1) * idx.shape[1]).double()[:, None]  # (K, 1) B·T positions
        v = pad_value - m.center  # (d,) a pad, centred
        s1 = s1 + (n - n_real) * v
        s2 = s2 + (n - n_real) * v.square()
    mc = s1 / n  # (K, d) batch mean − center
    var = (s2 / n - mc.square()).clamp_min(0.0)
    return m.center + mc, var


def probe_clouds(
    pool: TokenPool,
    *,
    batch_sizes: Sequence[int],
    batches: int,
    masked: bool = True,
    probe: tuple[int, int] = (0, 1),
    seed: int = 0,
) -> tuple[Clouds, np.ndarray]:
    """One real token's BatchNorm outputs in ``batches`` batches of B sequences, for each B, as :class:`Clouds`
    (one basis, one cube); and the mean overlap of each B's batches, ``(len(batch_sizes),)``.

    ``probe = (s, t)``: token t of sequence s. Each batch is that sequence plus B − 1 others drawn by
    :func:`draw_batches` (``exclude=s``); y_k = (x_p − μ_k) / √(σ²_k + ε), the batch statistics of the whole batch.
    """
    sizes = check_batch_sizes(batch_sizes)
    for B in sizes:
        _check_b(pool, B, batches)
    s, t = probe
    if not (is_int(s) and 0 <= s < pool.n_sequences and is_int(t) and 0 <= t < int(pool.lengths[s])):
        raise ValueError(f"probe {probe!r} is not a token of this pool: (sequence, token) with token < its length.")
    p = pool.sequence(s)[t].double()  # (d,)
    ln = torch.nn.functional.layer_norm(p, (pool.dim,), eps=EPS)  # (d,)
    m = sequence_sums(pool)
    ys, overlaps = {}, []
    for i, B in enumerate(sizes):
        others = draw_batches(pool.n_sequences, B - 1, batches, seed=seed + i, exclude=s)  # (K, B-1)
        index = np.concatenate([np.full((batches, 1), s), others], axis=1)  # (K, B)
        mean, var = batch_moments(m, index, masked=masked)  # (K, d)
        ys[B] = (p - mean) / (var + EPS).sqrt()  # (K, d)
        overlaps.append(overlap(others))
    smallest = min(sizes)
    basis = projection.fit_basis(ys[smallest].float(), "pca")
    first = {B: _cloud(y, ln, basis) for B, y in ys.items()}
    ranges = _cube_ranges([q for c in first.values() for q in (c.points, c.layernorm)])
    by_batch = {B: _cloud(y, ln, basis, ranges) for B, y in ys.items()}
    spread = np.array([by_batch[B].rms_spread for B in sizes])
    return Clouds(by_batch, smallest, _sweep(sizes, {"BatchNorm: probe's spread": spread})), np.asarray(overlaps)


@dataclass(frozen=True)
class PoolStats:
    """How far batch statistics lie from the pool's (population) statistics, for each B.

    ``mean_error = RMS_{k,j} (μ_kj − μ_j)/σ_j``; ``var_error = RMS_{k,j} (σ²_kj − σ²_j)/σ²_j``; ``var_median`` the
    median of |σ²_kj − σ²_j|/σ²_j. ``dist_mean = mean_k ‖μ_k − μ‖/d`` and ``dist_var = mean_k ‖σ²_k − σ²‖/d``:
    the measure of Shen et al. (2020, Fig. 2), in the tokens' own units. Features whose pool variance is under
    1e-12 of the largest (constant pixels) have no scale and are left out of the relative errors.
    """

    batch_sizes: np.ndarray  # (S,) float64
    mean_error: np.ndarray  # (S,)
    var_error: np.ndarray
    var_median: np.ndarray
    dist_mean: np.ndarray
    dist_var: np.ndarray
    overlap: np.ndarray  # (S,) mean sequences shared by two batches
    features_used: int
    var_slope: float  # log-log slope of var_error against B


def pool_stats(
    pool: TokenPool, *, batch_sizes: Sequence[int], batches: int, masked: bool = True, seed: int = 0
) -> PoolStats:
    """:class:`PoolStats` of ``batches`` batches drawn by :func:`draw_batches` at every B."""
    sizes = check_batch_sizes(batch_sizes)
    for B in sizes:
        _check_b(pool, B, batches)
    m = sequence_sums(pool)
    mu, var = m.center, m.var  # (d,) each
    used = var > 1e-12 * float(var.max())  # (d,)
    rows = []
    for i, B in enumerate(sizes):
        index = draw_batches(pool.n_sequences, B, batches, seed=seed + i)  # (K, B)
        mean_b, var_b = batch_moments(m, index, masked=masked)  # (K, d)
        zm = (mean_b - mu)[:, used] / var[used].sqrt()  # (K, d')
        zv = (var_b - var)[:, used] / var[used]  # (K, d')
        d = pool.dim
        rows.append((
            math.sqrt(float(zm.square().mean())),
            math.sqrt(float(zv.square().mean())),
            float(zv.abs().flatten().median()),
            float(torch.linalg.vector_norm(mean_b - mu, dim=1).mean()) / d,
            float(torch.linalg.vector_norm(var_b - var, dim=1).mean()) / d,
            overlap(index),
        ))  # fmt: skip
    cols = [np.asarray(c, dtype=np.float64) for c in zip(*rows, strict=True)]
    b = np.asarray(sizes, dtype=np.float64)
    return PoolStats(b, *cols, int(used.sum()), fits.slope(b, cols[1]))


def stats_sweep(named: dict[str, PoolStats]) -> Sweep:
    """The RMS errors of several pools as one sweep: series "<name>: mean" and "<name>: variance"."""
    first = next(iter(named.values()))
    series = {}
    for name, st in named.items():
        series[f"{name}: mean"] = st.mean_error
        series[f"{name}: variance"] = st.var_error
    return _sweep([int(b) for b in first.batch_sizes], series)


def fit_block(pool: TokenPool, *, batch: int, tokens: int, dim: int) -> tuple[int, int, int]:
    """The largest ``(B, T, d)`` no bigger than asked that :func:`real_block` can cut from ``pool``: B ≤ S, T ≤ the
    length that at least B sequences reach (the B-th longest), d ≤ the pool's features.

    >>> p = TokenPool(torch.zeros(9, 2), np.array([2, 3, 4]), "demo")
    >>> fit_block(p, batch=2, tokens=8, dim=5), fit_block(p, batch=5, tokens=8, dim=1)
    ((2, 3, 2), (3, 2, 1))
    """
    for label, v in (("batch", batch), ("tokens", tokens), ("dim", dim)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    B = min(batch, pool.n_sequences)
    reach = int(np.sort(pool.lengths)[::-1][B - 1])  # B sequences hold at least this many tokens
    return B, min(tokens, reach), min(dim, pool.dim)


def real_block(pool: TokenPool, *, batch: int, tokens: int, dim: int, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """A small ``(B, T, d)`` block of real tokens for exact Jacobians, and the features it keeps, ``(d,)``.

    Rule: B sequences holding at least T real tokens, drawn by :func:`draw_batches` among those (distinct), each
    cut to its first T tokens (so no padding); of the pool's features, the d with the largest variance over the
    pool's real tokens, in index order (a massive feature, if the pool has one, is among them).

    >>> p = TokenPool(torch.arange(60.0).reshape(10, 6) ** 2, np.array([3, 3, 4]), "demo")
    >>> x, feats = real_block(p, batch=2, tokens=3, dim=2); tuple(x.shape), feats.tolist()
    ((2, 3, 2), [4, 5])
    """
    for label, v in (("batch", batch), ("tokens", tokens), ("dim", dim)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if dim > pool.dim:
        raise ValueError(f"dim = {dim} is more than the pool's {pool.dim} features.")
    long = np.flatnonzero(pool.lengths >= tokens)  # (S',) sequences with T real tokens
    if long.size < batch:
        raise ValueError(
            f"Only {long.size} sequences of this pool hold {tokens} real tokens; need {batch}. Use fewer tokens T "
            "or a smaller B."
        )
    rows = long[draw_batches(long.size, batch, 1, seed=seed)[0]]  # (B,)
    var = pool.x.double().var(0, unbiased=False)  # (d,)
    feats = np.sort(torch.argsort(var, descending=True)[:dim].numpy())  # (d',) top-variance features, in order
    x = torch.stack([pool.sequence(int(s))[:tokens, feats] for s in rows])  # (B, T, d')
    return x, feats.astype(np.int64)
