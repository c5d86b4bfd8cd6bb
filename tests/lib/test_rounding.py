"""normviz.core.rounding: what counts as rounding is relative to the chart's largest value."""

from __future__ import annotations

import numpy as np
import pytest

from normviz.core.rounding import REL, flush_rounding


def test_values_below_rel_times_the_largest_become_exactly_zero():
    v = np.array([2.0, 2.0 * REL * 0.99, 2.0 * REL * 1.01, -3e-15, np.nan])
    out = flush_rounding(v)
    assert out[0] == 2.0 and out[1] == 0.0 and out[2] == v[2] and out[3] == 0.0 and np.isnan(out[4])


def test_a_shared_scale_flushes_a_series_that_is_all_rounding():
    assert (flush_rounding([1e-16, -4e-15], scale=0.3) == 0).all()
    assert (flush_rounding([1e-16, -4e-15]) != 0).all()  # on its own its largest is its scale


def test_all_zero_input_and_bad_rel():
    assert (flush_rounding(np.zeros(3)) == 0).all()
    with pytest.raises(ValueError, match="rel must lie"):
        flush_rounding([1.0], rel=2.0)
