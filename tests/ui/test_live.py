"""ui.live: a live control's frames are the page's own figures at each value, reduced to what changes.

Decoded frames are checked against the library's numbers at each value (batch.probe_outputs on the shared
basis, computed one B at a time) and against the figure each value would draw; the budget is enforced.
"""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.utils import PlotlyJSONEncoder

from normviz.core import projection
from normviz.experiments import batch
from normviz.figures import scenes
from tests.helpers.figure_data import decode, over
from ui import live
from ui.plot_view import figure_dict

SIZES = [2, 8, 32, 128]


@pytest.fixture(scope="module")
def clouds():
    return batch.clouds("gaussian", batch_sizes=SIZES, tokens=4, dim=16, batches=30)


def _figs(cs) -> dict[int, go.Figure]:
    return {
        b: scenes.cloud_figure(cl.points, cl.layernorm, axis_labels=cl.labels, ranges=cl.ranges)
        for b, cl in cs.by_batch.items()
    }


def _canon(spec: dict) -> str:
    return json.dumps(spec, cls=PlotlyJSONEncoder, sort_keys=True)


def test_frames_hold_the_library_cloud_at_every_b_computed_one_b_at_a_time(clouds):
    frames = json.loads(live.frames(_figs(clouds), present=False))
    assert len(frames) == len(SIZES)
    # independent of batch.clouds: each B's outputs from probe_outputs alone, on the basis of the smallest B
    outs = {b: batch.probe_outputs("gaussian", batch=b, tokens=4, dim=16, batches=30) for b in SIZES}
    basis = projection.fit_basis(outs[2].batchnorm, "pca")
    for i in (0, 2, 3):
        b = SIZES[i]
        bn = decode(frames[i]["t"]["0"])  # trace 0: the BatchNorm cloud
        drawn = np.stack([bn["x"], bn["y"], bn["z"]], axis=1)
        np.testing.assert_array_equal(drawn, clouds.by_batch[b].points)  # the very numbers the page draws at B
        ref = outs[b].batchnorm.double().numpy() @ basis.vectors.T  # (K, 3) float64, one B at a time
        np.testing.assert_allclose(drawn, ref, rtol=1e-5, atol=1e-5)
    assert "1" not in frames[0]["t"], "the LayerNorm diamond is the same at every B: not in the frames"


def test_each_frame_over_the_drawn_figure_is_that_values_figure(clouds):
    figs = _figs(clouds)
    frames = json.loads(live.frames(figs, present=False))
    base = json.loads(_canon(figure_dict(figs[SIZES[1]], present=False)))
    for frame, fig in zip(frames, figs.values(), strict=True):
        assert _canon(over(base, frame)) == _canon(figure_dict(fig, present=False))


def test_frames_over_the_budget_or_of_different_traces_fall_back_to_none(clouds):
    figs = _figs(clouds)
    size = len(live.frames(figs, present=False))
    assert live.frames(figs, present=False, budget=size) is not None
    assert live.frames(figs, present=False, budget=size // 2) is None  # reruns on release instead
    assert live.frames({}, present=False) is None


def test_figures_of_different_traces_travel_whole(clouds):
    figs = _figs(clouds)
    odd = {**figs, 512: go.Figure(go.Scatter3d(x=[0.0, 1.0], y=[2.0, 3.0], z=[4.0, 5.0]))}
    frames = json.loads(live.frames(odd, present=False))
    assert [set(f) for f in frames] == [{"f"}] * len(odd)
    for frame, fig in zip(frames, odd.values(), strict=True):
        assert _canon(frame["f"]) == _canon(figure_dict(fig, present=False))
    assert live.frames(odd, present=False, budget=1000) is None


def test_hypersphere_frames_are_compute_at_each_value_in_both_scenes():
    from normviz.core import inputs
    from normviz.experiments import hypersphere

    x = inputs.sample("anisotropic", batch=1, tokens=256, dim=3, seed=0)
    values = [0.5, 1.0, 2.0, 3.0]
    views = hypersphere.compute_over(x, "layernorm", "gamma_scale", values, beta_shift=0.3)
    figs = {g: scenes.sphere_view_figure(v, "LayerNorm") for g, v in zip(values, views, strict=True)}
    frames = json.loads(live.frames(figs, present=False))
    base = json.loads(_canon(figure_dict(figs[1.0], present=False)))
    for i in (0, 3):
        one = hypersphere.compute(x, "layernorm", gamma_scale=values[i], beta_shift=0.3)  # one value alone
        drawn = decode(over(base, frames[i]))
        out = drawn["data"][1]  # the output scene's tokens
        np.testing.assert_array_equal(np.stack([out["x"], out["y"], out["z"]], 1), one.after)
        # d = 3 is drawn exactly: LayerNorm with γ = g, β = 0.3 puts y − β on the sphere of radius g·√3
        radius = np.linalg.norm(np.stack([out["x"], out["y"], out["z"]], 1) - 0.3, axis=1)
        np.testing.assert_allclose(np.median(radius), values[i] * np.sqrt(3), rtol=1e-3)
