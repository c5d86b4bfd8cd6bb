"""Exact measurements of token vectors: lengths, the mean component, per-group statistics.

Every number here is computed on all tokens (never read off a projection).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from normviz.core import device

__all__ = ["Histogram", "group_stats", "histogram", "mean_component", "radii", "real_tokens"]


def real_tokens(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The real token vectors of ``x: (B, T, d)`` as ``(N, d)``; all of them when ``mask`` is None."""
    if x.ndim != 3:
        raise ValueError(f"x must have shape (B, T, d), got {tuple(x.shape)}.")
    return x.reshape(-1, x.shape[-1]) if mask is None else x[mask.to(x.device)]


def radii(tokens: torch.Tensor) -> torch.Tensor:
    """Euclidean length ``||y||`` of each token, ``(N, d) -> (N,)``.

    Computed in the tokens' precision (at least float32; torch's norm kernel keeps float32
    error near 1e-7 relative at d = 1024), without a float64 copy of every token.

    >>> radii(torch.tensor([[3.0, 4.0]])).tolist()
    [5.0]
    """
    return torch.linalg.vector_norm(_at_least_f32(tokens), dim=-1)


def mean_component(tokens: torch.Tensor) -> torch.Tensor:
    """Each token's mean feature ``(1/d) sum_i y_i``, ``(N, d) -> (N,)``.

    The token's coordinate along the unit all-ones direction is ``sqrt(d)`` times this:
    exactly the part LayerNorm removes and RMSNorm keeps.
    """
    return _at_least_f32(tokens).mean(dim=-1)


def _at_least_f32(t: torch.Tensor) -> torch.Tensor:
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def group_stats(tokens: torch.Tensor, groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group mean and length of each token's G contiguous sub-vectors.

    Returns ``(mean, radius)``, each ``(N, G)`` float64; group g holds features
    ``g*d/G ... (g+1)*d/G - 1``, as ``F.group_norm`` splits channels.
    """
    n, d = tokens.shape
    if groups < 1 or d % groups:
        raise ValueError(f"groups={groups} must be a positive divisor of d={d}.")
    sub = device.f64(tokens).reshape(n, groups, d // groups)  # (N, G, d/G)
    return sub.mean(dim=-1), torch.linalg.vector_norm(sub, dim=-1)


@dataclass(frozen=True)
class Histogram:
    """Exact bin counts: ``counts[i]`` values fall in ``[edges[i], edges[i+1])`` (last bin closed)."""

    edges: np.ndarray  # (bins + 1,) float64
    counts: np.ndarray  # (bins,) int64
    minimum: float
    maximum: float
    mean: float

    @property
    def centers(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])


def histogram(values: torch.Tensor, *, bins: int = 60, include: tuple[float, ...] = ()) -> Histogram:
    """Histogram of every value (no sampling). The range covers the data and the ``include`` marks.

    A spike (all values equal to float precision) gets a narrow window around it, so a
    constant radius shows as one tall bar at the right place instead of an error.
    """
    v = values.detach().cpu().double().numpy().ravel()  # numpy bins on the CPU: one pass over N values
    if v.size == 0:
        raise ValueError("histogram needs at least one value.")
    lo, hi = float(v.min()), float(v.max())
    lo_r, hi_r = min([lo, *include]), max([hi, *include])
    span = hi_r - lo_r
    scale = max(abs(lo_r), abs(hi_r), 1.0)
    if span < 1e-6 * scale:  # a spike: open a window of +-1% (at least +-0.01) around it
        half = max(0.01 * scale, 0.01)
        lo_r, hi_r = lo_r - half, hi_r + half
    else:
        lo_r, hi_r = lo_r - 0.02 * span, hi_r + 0.02 * span
    counts, edges = np.histogram(v, bins=bins, range=(lo_r, hi_r))
    return Histogram(edges=edges, counts=counts, minimum=lo, maximum=hi, mean=float(v.mean()))
