"""The Batch page's statistics: batch against population mean and variance, and padding.

A batch of B sequences of T tokens gives each feature one mean and variance over its B·T values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from normviz.core import device, fits, inputs
from normviz.core.checks import check_batch_sizes, check_sizes
from normviz.experiments.batch import _CHUNK, Sweep, _sweep

__all__ = [
    "POPULATION_TOKENS",
    "PaddingShift",
    "Population",
    "StatsError",
    "batch_stats",
    "padding",
    "padding_shift",
    "population",
    "stats_error",
]

POPULATION_TOKENS = 2**16  # tokens in the "large sample" that stands for the population


# --- batch statistics against the population -----------------------------------------------------


def batch_stats(x: torch.Tensor, *, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature ``mean`` and biased ``var`` of each batch, over its real tokens only.

    ``mean = sum_real x / n_real``, ``var = sum_real (x - mean)^2 / n_real``, in float64.
    ``x: (..., B, T, d)`` -> two ``(..., d)`` tensors; ``mask: (..., B, T)`` bool, True = real token.
    Padded positions never reach a statistic, whatever they hold (even NaN).

    >>> x = torch.tensor([[[1.0], [3.0]], [[5.0], [float("nan")]]])  # (B=2, T=2, d=1)
    >>> mean, var = batch_stats(x, mask=torch.tensor([[True, True], [True, False]]))
    >>> mean.tolist(), var.tolist()
    ([3.0], [2.6666666666666665])
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a tensor of shape (..., B, T, d), got {shape}. Try x[None] for one sequence.")
    x = x.double()
    if mask is None:
        flat = x.flatten(-3, -2)  # (..., B*T, d)
        return flat.mean(dim=-2), flat.var(dim=-2, unbiased=False)
    if mask.dtype != torch.bool or tuple(mask.shape) != tuple(x.shape[:-1]):
        raise ValueError(
            f"mask must be bool of shape {tuple(x.shape[:-1])} (True = real token), "
            f"got {mask.dtype} {tuple(mask.shape)}. Try mask.bool()."
        )
    m = mask[..., None]  # (..., B, T, 1)
    x = torch.where(m, x, 0.0)  # (..., B, T, d): garbage in padding never reaches a sum
    n = m.sum(dim=(-3, -2)).clamp_min(1)  # (..., 1) real tokens per batch
    mean = x.sum(dim=(-3, -2)) / n  # (..., d)
    var = torch.where(m, x - mean[..., None, None, :], 0.0).square().sum(dim=(-3, -2)) / n  # (..., d)
    return mean, var


@dataclass(frozen=True)
class StatsError:
    """Typical distance of batch statistics from the population's, one entry per B.

    ``mean_error[i] = RMS over batches and features of (mu_B - mu) / sigma``;
    ``var_error[i] = RMS of (var_B - var) / var``: relative, so kinds of any scale compare.
    """

    batch_sizes: tuple[int, ...]
    mean_error: tuple[float, ...]
    var_error: tuple[float, ...]
    pad_share: tuple[float, ...]  # share of padded positions in the batches (0 for fixed lengths)
    # median over batches and features of |var_B - var| / var: unlike the RMS it exists for every input
    # with a finite variance (the RMS needs a finite fourth moment), so one seed's K·d values pin it down
    var_median: tuple[float, ...] = ()


def stats_error(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int = 100,
    seed: int = 0,
    variable_length: bool = False,
    masked: bool = True,
    pad_value: float = 0.0,
) -> StatsError:
    """How far each batch's per-feature mean and variance lie from the population's, for each B.

    ``err_mu = sqrt(mean_{k,j} ((mu_kj - mu_j) / sigma_j)^2)``, ``err_var = sqrt(mean_{k,j}
    ((var_kj - var_j) / var_j)^2)``. The population is a further ``POPULATION_TOKENS`` tokens of the
    same draw. With ``variable_length`` each sequence's length is uniform on 1..T and the rest is
    padding (``pad_value``); ``masked`` statistics use real tokens only, unmasked ones count the pads.
    Heavy-tailed tokens give far larger errors than Gaussian ones (Shen et al. 2020, PowerNorm).
    """
    sizes = check_batch_sizes(batch_sizes)
    pop_seq = -(-POPULATION_TOKENS // tokens)  # population sequences, rounded up
    for B in sizes:
        check_sizes(kind, batch=B, tokens=tokens, dim=dim, batches=batches, seed=seed, extra=pop_seq)
    if not math.isfinite(pad_value):
        raise ValueError(f"pad_value must be a finite number (padding embeddings are usually 0), got {pad_value!r}.")
    mean_err, var_err, shares, var_med = [], [], [], []
    dev = device.float64_device()  # the statistics are taken in float64
    for B in sizes:
        x = inputs.sample(kind, batch=batches * B + pop_seq, tokens=tokens, dim=dim, seed=seed)  # (K*B + P, T, d)
        x = x.to(dev)
        mu, var = batch_stats(x[batches * B :][None])  # (1, d) each: the population
        sigma2 = var.clamp_min(1e-12)  # a constant feature has no scale to compare with
        xb = x[: batches * B].view(batches, B, tokens, dim)  # (K, B, T, d)
        mask = None
        if variable_length:
            g = torch.Generator().manual_seed(seed)
            lengths = torch.randint(1, tokens + 1, (batches, B, 1), generator=g).to(dev)  # (K, B, 1)
            mask = torch.arange(tokens, device=dev) < lengths  # (K, B, T)
            xb[~mask] = pad_value  # x is ours: padded positions get the pad embedding
        se_mu = se_var = 0.0
        rel = []  # (k', d) chunks of |var_B - var| / var
        step = max(1, _CHUNK // (B * tokens * dim))
        for k in range(0, batches, step):
            cm = None if mask is None or not masked else mask[k : k + step]
            m_b, v_b = batch_stats(xb[k : k + step], mask=cm)  # (k', d) each
            se_mu += float((m_b - mu).square().div(sigma2).sum())
            se_var += float((v_b - var).div(sigma2).square().sum())
            rel.append((v_b - var).div(sigma2).abs().flatten())
        count = batches * dim
        mean_err.append(math.sqrt(se_mu / count))
        var_err.append(math.sqrt(se_var / count))
        shares.append(0.0 if mask is None else 1.0 - float(mask.float().mean()))
        var_med.append(float(torch.cat(rel).median()))
    return StatsError(tuple(sizes), tuple(mean_err), tuple(var_err), tuple(shares), tuple(var_med))


# --- padding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaddingShift:
    """The batch mean with pad tokens counted against masked, one row per pad share."""

    pad_share: tuple[float, ...]  # the realized share of padded positions
    counted_mean: torch.Tensor  # (S, d) float64, pads counted as tokens
    masked_mean: torch.Tensor  # (S, d) float64, real tokens only
    shift: tuple[float, ...]  # RMS over features of (counted - masked) / sigma


def padding_shift(
    kind: str,
    *,
    batch: int,
    tokens: int,
    dim: int,
    pad_shares: Sequence[float],
    seed: int = 0,
    pad_value: float = 0.0,
) -> PaddingShift:
    """How much padding moves BatchNorm's mean when pad tokens are counted: ``counted - masked``.

    With a pad share s of the B*T positions holding ``pad_value``,
    ``counted = (1 - s) * masked + s * pad_value``. Sequence i gets ``floor(s*T + u_i)`` pads at its
    end (u_i uniform, fixed across shares; at least one real token), so the expected share is s.
    ``shift`` is in units of the batch's per-feature standard deviation over real tokens.
    """
    check_sizes(kind, batch=batch, tokens=tokens, dim=dim, batches=1, seed=seed, min_batches=1)
    shares = list(pad_shares)
    if not shares or not all(isinstance(s, (int, float)) and 0 <= s < 1 for s in shares):
        raise ValueError(f"pad_shares must be a non-empty list of numbers in [0, 1), got {pad_shares!r}.")
    # on the CPU whatever the device: one batch and nine pad shares, a few small means each, where
    # a GPU launch costs more than the sums
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed)  # (B, T, d)
    u = torch.rand(batch, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)  # (B, 1)
    counted, masked, realized, shift = [], [], [], []
    for s in shares:
        pads = (s * tokens + u).floor().long().clamp(max=tokens - 1)  # (B, 1) pads per sequence
        mask = torch.arange(tokens) < tokens - pads  # (B, T)
        xp = torch.where(mask[..., None], x, pad_value)  # (B, T, d)
        mean_c, _ = batch_stats(xp)
        mean_m, var_m = batch_stats(xp, mask=mask)
        counted.append(mean_c)
        masked.append(mean_m)
        realized.append(1.0 - float(mask.double().mean()))
        shift.append(float(((mean_c - mean_m).square() / var_m.clamp_min(1e-12)).mean().sqrt()))
    return PaddingShift(tuple(realized), torch.stack(counted), torch.stack(masked), tuple(shift))


@dataclass(frozen=True)
class Population:
    """:func:`stats_error` for several inputs: the RMS errors as a sweep, and the variance's median error."""

    sweep: Sweep  # series "<label>: mean" and "<label>: variance" (RMS errors) against B
    var_median: dict[str, np.ndarray]  # label -> (S,) median |var_B - var| / var
    var_slope: dict[str, float]  # label -> log-log slope of the RMS variance error against B


