"""Straight lines through measured points on log–log axes: a fitted slope, and a theory line placed on the data."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["power_through", "slope"]


def slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log(y) against log(x): the power p of y ∝ x^p.

    >>> round(slope(np.array([1.0, 4.0, 16.0]), np.array([1.0, 0.5, 0.25])), 6)
    -0.5

    Fewer than two distinct x give no line: NaN (callers say so instead of showing a number).
    """
    if np.unique(np.asarray(x)).size < 2:
        return float("nan")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def power_through(x: np.ndarray, y: np.ndarray, power: float) -> float:
    """The c of the line c·x^power through the points' geometric mean (a theory slope placed on the data).

    >>> round(power_through(np.array([1.0, 4.0]), np.array([2.0, 1.0]), -0.5), 6)
    2.0
    """
    return math.exp(float(np.mean(np.log(y) - power * np.log(x))))
