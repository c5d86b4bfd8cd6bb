"""Train against eval mode, and padding, on a pool of real sequences (the Batch page's last two sections).

:func:`train_eval`: torch's own ``nn.BatchNorm1d`` accumulates its running statistics over ``steps`` batches of B
distinct sequences of the pool (``batch_real.draw_batches``, the probe's sequence left out), fed the batch's real
tokens only (``masked``) or the whole padded ``(B·T, d)`` tensor, pads included; then the probe token, inside a
fresh batch of its own sequence and B − 1 others, is normalized with that batch's statistics (train mode) and with
the running ones (eval mode). Batch Renormalization (Ioffe 2017) is run on the same fresh batch.

:func:`padding_shift`: how far counting the pads moves each batch's mean, at every B, for batches padded to their
longest sequence. For a batch whose positions are a share s of pads holding v, exactly
``counted − masked = s·(v − masked)``: real sentences of varied length make s grow with B.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from normviz.core import checks
from normviz.core.checks import check_batch_sizes, is_int
from normviz.experiments.batch import Sweep, _sweep
from normviz.experiments.batch_real import _check_b, batch_moments, draw_batches, sequence_sums
from normviz.experiments.batch_running import batch_renorm
from normviz.io.token_pool import TokenPool

__all__ = ["PadShift", "padding_shift", "train_eval", "training_batches"]


def _tokens(pool: TokenPool, index: Sequence[int], masked: bool) -> torch.Tensor:
    """The batch ``index`` as BatchNorm1d's ``(n, d)`` input: real tokens only, or every position of the batch
    padded to its longest (pads 0), sequence by sequence. Either way sequence ``index[0]``'s token t is row t."""
    x, mask = pool.batch(index)  # (B, T, d), (B, T)
    return x[mask] if masked else x.reshape(-1, pool.dim)  # (n_real, d) or (B·T, d)


def training_batches(pool: TokenPool, B: int, steps: int, *, seed: int = 0, exclude: int | None = None) -> np.ndarray:
    """``(steps, B)`` sequence indices of the training batches :func:`train_eval` feeds BatchNorm at batch size B."""
    return draw_batches(pool.n_sequences, B, steps, seed=seed, exclude=exclude)


def train_eval(
    pool: TokenPool,
    *,
    batch_sizes: Sequence[int],
    steps: int,
    momentum: float | None = 0.1,
    r_max: float = 3.0,
    d_max: float = 5.0,
    masked: bool = True,
    probe: tuple[int, int] = (0, 1),
    seed: int = 0,
    eps: float = 1e-5,
) -> Sweep:
    """``‖train − eval‖`` of the probe token's output as B changes, for BatchNorm and for Batch Renorm.

    Batch size B trains on :func:`training_batches` ``(pool, B, steps, seed=seed + i, exclude=probe[0])``; the
    fresh batch is the probe's sequence and B − 1 others (``draw_batches`` with seed ``seed + 1000 + i``). Batch
    sizes whose training tokens would pass ``checks.MAX_VALUES`` values are left out (``Sweep.batch_sizes`` says
    which were run).
    """
    sizes = check_batch_sizes(batch_sizes)
    if not is_int(steps) or steps < 1:
        raise ValueError(f"steps must be a positive integer (training batches before eval), got {steps!r}.")
    if momentum is not None and not (isinstance(momentum, (int, float)) and 0 < momentum <= 1):
        raise ValueError(f"momentum must be in (0, 1] (torch's default is 0.1) or None, got {momentum!r}.")
    s, t = probe
    if not (is_int(s) and 0 <= s < pool.n_sequences and is_int(t) and 0 <= t < int(pool.lengths[s])):
        raise ValueError(f"probe {probe!r} is not a token of this pool: (sequence, token) with token < its length.")
    run, bn_gap, rn_gap = [], [], []
    for i, B in enumerate(sizes):
        _check_b(pool, B, max(steps, 2))
        index = training_batches(pool, B, steps, seed=seed + i, exclude=s)  # (steps, B)
        lens = pool.lengths[index]  # (steps, B)
        n = int(lens.sum() if masked else (lens.max(1) * B).sum())  # tokens BatchNorm sees in training
        if n * pool.dim > checks.MAX_VALUES:
            continue
        bn = nn.BatchNorm1d(pool.dim, eps=eps, momentum=momentum)
        fresh = [s, *draw_batches(pool.n_sequences, B - 1, 1, seed=seed + 1000 + i, exclude=s)[0].tolist()]
        with torch.no_grad():
            bn.train()
            for row in index:
                bn(_tokens(pool, row.tolist(), masked))
            x = _tokens(pool, fresh, masked)  # (n, d), the probe at row t
            bn.eval()
            eval_out = bn(x)[t]  # (d,) running statistics
            train_out = F.batch_norm(x, None, None, bn.weight, bn.bias, training=True, eps=eps)[t]  # (d,)
            renorm = batch_renorm(x, bn.running_mean, bn.running_var, r_max=r_max, d_max=d_max, eps=eps)[t]
        run.append(B)
        bn_gap.append(float((train_out - eval_out).norm()))
        rn_gap.append(float((renorm - eval_out).norm()))
    if not run:
        raise ValueError(
            f"{steps} training steps of even B = {min(sizes)} pass the cap of {checks.MAX_VALUES:,} values: use "
            "fewer steps."
        )
    return _sweep(
        run, {"BatchNorm: ‖train − eval‖": np.asarray(bn_gap), "Batch Renorm: ‖train − eval‖": np.asarray(rn_gap)}
    )


