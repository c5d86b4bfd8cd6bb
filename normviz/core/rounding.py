"""Float rounding is not signal: values far below a chart's largest are drawn as exactly 0.

A quantity that is 0 in exact arithmetic (LayerNorm's gradient along y, a masked pad's effect) comes out of
float32 or float64 maths as ~1e-15 instead; plotted, that noise looks like a zigzag or, on a log axis, like a
real effect 15 orders of magnitude down. Every chart that can show such a value passes it through
:func:`flush_rounding` first, and says :data:`NOTE` where it did.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NOTE", "REL", "flush_rounding"]

REL = 1e-12  # below this fraction of the largest |value| of a chart, a value is rounding
NOTE = "0 up to float rounding"


def flush_rounding(values, *, scale: float | None = None, rel: float = REL) -> np.ndarray:
    """``values`` as float64, with every entry whose magnitude is below ``rel × scale`` set to exactly 0.

    ``scale`` defaults to the largest finite |value| (the chart's largest); pass it when several series share
    one chart. An all-zero (or all-rounding) input comes back all 0.

    >>> flush_rounding([1.0, 3e-16, -2e-13, 0.5]).tolist()
    [1.0, 0.0, 0.0, 0.5]
    >>> flush_rounding([1e-15, 2e-15], scale=1.0).tolist()
    [0.0, 0.0]
    """
    v = np.asarray(values, dtype=np.float64)
    if not 0 < rel < 1:
        raise ValueError(f"rel must lie in (0, 1), got {rel}: it is the fraction of the largest value kept.")
    finite = np.abs(v[np.isfinite(v)])
    big = float(finite.max()) if scale is None and finite.size else float(scale or 0.0)
    out = v.copy()
    out[np.abs(v) < rel * big] = 0.0
    return out
