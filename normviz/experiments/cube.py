"""The statistics cube: which cells of the activation block ``x: (B, T, d)`` share one mean and variance.

Wu & He (2018, *Group Normalization*, Fig. 2) drew the (N, C, H·W) block of an image batch and
shaded the cells one statistic is taken over. On the transformer token layout the axes are
B sequences × T tokens × d features:

=============  ==============================================================
norm           cells sharing the statistics of cell (b, t, j)
=============  ==============================================================
layernorm      (b, t, :) — all d features of that token
rmsnorm        (b, t, :) — the same cells; it shares only the mean square
groupnorm      (b, t, g·d/G … (g+1)·d/G − 1) — the token's group of feature j
instancenorm   (b, :, j) — feature j over the T tokens of sequence b
batchnorm      (:, :, j) — feature j over every token of every sequence
dyt            (b, t, j) alone — no statistics, element-wise
=============  ==============================================================

The page checks this table against the maths: perturb one cell's value and exactly the cells
listed here change their output (``tests/test_cube.py``).
"""

from __future__ import annotations

import numpy as np

from normviz.core import norms

__all__ = ["CUBE_NORMS", "MAX_CUBE", "describe", "shared_cells"]

CUBE_NORMS: tuple[str, ...] = ("layernorm", "rmsnorm", "batchnorm", "groupnorm", "instancenorm", "dyt")

MAX_CUBE = (8, 16, 24)  # largest (B, T, d) drawn: still readable cell by cell


def _check(name: str, shape: tuple[int, int, int], cell: tuple[int, int, int], groups: int) -> None:
    if name not in CUBE_NORMS:
        raise ValueError(f"Unknown norm {name!r} for the cube. Pick one of {', '.join(CUBE_NORMS)}.")
    if len(shape) != 3 or any(not isinstance(n, int) or n < 1 for n in shape):
        raise ValueError(f"shape must be three positive integers (B, T, d), got {shape!r}.")
    if any(n > m for n, m in zip(shape, MAX_CUBE, strict=True)):
        raise ValueError(f"The cube is drawn cell by cell: keep (B, T, d) within {MAX_CUBE}, got {shape}.")
    if len(cell) != 3 or any(not isinstance(c, int) or not 0 <= c < n for c, n in zip(cell, shape, strict=True)):
        raise ValueError(f"cell must be (b, t, j) with 0 <= b < {shape[0]}, 0 <= t < {shape[1]}, 0 <= j < {shape[2]}.")
    d = shape[2]
    if name == "groupnorm" and (not isinstance(groups, int) or groups < 1 or d % groups):
        raise ValueError(
            f"groups={groups!r} does not divide d={d}. Pick one of the divisors of {d}: {norms.divisors(d)}."
        )


def shared_cells(name: str, shape: tuple[int, int, int], cell: tuple[int, int, int], *, groups: int = 1) -> np.ndarray:
    """Boolean ``(B, T, d)``: True where a cell shares the statistics of ``cell = (b, t, j)``.

    >>> shared_cells("instancenorm", (2, 3, 4), (1, 0, 2))[..., 2].astype(int).tolist()
    [[0, 0, 0], [1, 1, 1]]
    >>> int(shared_cells("batchnorm", (2, 3, 4), (1, 0, 2)).sum())  # feature 2 of all 2*3 tokens
    6
    """
    _check(name, shape, cell, groups)
    b, t, j = cell
    out = np.zeros(shape, dtype=bool)
    if name in ("layernorm", "rmsnorm"):
        out[b, t, :] = True
    elif name == "groupnorm":
        size = shape[2] // groups
        g = j // size
        out[b, t, g * size : (g + 1) * size] = True
    elif name == "instancenorm":
        out[b, :, j] = True
    elif name == "batchnorm":
        out[:, :, j] = True
    else:  # dyt: element-wise
        out[b, t, j] = True
    return out


def describe(name: str, shape: tuple[int, int, int], cell: tuple[int, int, int], *, groups: int = 1) -> str:
    """The shared set in words, for the caption under the cube (1-based indices, as a class counts).

    >>> describe("layernorm", (2, 4, 6), (0, 1, 2))
    'all d = 6 features of token 2 in sequence 1 (6 cells share one mean and one variance)'
    """
    _check(name, shape, cell, groups)
    B, T, d = shape
    b, t, j = (c + 1 for c in cell)
    n = int(shared_cells(name, shape, cell, groups=groups).sum())
    if name == "layernorm":
        return f"all d = {d} features of token {t} in sequence {b} ({n} cells share one mean and one variance)"
    if name == "rmsnorm":
        return f"all d = {d} features of token {t} in sequence {b} ({n} cells share one mean square; no mean)"
    if name == "groupnorm":
        size = d // groups
        g = (j - 1) // size
        lo, hi = g * size + 1, (g + 1) * size
        what = f"feature {lo}" if lo == hi else f"features {lo}–{hi}"
        return (
            f"group {g + 1} of G = {groups}: {what} of token {t} in sequence {b} "
            f"({n} cell{'s share' if n > 1 else ' has'} one mean and one variance)"
        )
    if name == "instancenorm":
        return f"feature {j} over the T = {T} tokens of sequence {b} ({n} cells share one mean and one variance)"
    if name == "batchnorm":
        return (
            f"feature {j} over every token of every sequence: B·T = {B}·{T} = {n} cells share one mean and one variance"
        )
    return f"only cell ({b}, {t}, {j}) itself: DyT takes no statistics, tanh acts on each value alone"


def changed_cells(
    name: str, shape: tuple[int, int, int], cell: tuple[int, int, int], *, groups: int = 1, seed: int = 0
) -> np.ndarray:
    """Boolean ``(B, T, d)``: the outputs that move when ``cell``'s input moves (float64, random input).

    The maths' side of the picture: for a norm whose statistics over a set S include the cell,
    every output in S depends on the cell's value. Degenerate sets of one value (d = 1, G = d,
    T = 1 for InstanceNorm) give outputs that are 0 whatever the input, so nothing moves there.

    >>> changed_cells("instancenorm", (2, 3, 4), (1, 0, 2)).nonzero()[0].tolist()  # sequence 2 only
    [1, 1, 1]
    """
    _check(name, shape, cell, groups)
    import torch

    # on the CPU whatever the device: an exact check in float64 of at most 8 x 16 x 24 values, two norm calls
    # (a GPU launch costs more than the sum, and MPS has no float64)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=torch.float64)  # (B, T, d)
    x2 = x.clone()
    x2[cell] += 1.0
    kw = {"groups": groups} if name == "groupnorm" else {}
    dy = norms.apply(name, x2, **kw) - norms.apply(name, x, **kw)  # (B, T, d)
    return (dy.abs() > 1e-9).numpy()
