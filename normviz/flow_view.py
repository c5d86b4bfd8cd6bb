"""The Gradient-flow page's numbers: :mod:`normviz.dynamics` runs averaged over seeds, with theory lines.

Pages call :func:`run` once per (placement, seed) (each cached on its plain arguments) and
:func:`combine` on the results; figure builders draw what comes back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from normviz import dynamics

__all__ = ["LABELS", "FlowView", "combine", "run"]

LABELS = {"post": "Post-LN", "pre": "Pre-LN", "peri": "Peri-LN", "none": "no norm"}


@dataclass(frozen=True)
class FlowView:
    """Seed-averaged curves, keyed by the placement's label ("Post-LN", …)."""

    layers: np.ndarray  # (L,) 1 ... L
    grads: dict[str, np.ndarray]  # label -> (L,) mean over seeds of ‖∂loss/∂W₂‖ per layer
    grads_range: dict[str, tuple[np.ndarray, np.ndarray]]  # label -> (min, max) over seeds
    hidden: dict[str, np.ndarray]  # label -> (L + 1,) mean token norm after each layer (0 = input)
    depths: np.ndarray  # (S,) the sweep's L values
    last: dict[str, np.ndarray]  # label -> (S,) mean over seeds of the last layer's gradient norm
    slopes: dict[str, float]  # label -> fitted log-log slope of ``last`` against L
    references: dict[str, np.ndarray]  # theory lines on the depths: flat (Post-LN) and 1/√L (Pre-LN)
    sqrt_d: float


def run(placement: str, *, depth: int, dim: int, heads: int, norm: str, batch: int, tokens: int, seed: int):
    """One stack's profile and depth sweep (plain, picklable results for a page's cache)."""
    return dynamics.experiment(
        placement, depth=depth, dim=dim, heads=heads, norm=norm, batch=batch, tokens=tokens, seed=seed
    )


def combine(results: Mapping[str, Sequence[tuple]], *, dim: int) -> FlowView:
    """Average each placement's ``[(Profile, Sweep), …]`` (one per seed) and fit the depth slopes.

    >>> r = {p: [run(p, depth=2, dim=8, heads=2, norm="layernorm", batch=2, tokens=4, seed=s) for s in (0, 1)]
    ...      for p in ("post", "pre")}
    >>> v = combine(r, dim=8)
    >>> sorted(v.grads), v.layers.tolist(), sorted(v.references)
    (['Post-LN', 'Pre-LN'], [1, 2], ['Post-LN theory: flat', 'Pre-LN theory: 1/√L'])
    """
    if not results or any(len(v) == 0 for v in results.values()):
        raise ValueError("results must hold at least one (Profile, Sweep) per placement: run at least one seed.")
    grads, ranges, hidden, last, slopes = {}, {}, {}, {}, {}
    depths = None
    for placement, runs in results.items():
        label = LABELS[placement]
        g = np.stack([p.grad_norms for p, _ in runs])  # (seeds, L)
        grads[label] = g.mean(0)
        ranges[label] = (g.min(0), g.max(0))
        hidden[label] = np.stack([p.hidden_norms for p, _ in runs]).mean(0)
        last[label] = np.stack([s.last_grad for _, s in runs]).mean(0)
        depths = runs[0][1].depths
        slopes[label] = dynamics.slope(depths, last[label])
    refs = {}
    for label, name, power in (("Post-LN", "Post-LN theory: flat", 0.0), ("Pre-LN", "Pre-LN theory: 1/√L", -0.5)):
        if label in last:  # through the measured points' geometric mean, with the theory's slope
            c = math.exp(float(np.mean(np.log(last[label]) - power * np.log(depths))))
            refs[name] = c * depths.astype(np.float64) ** power
    layers = np.arange(1, len(next(iter(grads.values()))) + 1)
    return FlowView(layers, grads, ranges, hidden, depths, last, slopes, refs, math.sqrt(dim))
