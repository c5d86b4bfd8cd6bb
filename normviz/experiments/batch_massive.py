"""A massive-activation token inside a real batch: BatchNorm spreads it over the batch, LayerNorm keeps it to itself.

At MiniLM's capture points the [CLS] token carries one huge feature (measured in ``benchmarks/bench_token_pool.py``
and on the Batch page: feature 99 at ~500× the median |x| entering the feed-forward-output LayerNorms of layers 0
and 2). In a batch, feature j's BatchNorm statistics are taken over every real token, so the few massive tokens
set its variance: each batch-mate's output (x_tj − μ_j)/σ_j is squeezed towards one value. LayerNorm's statistics
are the token's own: the massive token's output is pinned (nearly all its variance in one feature, so
|LN(x)_j| → √d) and no other token's output changes.

Every statistic here is float64, over the batch's real tokens (the padding mask honoured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from normviz.core.checks import is_int
from normviz.experiments import real_data
from normviz.experiments.batch_real import EPS, _check_b, draw_batches
from normviz.io.token_pool import TokenPool

__all__ = ["MassiveBatch", "massive_batch"]


@dataclass(frozen=True)
class MassiveBatch:
    """One batch's tokens at feature ``feature`` and their BatchNorm / LayerNorm outputs (``(n,)`` each, n real
    tokens of the batch, sequence by sequence)."""

    feature: int
    ratio: float  # the pool's largest |x_j| over median |x| of all its values
    massive: bool  # whether that passes real_data's rule (≥ 100× the median and ≥ 10)
    sequences: np.ndarray  # (B,) which pool sequences form the batch
    x: np.ndarray  # (n,) float64 input value x_tj
    hit: np.ndarray  # (n,) bool: tokens holding a massive value in this feature (|x_tj| ≥ threshold)
    position: np.ndarray  # (n,) int64 position of each token in its sequence (0 = [CLS] for MiniLM)
    bn_with: np.ndarray  # (n,) BatchNorm output, statistics over every real token
    bn_without: np.ndarray  # (n,) statistics over the tokens that are not hit; NaN at hit tokens
    ln: np.ndarray  # (n,) LayerNorm output (no affine) at feature j: the token's own statistics
    variance_share: float  # share of the batch's Σ(x − μ)² at feature j carried by the hit tokens
    std_rest_with: float  # std of the non-hit tokens' BatchNorm outputs at j, hit tokens in the batch
    std_rest_without: float  # the same, hit tokens masked out (1 by construction)
    ln_hit: float  # median |LN(x)_j| over hit tokens (√d = all of a token's variance in feature j)


def massive_batch(
    pool: TokenPool, *, batch: int = 8, seed: int = 0, feature: int | None = None, ratio: float = real_data.RATIO
) -> MassiveBatch:
    """The batch ``draw_batches(S, batch, 1, seed=seed)[0]`` at ``feature`` (default: the pool's largest massive
    feature, else its largest |x| feature) with and without its massive tokens in the statistics.

    >>> from normviz.io.token_pool import TokenPool
    >>> x = torch.randn(160, 6, generator=torch.Generator().manual_seed(0)); x[::10, 2] = 400.0
    >>> mb = massive_batch(TokenPool(x, np.full(16, 10), "demo"), batch=2)
    >>> mb.feature, int(mb.hit.sum()), mb.variance_share > 0.85
    (2, 2, True)
    """
    _check_b(pool, batch, 2)
    found = real_data.massive(pool.x, ratio=ratio)
    if feature is not None and not (is_int(feature) and 0 <= feature < pool.dim):
        raise ValueError(f"feature must be one of 0 … {pool.dim - 1}, got {feature!r}.")
    j = int(found.features[0] if found.features.size else np.argmax(found.peak)) if feature is None else feature
    seqs = draw_batches(pool.n_sequences, batch, 1, seed=seed)[0]  # (B,)
    xb = torch.cat([pool.sequence(int(s)) for s in seqs]).double()  # (n, d) real tokens of the batch
    pos = np.concatenate([np.arange(int(pool.lengths[s])) for s in seqs])  # (n,)
    v = xb[:, j]  # (n,)
    hit = v.abs() >= found.threshold  # (n,)
    mu, var = v.mean(), v.var(unbiased=False)
    bn_with = (v - mu) / (var + EPS).sqrt()
    rest = v[~hit]
    mu_r, var_r = rest.mean(), rest.var(unbiased=False)
    bn_without = torch.where(hit, torch.nan, (v - mu_r) / (var_r + EPS).sqrt())
    ln = F.layer_norm(xb, (pool.dim,), eps=EPS)[:, j]  # (n,)
    c2 = (v - mu).square()
    return MassiveBatch(
        feature=j,
        ratio=float(found.peak.max() / max(found.median_abs, 1e-300)),
        massive=bool(found.features.size),
        sequences=seqs,
        x=v.numpy(),
        hit=hit.numpy(),
        position=pos.astype(np.int64),
        bn_with=bn_with.numpy(),
        bn_without=bn_without.numpy(),
        ln=ln.numpy(),
        variance_share=float(c2[hit].sum() / c2.sum().clamp_min(1e-300)),
        std_rest_with=float(bn_with[~hit].std(unbiased=False)) if (~hit).any() else float("nan"),
        std_rest_without=float(bn_without[~hit].std(unbiased=False)) if (~hit).any() else float("nan"),
        ln_hit=float(ln[hit].abs().median()) if hit.any() else float("nan"),
    )
