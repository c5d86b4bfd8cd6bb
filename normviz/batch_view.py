"""The Batch page's computations, returned as plain numpy arrays ready to draw.

Each function wraps the BatchNorm experiments of :mod:`normviz.batch` and :mod:`normviz.running`
and does the little maths the charts need (projection of the cloud, fitted slope, 1/sqrt(B)
reference), so pages and figure builders stay free of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from normviz import batch, projection, running

__all__ = ["Cloud", "Sweep", "cloud", "padding", "population", "spread_sweep", "train_eval"]


@dataclass(frozen=True)
class Cloud:
    """One probe token's BatchNorm outputs over K batches of size B, in a 3D view."""

    points: np.ndarray  # (K, 3) float32, BatchNorm outputs of the probe, one per batch
    layernorm: np.ndarray  # (3,) float32, the probe's LayerNorm output: one point whatever the batch
    labels: tuple[str, str, str]
    kept: float  # share of sum ||y||^2 the 3 axes keep (1.0 when d <= 3)
    rms_spread: float  # RMS distance of the outputs from their mean, over all d features


@dataclass(frozen=True)
class Sweep:
    """Values against the batch size B, with a fitted log-log slope and its 1/sqrt(B) reference."""

    batch_sizes: np.ndarray  # (S,) float64
    series: dict[str, np.ndarray]  # name -> (S,) float64
    reference: np.ndarray  # (S,) c / sqrt(B), through the geometric mean of the first series
    slope: float  # least-squares slope of log(first series) against log(B)


def cloud(kind: str, *, batch_size: int, tokens: int, dim: int, batches: int, seed: int = 0) -> Cloud:
    """The probe's outputs in ``batches`` batches of ``batch_size`` sequences, projected to 3D.

    Axes: exact coordinates when d <= 3, else the top 3 principal components of the cloud
    (coordinates are dot products about the origin, so LayerNorm's point is placed faithfully too).
    """
    out = batch.probe_outputs(kind, batch=batch_size, tokens=tokens, dim=dim, batches=batches, seed=seed)
    y = out.batchnorm  # (K, d)
    basis = projection.fit_basis(y, "pca")
    spread = float((y.double() - y.double().mean(dim=0)).square().sum(dim=1).mean().sqrt())
    return Cloud(
        points=projection.project(y, basis),
        layernorm=projection.project(out.layernorm[None, :], basis)[0],
        labels=basis.labels,
        kept=projection.kept_share(y, basis),
        rms_spread=spread,
    )


def spread_sweep(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Sweep:
    """:func:`batch.probe_spread` over the batch sizes, with its slope and the 1/sqrt(B) line."""
    spread = batch.probe_spread(
        kind, batch_sizes=batch_sizes, tokens=tokens, dim=dim, batches=batches, seed=seed, progress=progress
    )
    return _sweep(batch_sizes, {"BatchNorm: probe's spread": np.asarray(spread)})


def population(
    kinds: Sequence[tuple[str, str, bool]],
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    batches: int,
    seed: int = 0,
) -> Sweep:
    """Typical distance of batch means from the population mean, in population standard deviations.

    ``kinds``: ``(label, kind, variable_length)``; variable-length sequences are padded and masked.
    """
    series = {}
    for label, kind, variable in kinds:
        err = batch.stats_error(
            kind, batch_sizes=batch_sizes, tokens=tokens, dim=dim, batches=batches, seed=seed,
            variable_length=variable,
        )  # fmt: skip
        series[f"{label}: mean"] = np.asarray(err.mean_error)
        series[f"{label}: variance"] = np.asarray(err.var_error)
    return _sweep(batch_sizes, series)


def train_eval(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    steps: int,
    momentum: float | None,
    r_max: float,
    d_max: float,
    seed: int = 0,
) -> Sweep:
    """``||train - eval||`` for one token as B changes, for BatchNorm and for Batch Renorm.

    Batch sizes whose ``steps + 1`` batches would exceed the draw cap (``batch.MAX_VALUES``) are
    left out; ``Sweep.batch_sizes`` says which were run.
    """
    sizes = [b for b in batch_sizes if (steps + 1) * b * tokens * dim <= batch.MAX_VALUES]
    if not sizes:
        raise ValueError(
            f"{steps} training steps of even B = {min(batch_sizes)} exceed the cap of {batch.MAX_VALUES:,} values: "
            "use fewer steps, fewer tokens or a smaller d."
        )
    bn, rn = [], []
    for b in sizes:
        rs = running.running_stats(
            kind, batch=b, tokens=tokens, dim=dim, steps=steps, momentum=momentum, seed=seed, r_max=r_max,
            d_max=d_max,
        )  # fmt: skip
        bn.append(rs.gap)
        rn.append(rs.renorm_gap)
    return _sweep(
        sizes,
        {"BatchNorm: ‖train − eval‖": np.asarray(bn), "Batch Renorm: ‖train − eval‖": np.asarray(rn)},
    )


def padding(kind: str, *, batch_size: int, tokens: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(pad share, shift of the batch mean in standard deviations)`` when pads are counted."""
    shares = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    res = batch.padding_shift(kind, batch=batch_size, tokens=tokens, dim=dim, pad_shares=shares, seed=seed)
    return np.asarray(res.pad_share), np.asarray(res.shift)


def _sweep(batch_sizes: Sequence[int], series: dict[str, np.ndarray]) -> Sweep:
    b = np.asarray(batch_sizes, dtype=np.float64)
    first = next(iter(series.values())).astype(np.float64)
    ok = (first > 0) & np.isfinite(first)
    if ok.sum() >= 2:
        slope = float(np.polyfit(np.log(b[ok]), np.log(first[ok]), 1)[0])
        c = math.exp(float(np.mean(np.log(first[ok]) + 0.5 * np.log(b[ok]))))  # c / sqrt(B) through the data
    else:
        slope, c = float("nan"), 1.0
    return Sweep(b, {k: v.astype(np.float64) for k, v in series.items()}, c / np.sqrt(b), slope)
