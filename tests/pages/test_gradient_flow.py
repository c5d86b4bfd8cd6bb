"""AppTest for the Gradient-flow page: each chart decoded and checked against the library and the theory;
its links (every control restored, garbage falls back with a notice) and the CSV of the layer chart."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from normviz.experiments import gradient_flow
from tests.helpers.apptest import csv_columns, figure, figure_keys, open_garbage, open_link, open_page, series

KEYS = ["gf_layers", "gf_depths", "gf_hidden"]  # every chart, in page order


@pytest.fixture(scope="module")
def default_app():
    return open_page("gradient-flow")


def test_default_view_shows_three_charts_of_three_placements(default_app):
    assert figure_keys(default_app) == KEYS
    for key in KEYS:
        fig = figure(default_app, key)
        assert {"Post-LN", "Pre-LN", "Peri-LN"} <= set(series(fig))


def test_layer_chart_is_the_seed_mean_of_the_contract(default_app):
    layers = series(figure(default_app, "gf_layers"))
    for placement, label in (("post", "Post-LN"), ("pre", "Pre-LN")):
        x, y = layers[label]
        np.testing.assert_array_equal(x, np.arange(1, 13))
        ref = np.mean([gradient_flow.gradient_norms(placement, depth=12, dim=64, heads=4, seed=s) for s in (0, 1)], 0)
        np.testing.assert_allclose(y, ref, rtol=1e-5)


def test_depth_chart_slopes_follow_xiong_et_al(default_app):
    depth = series(figure(default_app, "gf_depths"))
    slope = {k: np.polyfit(np.log(x), np.log(y), 1)[0] for k, (x, y) in depth.items()}
    assert -0.7 < slope["Pre-LN"] < -0.3, slope
    assert abs(slope["Post-LN"]) < 0.15, slope
    assert slope["Post-LN bound: flat"] == pytest.approx(0, abs=1e-5)
    assert slope["Pre-LN bound: 1/√L"] == pytest.approx(-0.5, abs=1e-5)
    caption = next(c.value for c in default_app.caption if "fitted" in c.value)
    shown = float(re.search(r"Pre-LN ([+-][\d.]+)", caption).group(1))
    assert shown == pytest.approx(slope["Pre-LN"], abs=0.006)  # the caption's slope is the chart's data


def _page_text(at) -> str:
    return " ".join([c.value for c in at.caption] + [m.value for e in at.expander for m in e.markdown]
                    + [m.value for m in at.markdown])  # fmt: skip


def _expected_trend(label, y):
    """The sentence for one curve, from the chart's own data (float32) read independently of the page."""
    first, last, lo, hi = y[0], y[-1], y.min(), y.max()
    if last / first < 2 / 3:
        return f"{label}'s falls from {first:#.2g} at layer 1 to {last:#.2g} at layer {len(y)}"
    if last / first > 3 / 2:
        return f"{label}'s rises from {first:#.2g} at layer 1 to {last:#.2g} at layer {len(y)}"
    return f"{label}'s stays between {lo:#.2g} (layer {y.argmin() + 1}) and {hi:#.2g} (layer {y.argmax() + 1})"


def test_the_per_layer_sentences_are_the_charts_numbers(default_app):
    text = _page_text(default_app)
    layers = series(figure(default_app, "gf_layers"))
    for label in ("Post-LN", "Pre-LN", "Peri-LN"):
        assert _expected_trend(label, layers[label][1].astype(float)) in text, label
    assert "Pre-LN's falls from 0.30 at layer 1 to 0.094 at layer 12" in text  # measured (2 seeds, the default)
    assert "Post-LN's stays between" in text
    # the claims issue 11 corrected are gone: Xiong et al. is quoted as it is, the final norm makes no layer trend
    assert "about the same in every layer" not in text and "the final norm divides by it" not in text
    assert "Post-LN's FFN-weight gradient grows towards the last layer, while Pre-LN's stays about the same" in text
    assert "Pre-LN's falls (layer 12 / layer 1 = 0.32), unlike the paper" in text
    assert "Pre-LN's layer-1 gradient, 0.30, is above Post-LN's, 0.24" in text
    assert "1/‖x_L‖ multiplies every layer's gradient alike" in text and "NormFormer" in text
    assert "bounds this gradient from above" in text and "*hypothesize*" in text and "RAdam" in text