def population(
    kinds: Sequence[tuple[str, str, bool]],
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int,
    seed: int = 0,
) -> Population:
    """Typical distance of batch statistics from the population's, for each ``(label, kind, variable_length)``.

    Variable-length sequences are padded and masked. Means in population standard deviations,
    variances relative to the population variance.
    """
    series, medians, slopes = {}, {}, {}
    b = np.asarray(batch_sizes, dtype=np.float64)
    for label, kind, variable in kinds:
        err = stats_error(
            kind, batch_sizes=batch_sizes, tokens=tokens, dim=dim, batches=batches, seed=seed,
            variable_length=variable,
        )  # fmt: skip
        series[f"{label}: mean"] = np.asarray(err.mean_error)
        series[f"{label}: variance"] = np.asarray(err.var_error)
        medians[label] = np.asarray(err.var_median)
        slopes[label] = fits.slope(b, np.asarray(err.var_error))
    return Population(_sweep(batch_sizes, series), medians, slopes)


def padding(kind: str, *, batch_size: int, tokens: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(pad share, shift of the batch mean in standard deviations)`` when pads are counted."""
    shares = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    res = padding_shift(kind, batch=batch_size, tokens=tokens, dim=dim, pad_shares=shares, seed=seed)
    return np.asarray(res.pad_share), np.asarray(res.shift)
