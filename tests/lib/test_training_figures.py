"""The Training page's figure builders draw exactly what they are given: curves, bands, heatmaps in log₁₀."""

from __future__ import annotations

import numpy as np

from normviz.figures import training as tfig
from tests.helpers.figure_data import decode


def test_curves_draw_train_and_held_out_with_their_spread_in_a_fixed_frame():
    c = tfig.Curve("A", "#0072B2", np.arange(1, 5), np.array([4.0, 3.5, 3.0, 2.5]), np.array([2, 4]),
                   np.array([3.6, 2.8]), np.array([3.5, 2.6]), np.array([3.9, 2.9]), diverged=((4, 2.5),))  # fmt: skip
    fig = decode(tfig.curves_figure([c], steps=200, accuracy=False).to_dict())
    train, held, cross = fig["data"]
    np.testing.assert_array_equal(train["y"], np.float32([4.0, 3.5, 3.0, 2.5]))
    np.testing.assert_array_equal(held["x"], np.float32([2, 4]))
    np.testing.assert_allclose(held["error_y"]["array"], [0.3, 0.1], rtol=1e-6)  # high − mean
    np.testing.assert_allclose(held["error_y"]["arrayminus"], [0.1, 0.2], rtol=1e-6)  # mean − low
    assert list(cross["x"]) == [4] and cross["marker"]["symbol"] == "x"
    assert list(fig["layout"]["xaxis"]["range"]) == [0, 200]


def test_accuracy_gets_its_own_panel():
    c = tfig.Curve("A", "#0072B2", np.arange(1, 3), np.ones(2), np.array([2]), np.ones(1), acc=np.array([0.5]))
    fig = decode(tfig.curves_figure([c], steps=10, accuracy=True).to_dict())
    (acc,) = [t for t in fig["data"] if t.get("yaxis") == "y2"]
    np.testing.assert_array_equal(acc["y"], np.float32([0.5]))
    assert list(fig["layout"]["yaxis2"]["range"]) == [0, 1]


def test_layer_heatmap_colours_by_log10_and_leaves_zeros_and_nans_blank():
    z = np.array([[1.0, 10.0, 0.0], [100.0, np.nan, 1e-3]])
    fig = decode(tfig.layer_heatmap(z, np.arange(1, 4), title="t", colourbar="log₁₀").to_dict())
    (h,) = fig["data"]
    np.testing.assert_allclose(h["z"], [[0, 1, np.nan], [2, np.nan, -3]], atol=1e-6)
    np.testing.assert_array_equal(h["y"], np.float32([1, 2]))
