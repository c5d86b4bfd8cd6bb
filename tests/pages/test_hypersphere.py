"""AppTest for the Hypersphere page: the default view, every control moved, the figures' data decoded and
checked; shareable links (every control restored, garbage falls back with a notice, old spellings still
read); MiniLM's residual stream as the input distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from normviz.core import inputs
from normviz.experiments import hypersphere
from tests.helpers.apptest import check_one_notice, figure, live_slider, open_link, open_page, raw_figure, widget
from ui import real_inputs


def _sphere_figure(at) -> dict:
    fig = figure(at, "hs_view")
    assert "scene2" in fig["layout"]
    return fig


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


def ui_label(kind: str) -> str:
    from ui import labels

    return labels.KINDS[kind]


@pytest.fixture(scope="module")
def sphere_app():
    return open_page("hypersphere")


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
    raw = raw_figure(at, "hs_view")
    assert all(raw["data"][i]["x"]["dtype"] == "f4" and "bdata" in raw["data"][i]["x"] for i in (0, 1))
    # the input scene holds the same tokens before the norm: not on the circle
    before = _points(fig, "scene")
    assert before.shape == after.shape
    assert np.std(np.linalg.norm(before, axis=1)) > 0.1


def test_radius_histogram_counts_every_token(sphere_app):
    at = sphere_app
    hist = figure(at, "hs_hist")
    tokens = widget(at, "Tokens").value
    bars = [t for t in hist["data"] if t["type"] == "bar"]
    assert len(bars) == 2
    assert int(np.sum(bars[0]["y"])) == tokens
    assert int(np.sum(bars[1]["y"])) == tokens
    # the radius spike sits at sqrt(d) = sqrt(3)
    peak = bars[0]["x"][int(np.argmax(bars[0]["y"]))]
    assert abs(peak - math.sqrt(3)) < 1e-3


def test_d2_layernorm_gives_only_two_points():
    at = open_page("hypersphere")
    widget(at, "Features d").set_value(2).run()
    # with eps, a token with x1 ~ x2 lands inside: |y1| = sqrt(v / (v + eps)), v = (x1 - x2)^2 / 4
    at.session_state["hs_eps"] = 1e-12  # a live slider (ui.live): its value is in session state
    at.run()
    assert not at.exception
    after = _points(_sphere_figure(at), "scene2")
    np.testing.assert_allclose(np.abs(after[:, :2]), 1.0, atol=1e-3)
    np.testing.assert_allclose(after[:, 0], -after[:, 1], atol=1e-5)
    assert set(np.sign(after[:, 0]).astype(int)) == {-1, 1}
    assert any("d = 2 surprises" in i.value for i in at.info)


def test_rmsnorm_sphere_keeps_the_mean_and_gamma_beta_move_it():
    at = open_page("hypersphere")
    at.radio(key="hs_norm").set_value("rmsnorm").run()
    at.selectbox(key="hs_kind").set_value("shifted").run()
    assert not at.exception
    after = _points(_sphere_figure(at), "scene2")
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), math.sqrt(3), rtol=1e-4)
    assert abs(after.mean()) > 0.3  # RMSNorm does not center: the shifted input keeps its mean
    at.session_state["hs_beta"] = 2.0
    at.run()
    shifted = _points(_sphere_figure(at), "scene2")
    np.testing.assert_allclose(shifted, after + 2.0, atol=1e-4)  # beta moves every output by (2, 2, 2)
    at.session_state["hs_gspread"] = 3.0
    at.run()
    stretched = _points(_sphere_figure(at), "scene2") - 2.0
    gamma = 3.0 ** np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(np.linalg.norm(stretched / gamma, axis=1), math.sqrt(3), rtol=1e-4)


def test_high_dimension_projection_says_what_it_keeps():
    at = open_page("hypersphere")
    widget(at, "Features d").set_value(64).run()
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
    at = open_page("hypersphere")
    assert live_slider(at, "hs_alpha")["disabled"]  # alpha is DyT's
    assert at.radio(key="hs_method").disabled  # d = 3 is exact
    at.radio(key="hs_norm").set_value("identity").run()
    assert live_slider(at, "hs_gscale")["disabled"] and live_slider(at, "hs_beta")["disabled"]
    at.radio(key="hs_norm").set_value("dyt").run()
    assert not live_slider(at, "hs_alpha")["disabled"]
    assert live_slider(at, "hs_eps")["disabled"]


@pytest.mark.parametrize("norm", ["layernorm", "rmsnorm", "dyt", "identity"])
def test_every_slider_to_both_ends(norm):
    at = open_page("hypersphere")
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
    for key, ends in LIVE_ENDS.items():  # the live sliders (ui.live)
        shown = live_slider(at, key)
        assert (shown["labels"][0], shown["labels"][-1]) == ends[1]
        if shown["disabled"]:
            continue
        for end in ends[0]:
            at.session_state[key] = end
            at.run()
            assert not at.exception, (key, end, at.exception)
            assert np.all(np.isfinite(_points(_sphere_figure(at), "scene2")))


LIVE_ENDS = {"hs_eps": ((1e-12, 10.0), ("1e-12", "10")), "hs_gscale": ((0.25, 3.0), ("0.25", "3.00")),
             "hs_gspread": ((1.0, 4.0), ("1.00", "4.00")), "hs_beta": ((-3.0, 3.0), ("-3.00", "3.00")),
             "hs_alpha": ((0.05, 3.0), ("0.05", "3.00"))}  # fmt: skip


def _option_value(widget, option):
    if getattr(widget, "type", "") == "slider":
        return option
    # select_slider options are their formatted strings; map back to the real value
    values = {
        "Features d": [2, 3, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024],
        "ε": [1e-12, 1e-8, 1e-5, 1e-3, 1e-2, 0.1, 1.0, 10.0],
    }[widget.label]
    return values[list(widget.options).index(option)]


# every Hypersphere control, with a value that is not its default, as a copied link carries it
LINK = {"hs_norm": "RMSNorm", "hs_kind": "Heavy-tailed (Student-t)", "hs_dim": "16", "hs_tokens": "256",
        "hs_method": "top 3 PCs", "hs_seed": "7", "hs_eps": "0.001", "hs_gscale": "1.5", "hs_gspread": "2.0",
        "hs_beta": "-0.5", "hs_alpha": "1.25"}  # fmt: skip
RESTORED = {("radio", "hs_norm"): "rmsnorm", ("selectbox", "hs_kind"): "heavy_tailed", ("select_slider", "hs_dim"): 16,
            ("select_slider", "hs_tokens"): 256, ("radio", "hs_method"): "pca", ("number_input", "hs_seed"): 7,
            "hs_eps": 1e-3, "hs_gscale": 1.5, "hs_gspread": 2.0, "hs_beta": -0.5, "hs_alpha": 1.25}  # fmt: skip


def test_link_restores_every_control():
    at = open_link("hypersphere", LINK, RESTORED)
    assert dict(at.query_params) == LINK  # the URL keeps the view
    # the view is the one the link names: 256 tokens drawn
    assert figure(at, "hs_view")["data"][0]["x"].size == 256


def test_garbage_falls_back_to_defaults_with_a_notice():
    garbage = {"hs_norm": "BatchNorm", "hs_dim": "5", "hs_eps": "-1", "hs_seed": "1e99", "hs_gscale": "NaN",
               "hs_kind": "../../etc/passwd", "hs_tokens": "9" * 400, "hs_nope": "1"}  # fmt: skip
    at = open_page("hypersphere", garbage)
    assert at.radio(key="hs_norm").value == "layernorm"
    assert at.select_slider(key="hs_dim").value == 3
    assert at.session_state["hs_eps"] == 1e-5
    assert at.number_input(key="hs_seed").value == 0
    assert at.session_state["hs_gscale"] == 1.0
    assert at.selectbox(key="hs_kind").value == "anisotropic"
    assert at.select_slider(key="hs_tokens").value == 1024
    check_one_notice(at, garbage)
    assert figure(at, "hs_view")["data"][0]["x"].size == 1024


def test_a_default_value_in_the_link_is_not_called_invalid():
    at = open_page("hypersphere", {"hs_norm": "LayerNorm", "hs_eps": "1e-05", "hs_seed": "0"})
    assert not at.warning


def test_minilm_residual_stream_as_input():
    at = open_page("hypersphere", {"hs_kind": "Real: MiniLM's residual stream", "hs_norm": "RMSNorm", "hs_point": "4"})
    assert not at.error
    assert at.select_slider(key="hs_dim").disabled and at.select_slider(key="hs_tokens").disabled
    after = figure(at, "hs_view")["data"][1]
    pts = np.stack([after["x"], after["y"], after["z"]], axis=1)
    assert 100 < pts.shape[0] < 200  # the default paragraph's real tokens, padding excluded
    assert np.linalg.norm(pts, axis=1).max() <= math.sqrt(384) * (1 + 1e-5)  # RMSNorm: on the sphere of √d
    assert any("d = 384" in c.value for c in at.caption)


def test_upload_input_without_a_file_asks_for_one():
    at = open_page("hypersphere", {"hs_kind": "Real: your uploaded file"})
    assert any("Accepted:" in i.value for i in at.info)
    assert not at.error
    # a link (or a reload, or a move to another server) never carries the file: the new session is told, once
    assert [w.value for w in at.warning] == [real_inputs.NOT_CARRIED]
    at.run()
    assert not at.warning


def test_an_old_link_spelling_of_dyt_still_restores_its_view():
    at = open_page("hypersphere", {"hs_norm": "DyT (Dynamic Tanh)"})  # ui.labels.LEGACY
    assert at.radio(key="hs_norm").value == "dyt"
    assert not at.warning
    assert not live_slider(at, "hs_alpha")["disabled"]  # the DyT view: its alpha is live


def _caption(at, start: str) -> str:
    found = [c.value for c in at.caption if start in c.value]
    assert len(found) == 1, [c.value for c in at.caption]
    return found[0]


def _elementwise_curves(at) -> dict:
    return {t["name"]: t for t in figure(at, "hs_elementwise")["data"] if t.get("mode") == "lines"}


@pytest.mark.parametrize(("kind", "bends"), [("gaussian", False), ("massive", True)])
def test_s_curve_fit_has_an_amplitude_and_says_whether_the_cloud_bends(kind, bends):
    at = open_page("hypersphere", {"hs_kind": ui_label(kind), "hs_dim": "64"})
    x = inputs.sample(kind, batch=1, tokens=1024, dim=64, seed=0)
    v = hypersphere.compute(x, "layernorm", max_elements=6000)  # what the page computes
    assert (v.line_error > 1.25 * v.ln_fit_error) is bends
    caption = _caption(at, "Each dot is one feature")
    assert (f"a straight line by {v.line_error:.2f}" in caption) is bends
    assert ("there is no S to see" in caption) is not bends
    assert f"{v.ln_above_one:.0%} of these LayerNorm outputs exceed 1" in caption
    curves = _elementwise_curves(at)
    fit = next(t for n, t in curves.items() if "best γ·tanh" in n)
    line = next(t for n, t in curves.items() if "straight line" in n)
    cx = np.asarray(fit["x"], dtype=np.float64)
    np.testing.assert_allclose(fit["y"], v.ln_gamma * np.tanh(v.ln_alpha * cx), rtol=1e-4, atol=1e-5)
    assert np.abs(fit["y"]).max() > 1  # the fitted curve reaches where LayerNorm's outputs are
    np.testing.assert_allclose(line["y"], v.line_slope * cx, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("kind", "words"), [("massive", "as a massive activation does"), ("outliers", "outlier features do")]
)
def test_pinned_tokens_sentence_tells_a_massive_token_from_an_outlier_feature(kind, words):
    at = open_page("hypersphere", {"hs_kind": ui_label(kind), "hs_dim": "64"})
    p = hypersphere.pinned(inputs.sample(kind, batch=1, tokens=1024, dim=64, seed=0)[0])
    caption = _caption(at, "Pinned tokens")
    assert words in caption and f"{p.near:,} of 1,024 tokens" in caption and f"j = {p.feature} " in caption
    assert (p.near == 16) is (kind == "massive")  # 1 token in 64


def test_old_link_to_massive_outlier_features_opens_the_outlier_features_input():
    at = open_page("hypersphere", {"hs_kind": "Massive outlier features"})  # ui.labels.LEGACY
    assert at.selectbox(key="hs_kind").value == "outliers"
    assert not at.warning


def test_minilm_elementwise_view_draws_every_default_token_and_shows_the_s():
    at = open_page("hypersphere", {"hs_kind": "Real: MiniLM's residual stream"})  # capture point 2, the default
    assert at.slider(key="hs_point").value == 2
    xs = figure(at, "hs_elementwise")["data"][0]["x"]
    assert xs.size % 384 == 0 and 100 < xs.size // 384 < 200  # whole tokens: all of the default text's
    caption = _caption(at, "Each dot is one feature")
    assert "an S-curve" in caption