@dataclass(frozen=True)
class PadShift:
    """For each B: the share of pad positions in K batches padded to their longest, and how far counting them
    moves the batch mean: ``shift_k = RMS_j (counted_kj − masked_kj) / σ_kj`` (σ over the batch's real tokens)."""

    batch_sizes: np.ndarray  # (S,) float64
    share: np.ndarray  # (S,) mean pad share over the K batches
    shift: np.ndarray  # (S,) mean shift over the K batches, in standard deviations
    shift_low: np.ndarray  # (S,) 10th percentile over the K batches
    shift_high: np.ndarray  # (S,) 90th percentile
    predicted: np.ndarray  # (S,) share · RMS_j (v − μ_j)/σ_j with the pool's own μ, σ: the shift's typical size
    features_used: int  # features with a nonzero pool variance


def padding_shift(
    pool: TokenPool, *, batch_sizes: Sequence[int], batches: int, pad_value: float = 0.0, seed: int = 0
) -> PadShift:
    """:class:`PadShift` of ``batches`` batches per B drawn by :func:`~normviz.experiments.batch_real.draw_batches`
    (seed ``seed + i`` for the i-th B, as ``batch_real.pool_stats`` draws them)."""
    sizes = check_batch_sizes(batch_sizes)
    m = sequence_sums(pool)
    used = m.var > 1e-12 * float(m.var.max())  # (d,) features with a scale
    pool_z = ((pad_value - m.center)[used] / m.var[used].sqrt()).square().mean().sqrt()  # RMS (v − μ)/σ
    rows = []
    for i, B in enumerate(sizes):
        _check_b(pool, B, batches)
        index = draw_batches(pool.n_sequences, B, batches, seed=seed + i)  # (K, B)
        mean_m, var_m = batch_moments(m, index, masked=True)  # (K, d) each
        mean_c, _ = batch_moments(m, index, masked=False, pad_value=pad_value)
        lens = pool.lengths[index]  # (K, B)
        share = 1.0 - lens.sum(1) / (lens.max(1) * B)  # (K,)
        z = (mean_c - mean_m)[:, used] / var_m[:, used].clamp_min(1e-30).sqrt()  # (K, d')
        shift = z.square().mean(1).sqrt().numpy()  # (K,)
        rows.append((share.mean(), shift.mean(), *np.percentile(shift, [10, 90]), share.mean() * float(pool_z)))
    cols = [np.asarray(c, dtype=np.float64) for c in zip(*rows, strict=True)]
    return PadShift(np.asarray(sizes, dtype=np.float64), *cols, int(used.sum()))
