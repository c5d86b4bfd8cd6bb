"""AppTest for every page: no exception, every control moved, the figures' data decoded and checked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

TIMEOUT = 120
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def _by_label(widgets, label):
    found = [w for w in widgets if w.label == label]
    assert found, f"no widget labelled {label!r}"
    return found[0]


def _views(at) -> list[dict]:
    """Every figure the page drew through ui.plotly_view, in page order."""
    return [component_figure(e) for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view"]


def _sphere_figure(at) -> dict:
    views = [f for f in _views(at) if "scene2" in f["layout"]]
    assert len(views) == 1
    return views[0]


def _points(fig, scene: str) -> np.ndarray:
    """The token markers drawn in one scene, as (n, 3)."""
    traces = [
        t
        for t in fig["data"]
        if t.get("scene", "scene") == scene
        and t.get("mode") == "markers"
        and t.get("type") == "scatter3d"
        and "only possible output" not in str(t.get("hovertemplate"))
    ]
    t = traces[0]
    return np.stack([t["x"], t["y"], t["z"]], axis=1).astype(np.float64)


def test_home_page_runs_and_links_to_the_hypersphere():
    at = _app()
    assert "normviz" in at.title[0].value
    assert any("Computing on" in c.value for c in at.sidebar.caption)


@pytest.fixture(scope="module")
def sphere_app():
    return _app("pages/hypersphere.py")


def test_default_view_is_layernorm_on_the_exact_circle(sphere_app):
    at = sphere_app
    fig = _sphere_figure(at)
    after = _points(fig, "scene2")
    r = np.linalg.norm(after, axis=1)
    # d = 3, eps = 1e-5: ||y|| = sqrt(3 var / (var + eps)) <= sqrt(3); tokens with var >> eps sit on it
    assert after.shape[0] > 100
    assert np.all(r <= math.sqrt(3) + 1e-4)
    assert np.median(np.abs(r - math.sqrt(3))) < 1e-4
    np.testing.assert_allclose(after.sum(axis=1), 0.0, atol=1e-4)  # on the plane y1 + y2 + y3 = 0
    assert fig["layout"]["uirevision"]  # a constant uirevision keeps the camera
    # points travel as base64 float32 arrays, never as lists of numbers
    view = next(e for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view")
    raw = json.loads(json.loads(view.proto.json)["figure"])
    assert all(raw["data"][i]["x"]["dtype"] == "f4" and "bdata" in raw["data"][i]["x"] for i in (0, 1))
    # the input scene holds the same tokens before the norm: not on the circle
    before = _points(fig, "scene")
    assert before.shape == after.shape
    assert np.std(np.linalg.norm(before, axis=1)) > 0.1


def test_radius_histogram_counts_every_token(sphere_app):
    at = sphere_app
    hist = next(f for f in _views(at) if any(t["type"] == "bar" for t in f["data"]))
    tokens = _by_label(at.select_slider, "Tokens").value
    bars = [t for t in hist["data"] if t["type"] == "bar"]
    assert len(bars) == 2
    assert int(np.sum(bars[0]["y"])) == tokens
    assert int(np.sum(bars[1]["y"])) == tokens
    # the radius spike sits at sqrt(d) = sqrt(3)
    peak = bars[0]["x"][int(np.argmax(bars[0]["y"]))]
    assert abs(peak - math.sqrt(3)) < 1e-3


def test_d2_layernorm_gives_only_two_points():
    at = _app("pages/hypersphere.py")
    _by_label(at.select_slider, "Features d").set_value(2).run()
    # with eps, a token with x1 ~ x2 lands inside: |y1| = sqrt(v / (v + eps)), v = (x1 - x2)^2 / 4
    _by_label(at.select_slider, "ε").set_value(1e-12).run()
    assert not at.exception
    after = _points(_sphere_figure(at), "scene2")
    np.testing.assert_allclose(np.abs(after[:, :2]), 1.0, atol=1e-3)
    np.testing.assert_allclose(after[:, 0], -after[:, 1], atol=1e-5)
    assert set(np.sign(after[:, 0]).astype(int)) == {-1, 1}
    assert any("d = 2 surprises" in i.value for i in at.info)


def test_rmsnorm_sphere_keeps_the_mean_and_gamma_beta_move_it():
    at = _app("pages/hypersphere.py")
    at.radio(key="hs_norm").set_value("rmsnorm").run()
    at.selectbox(key="hs_kind").set_value("shifted").run()
    assert not at.exception
    after = _points(_sphere_figure(at), "scene2")
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), math.sqrt(3), rtol=1e-4)
    assert abs(after.mean()) > 0.3  # RMSNorm does not center: the shifted input keeps its mean
    at.slider(key="hs_beta").set_value(2.0).run()
    shifted = _points(_sphere_figure(at), "scene2")
    np.testing.assert_allclose(shifted, after + 2.0, atol=1e-4)  # beta moves every output by (2, 2, 2)
    at.slider(key="hs_gspread").set_value(3.0).run()
    stretched = _points(_sphere_figure(at), "scene2") - 2.0
    gamma = 3.0 ** np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(stretched / gamma, axis=1), math.sqrt(3), rtol=1e-4)


def test_high_dimension_projection_says_what_it_keeps():
    at = _app("pages/hypersphere.py")
    _by_label(at.select_slider, "Features d").set_value(64).run()
    assert not at.exception
    fig = _sphere_figure(at)
    assert "all-ones" in fig["layout"]["scene"]["xaxis"]["title"]["text"]
    after = _points(fig, "scene2")
    # a projection never makes a token longer: every LN output has length sqrt(64) = 8
    assert np.all(np.linalg.norm(after, axis=1) <= 8 + 1e-3)
    np.testing.assert_allclose(after[:, 0], 0.0, atol=1e-3)  # no component along the all-ones axis
    assert any("projected onto three orthonormal axes" in c.value for c in at.caption)
    assert not at.radio(key="hs_method").disabled


def test_dead_controls_are_disabled():
    at = _app("pages/hypersphere.py")
    assert at.slider(key="hs_alpha").disabled  # alpha is DyT's
    assert at.radio(key="hs_method").disabled  # d = 3 is exact
    at.radio(key="hs_norm").set_value("identity").run()
    assert at.slider(key="hs_gscale").disabled and at.slider(key="hs_beta").disabled
    at.radio(key="hs_norm").set_value("dyt").run()
    assert not at.slider(key="hs_alpha").disabled
    assert _by_label(at.select_slider, "ε").disabled


@pytest.mark.parametrize("norm", ["layernorm", "rmsnorm", "dyt", "identity"])
def test_every_slider_to_both_ends(norm):
    at = _app("pages/hypersphere.py")
    at.radio(key="hs_norm").set_value(norm).run()
    at.selectbox(key="hs_kind").set_value("outliers").run()
    for w in list(at.slider) + list(at.select_slider):
        if w.disabled or w.label == "Tokens":
            continue
        ends = (w.min, w.max) if hasattr(w, "min") and w.type == "slider" else (w.options[0], w.options[-1])
        for end in ends:
            w.set_value(_option_value(w, end)).run()
            assert not at.exception, (w.label, end, at.exception)
            fig = _sphere_figure(at)
            assert np.all(np.isfinite(_points(fig, "scene2")))


def _option_value(widget, option):
    if getattr(widget, "type", "") == "slider":
        return option
    # select_slider options are their formatted strings; map back to the real value
    values = {
        "Features d": [2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024],
        "ε": [1e-12, 1e-8, 1e-5, 1e-3, 1e-2, 0.1, 1.0, 10.0],
    }[widget.label]
    return values[list(widget.options).index(option)]