def test_the_per_layer_sentences_follow_the_settings():
    at = open_page("gradient-flow", {"gf_depth": "4", "gf_dim": "16", "gf_seeds": "1", "gf_norm": "RMSNorm",
                                     "gf_placements": ["Post-LN", "Pre-LN"]})  # fmt: skip
    assert not at.exception
    text, layers = _page_text(at), series(figure(at, "gf_layers"))
    for label in ("Post-LN", "Pre-LN"):
        y = layers[label][1].astype(float)
        assert len(y) == 4 and _expected_trend(label, y) in text, (label, y)
    ref = gradient_flow.trend(gradient_flow.gradient_norms("pre", depth=4, dim=16, norm="rmsnorm"))
    assert f"layer 4 / layer 1 = {ref.ratio:.2f}" in text
    at.slider(key="gf_depth").set_value(1).run()
    assert "Pre-LN: " in _page_text(at) and "falls from" not in _page_text(at)


def test_hidden_chart_post_is_sqrt_d_and_pre_grows(default_app):
    hidden = series(figure(default_app, "gf_hidden"))
    np.testing.assert_allclose(hidden["Post-LN"][1][1:], math.sqrt(64), rtol=1e-4)
    pre = hidden["Pre-LN"][1]
    assert pre[-1] > 2 * pre[0] and np.all(np.diff(pre[::3]) > 0)
    np.testing.assert_allclose(hidden["√d"][1], 8.0, rtol=1e-6)


def test_depth_width_and_no_norm():
    at = open_page("gradient-flow")
    at.slider(key="gf_depth").set_value(3).run()
    at.select_slider(key="gf_dim").set_value(16).run()
    at.button_group(key="gf_placements").set_value(["post", "none"]).run()
    assert not at.exception
    layers = series(figure(at, "gf_layers"))
    assert set(layers) == {"Post-LN", "no norm"} and len(layers["Post-LN"][0]) == 3
    assert np.all(layers["no norm"][1] > 2 * layers["Post-LN"][1])  # no norm: larger gradients ...
    depth = series(figure(at, "gf_depths"))
    assert depth["no norm"][1][-1] > 1e3 * depth["Post-LN"][1][-1]  # ... and exploding with depth (L = 48)
    np.testing.assert_allclose(series(figure(at, "gf_hidden"))["Post-LN"][1][1:], 4.0, rtol=1e-4)  # √16


def test_every_control_to_its_ends_and_no_placement():
    at = open_page("gradient-flow")
    at.button_group(key="gf_placements").set_value(["pre"]).run()  # one placement: each rerun builds fewer stacks
    at.slider(key="gf_seeds").set_value(1).run()
    at.select_slider(key="gf_dim").set_value(16).run()
    for key, ends in (("gf_depth", (1, 48)), ("gf_batch", (1, 16)), ("gf_heads", (1, 8))):
        w = at.slider(key=key) if key == "gf_depth" else at.select_slider(key=key)
        for end in ends:
            w.set_value(end).run()
            assert not at.exception, (key, end, at.exception)
            assert figure_keys(at) == KEYS, (key, end, [e.value for e in at.error])
    at.selectbox(key="gf_norm").set_value("rmsnorm").run()
    at.slider(key="gf_seeds").set_value(8).run()
    at.slider(key="gf_depth").set_value(2).run()
    assert not at.exception and figure_keys(at) == KEYS
    at.slider(key="gf_seeds").set_value(1).run()
    at.select_slider(key="gf_dim").set_value(256).run()  # the largest width, one seed
    assert not at.exception and figure_keys(at) == KEYS
    at.button_group(key="gf_placements").set_value([]).run()
    assert not at.exception and "at least one placement" in at.info[0].value


# --- links ---

GF_LINK = {"gf_norm": "RMSNorm", "gf_depth": "5", "gf_dim": "16", "gf_heads": "2", "gf_batch": "2", "gf_seeds": "3",
           "gf_placements": ["Pre-LN", "no norm"]}  # fmt: skip
GF_RESTORED = {("selectbox", "gf_norm"): "rmsnorm", ("slider", "gf_depth"): 5, ("select_slider", "gf_dim"): 16,
               ("select_slider", "gf_heads"): 2, ("select_slider", "gf_batch"): 2, ("slider", "gf_seeds"): 3,
               ("button_group", "gf_placements"): ["pre", "none"]}  # fmt: skip


