"""AppTest for the Gradient-flow page: decode each chart and check it against the library and the theory."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from normviz.experiments import gradient_flow
from tests.helpers.figure_data import component_figure

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/gradient-flow.py").run()
    assert not at.exception, at.exception
    return at


def _figures(at) -> list[dict]:
    return [component_figure(e) for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view"]


def _series(fig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {t["name"]: (np.asarray(t["x"], dtype=float), np.asarray(t["y"], dtype=float)) for t in fig["data"]}


@pytest.fixture(scope="module")
def default_app():
    return _app()


def test_default_view_shows_three_charts_of_three_placements(default_app):
    figs = _figures(default_app)
    assert len(figs) == 3
    for fig in figs:
        assert {"Post-LN", "Pre-LN", "Peri-LN"} <= set(_series(fig))


def test_layer_chart_is_the_seed_mean_of_the_contract(default_app):
    layers = _series(_figures(default_app)[0])
    for placement, label in (("post", "Post-LN"), ("pre", "Pre-LN")):
        x, y = layers[label]
        np.testing.assert_array_equal(x, np.arange(1, 13))
        ref = np.mean([gradient_flow.gradient_norms(placement, depth=12, dim=64, heads=4, seed=s) for s in (0, 1)], 0)
        np.testing.assert_allclose(y, ref, rtol=1e-5)


def test_depth_chart_slopes_follow_xiong_et_al(default_app):
    depth = _series(_figures(default_app)[1])
    slope = {k: np.polyfit(np.log(x), np.log(y), 1)[0] for k, (x, y) in depth.items()}
    assert -0.7 < slope["Pre-LN"] < -0.3, slope
    assert abs(slope["Post-LN"]) < 0.15, slope
    assert slope["Post-LN theory: flat"] == pytest.approx(0, abs=1e-5)
    assert slope["Pre-LN theory: 1/√L"] == pytest.approx(-0.5, abs=1e-5)
    caption = next(c.value for c in default_app.caption if "fitted" in c.value)
    shown = float(re.search(r"Pre-LN ([+-][\d.]+)", caption).group(1))
    assert shown == pytest.approx(slope["Pre-LN"], abs=0.006)  # the caption's slope is the chart's data


def test_hidden_chart_post_is_sqrt_d_and_pre_grows(default_app):
    hidden = _series(_figures(default_app)[2])
    np.testing.assert_allclose(hidden["Post-LN"][1][1:], math.sqrt(64), rtol=1e-4)
    pre = hidden["Pre-LN"][1]
    assert pre[-1] > 2 * pre[0] and np.all(np.diff(pre[::3]) > 0)
    np.testing.assert_allclose(hidden["√d"][1], 8.0, rtol=1e-6)


def test_depth_width_and_no_norm():
    at = _app()
    at.slider(key="gf_depth").set_value(3).run()
    at.select_slider(key="gf_dim").set_value(16).run()
    at.get("button_group")[0].set_value(["post", "none"]).run()
    assert not at.exception
    figs = _figures(at)
    layers = _series(figs[0])
    assert set(layers) == {"Post-LN", "no norm"} and len(layers["Post-LN"][0]) == 3
    assert np.all(layers["no norm"][1] > 2 * layers["Post-LN"][1])  # no norm: larger gradients ...
    depth = _series(figs[1])
    assert depth["no norm"][1][-1] > 1e3 * depth["Post-LN"][1][-1]  # ... and exploding with depth (L = 48)
    np.testing.assert_allclose(_series(figs[2])["Post-LN"][1][1:], 4.0, rtol=1e-4)  # √16


def test_every_control_to_its_ends_and_no_placement():
    at = _app()
    at.get("button_group")[0].set_value(["pre"]).run()  # one placement: each rerun builds fewer stacks
    at.slider(key="gf_seeds").set_value(1).run()
    at.select_slider(key="gf_dim").set_value(16).run()
    for key, ends in (("gf_depth", (1, 48)), ("gf_batch", (1, 16)), ("gf_heads", (1, 8))):
        w = at.slider(key=key) if key == "gf_depth" else at.select_slider(key=key)
        for end in ends:
            w.set_value(end).run()
            assert not at.exception, (key, end, at.exception)
            assert len(_figures(at)) == 3, (key, end, [e.value for e in at.error])
    at.selectbox(key="gf_norm").set_value("rmsnorm").run()
    at.slider(key="gf_seeds").set_value(8).run()
    at.slider(key="gf_depth").set_value(2).run()
    assert not at.exception and len(_figures(at)) == 3
    at.slider(key="gf_seeds").set_value(1).run()
    at.select_slider(key="gf_dim").set_value(256).run()  # the largest width, one seed
    assert not at.exception and len(_figures(at)) == 3
    at.get("button_group")[0].set_value([]).run()
    assert not at.exception and "at least one placement" in at.info[0].value