@pytest.fixture(scope="module")
def gf_link(csv_files):
    at = open_link("gradient-flow", GF_LINK, GF_RESTORED, csv_files=csv_files)
    return at, dict(csv_files)


def test_gradient_flow_link_restores_every_control(gf_link):
    at, _ = gf_link
    assert at.query_params["gf_placements"] == ["Pre-LN", "no norm"]  # the URL keeps the view
    assert {k: v for k, v in at.query_params.items() if k != "gf_placements"} == {
        k: v for k, v in GF_LINK.items() if k != "gf_placements"
    }
    layers = figure(at, "gf_layers")
    assert [t["name"] for t in layers["data"]] == ["Pre-LN", "no norm"]
    np.testing.assert_array_equal(layers["data"][0]["x"], np.arange(1, 6))  # L = 5 layers drawn


def test_gradient_flow_csv_is_the_layer_chart(gf_link):
    at, files = gf_link
    cols = csv_columns(files, "normviz-gradient-flow.csv")
    assert list(cols) == ["layer"] + [f"grad_{p}_{s}" for p in ("pre", "none") for s in ("mean", "min", "max")]
    for trace, p in zip(figure(at, "gf_layers")["data"], ("pre", "none"), strict=True):
        np.testing.assert_array_equal(trace["x"], cols["layer"].astype(np.float32))
        mean = cols[f"grad_{p}_mean"].astype(np.float32)  # the figure sends float32
        np.testing.assert_array_equal(trace["y"], mean)
        np.testing.assert_allclose(trace["error_y"]["array"], cols[f"grad_{p}_max"] - cols[f"grad_{p}_mean"],
                                   rtol=1e-5, atol=0)  # fmt: skip
        np.testing.assert_allclose(trace["error_y"]["arrayminus"], cols[f"grad_{p}_mean"] - cols[f"grad_{p}_min"],
                                   rtol=1e-5, atol=0)  # fmt: skip
        assert (cols[f"grad_{p}_min"] < cols[f"grad_{p}_max"]).all()  # three seeds really differ
    # the no-norm stack's gradients are orders of magnitude above Pre-LN's (the page's caption says so)
    assert (cols["grad_none_mean"] > 10 * cols["grad_pre_mean"]).all()


def test_gradient_flow_garbage_falls_back_with_a_notice():
    garbage = {"gf_norm": "BatchNorm", "gf_depth": "0", "gf_dim": "17", "gf_heads": "3", "gf_batch": "NaN",
               "gf_seeds": "1e99", "gf_placements": "Mid-LN", "gf_nope": "1"}  # fmt: skip
    defaults = {("selectbox", "gf_norm"): "layernorm", ("slider", "gf_depth"): 12, ("select_slider", "gf_dim"): 64,
                ("select_slider", "gf_heads"): 4, ("select_slider", "gf_batch"): 8, ("slider", "gf_seeds"): 2,
                ("button_group", "gf_placements"): ["post", "pre", "peri"]}  # fmt: skip
    at = open_garbage("gradient-flow", garbage, defaults)
    assert len(figure(at, "gf_layers")["data"]) == 3


def test_gradient_flow_default_placements_in_the_link_are_not_called_invalid():
    at = open_page("gradient-flow", {"gf_placements": ["Peri-LN", "Post-LN", "Pre-LN"], "gf_depth": "12"})
    assert not at.warning
    assert sorted(at.button_group(key="gf_placements").value) == ["peri", "post", "pre"]


def test_gradient_flow_empty_placements_in_the_link_ask_for_one():
    at = open_page("gradient-flow", {"gf_placements": ""})
    assert at.button_group(key="gf_placements").value == []
    assert not at.warning
    assert any("at least one placement" in i.value for i in at.info)


def test_a_multi_select_link_value_is_matched_item_by_item():
    from ui import links  # the app's helper package (the repository root is on sys.path under pytest)

    assert links._spells(["Pre-LN", "Post-LN"], ["post", "pre"])  # labels come from ui.labels.PLACEMENTS
    assert not links._spells(["Pre-LN"], ["post", "pre"])
    assert not links._spells(["Mid-LN"], ["post", "pre"])  # was a TypeError (a list is not a dict key)
    assert links._spells([""], [])
    assert links._spells(["0.001"], 1e-3) and not links._spells(["0.001", "0.001"], 1e-3)
