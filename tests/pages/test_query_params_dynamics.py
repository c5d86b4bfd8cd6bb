"""Shareable links on the Gradient flow, Jacobian and Attention pages: a link sets every control; garbage falls
back to the defaults with a notice; the CSV export under the main figure holds the points that figure draws."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

ROOT = Path(__file__).resolve().parents[2]


def _open(page: str, params: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _views(at) -> dict[str, dict]:
    """key -> decoded figure of every ui.plotly_view on the page."""
    return {
        e.proto.id.rsplit("-", 1)[-1]: component_figure(e)
        for e in at.get("bidi_component")
        if e.proto.component_name == "normviz.plotly_view"
    }


def _csv(files: dict[str, bytes], name: str) -> dict[str, np.ndarray]:
    """The exported CSV ``name`` as columns (numbers as float64, text as str)."""
    header, *rows = csv.reader(io.StringIO(files[name].decode()))
    out = {}
    for j, col in enumerate(header):
        values = [r[j] for r in rows]
        try:
            out[col] = np.array(values, dtype=np.float64)
        except ValueError:
            out[col] = np.array(values)
    return out


def _check_restored(at, restored: dict) -> None:
    for (widget, key), value in restored.items():
        assert getattr(at, widget)(key=key).value == value, key


# --- Gradient flow ----------------------------------------------------------------------------

GF_LINK = {
    "gf_norm": "RMSNorm",
    "gf_depth": "5",
    "gf_dim": "16",
    "gf_heads": "2",
    "gf_batch": "2",
    "gf_seeds": "3",
    "gf_placements": ["Pre-LN", "no norm"],
}
GF_RESTORED = {
    ("selectbox", "gf_norm"): "rmsnorm",
    ("slider", "gf_depth"): 5,
    ("select_slider", "gf_dim"): 16,
    ("select_slider", "gf_heads"): 2,
    ("select_slider", "gf_batch"): 2,
    ("slider", "gf_seeds"): 3,
    ("button_group", "gf_placements"): ["pre", "none"],
}


@pytest.fixture(scope="module")
def gf_link(csv_files):
    csv_files.clear()
    at = _open("gradient-flow", GF_LINK)
    return at, dict(csv_files)


def test_gradient_flow_link_restores_every_control(gf_link):
    at, _ = gf_link
    _check_restored(at, GF_RESTORED)
    assert not at.warning
    assert at.query_params["gf_placements"] == ["Pre-LN", "no norm"]  # the URL keeps the view
    assert {k: v for k, v in at.query_params.items() if k != "gf_placements"} == {
        k: v for k, v in GF_LINK.items() if k != "gf_placements"
    }
    layers = _views(at)["gf_layers"]
    assert [t["name"] for t in layers["data"]] == ["Pre-LN", "no norm"]
    np.testing.assert_array_equal(layers["data"][0]["x"], np.arange(1, 6))  # L = 5 layers drawn


def test_gradient_flow_csv_is_the_layer_chart(gf_link):
    at, files = gf_link
    cols = _csv(files, "normviz-gradient-flow.csv")
    assert list(cols) == ["layer"] + [f"grad_{p}_{s}" for p in ("pre", "none") for s in ("mean", "min", "max")]
    for trace, p in zip(_views(at)["gf_layers"]["data"], ("pre", "none"), strict=True):
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
    at = _open("gradient-flow", garbage)
    _check_restored(at, {("selectbox", "gf_norm"): "layernorm", ("slider", "gf_depth"): 12,
                         ("select_slider", "gf_dim"): 64, ("select_slider", "gf_heads"): 4,
                         ("select_slider", "gf_batch"): 8, ("slider", "gf_seeds"): 2,
                         ("button_group", "gf_placements"): ["post", "pre", "peri"]})  # fmt: skip
    (notice,) = at.warning
    for key in garbage:
        assert key in notice.value
    assert len(_views(at)["gf_layers"]["data"]) == 3


def test_gradient_flow_default_placements_in_the_link_are_not_called_invalid():
    at = _open("gradient-flow", {"gf_placements": ["Peri-LN", "Post-LN", "Pre-LN"], "gf_depth": "12"})
    assert not at.warning
    assert sorted(at.button_group(key="gf_placements").value) == ["peri", "post", "pre"]


def test_gradient_flow_empty_placements_in_the_link_ask_for_one():
    at = _open("gradient-flow", {"gf_placements": ""})
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


# --- Jacobian ---------------------------------------------------------------------------------

JC_LINK = {
    "jc_norm": "RMSNorm",
    "jc_up": "axis e₂",
    "jc_scale": "0.4",
    "jc_az": "-120",
    "jc_el": "35",
}
JC_RESTORED = {
    ("radio", "jc_norm"): "rmsnorm",
    ("selectbox", "jc_up"): "e2",
    ("select_slider", "jc_scale"): 0.4,
    ("slider", "jc_az"): -120,
    ("slider", "jc_el"): 35,
}


def test_jacobian_link_restores_every_control(csv_files):
    csv_files.clear()
    at = _open("jacobian", JC_LINK)
    _check_restored(at, JC_RESTORED)
    assert not at.warning
    assert dict(at.query_params) == JC_LINK
    # the input arrow is the link's x = s·u(azimuth, elevation)
    (x,) = [t for t in _views(at)["jc_view"]["data"] if t["type"] == "scatter3d" and t["name"] == "input x"]
    a, e = np.radians(-120), np.radians(35)
    u = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    np.testing.assert_allclose([x["x"][1], x["y"][1], x["z"][1]], 0.4 * u, atol=1e-6)
    # the CSV holds every drawn arrow: its tail and tip are the line trace's two points
    cols = _csv(csv_files, "normviz-jacobian.csv")
    lines = {t["name"]: t for t in _views(at)["jc_view"]["data"] if t.get("legendgroup") and t["type"] == "scatter3d"}
    assert list(cols["arrow"]) == list(lines)
    for i, t in enumerate(lines.values()):
        for a, axis in enumerate("xyz"):
            assert np.float32(cols[f"tail_x{a + 1}"][i]) == t[axis][0]
            assert np.float32(cols[f"tip_x{a + 1}"][i]) == t[axis][1]


def test_jacobian_garbage_falls_back_with_a_notice():
    garbage = {"jc_norm": "layernorm", "jc_up": "e4", "jc_scale": "0", "jc_az": "181", "jc_el": "abc"}
    at = _open("jacobian", garbage)
    _check_restored(at, {("radio", "jc_norm"): "layernorm", ("selectbox", "jc_up"): "tangent",
                         ("select_slider", "jc_scale"): 2.5, ("slider", "jc_az"): 10,
                         ("slider", "jc_el"): 5})  # fmt: skip
    (notice,) = at.warning
    for key in garbage:
        if key != "jc_norm":
            assert key in notice.value
    assert not at.error


def test_jacobian_default_values_in_the_link_are_not_called_invalid():
    at = _open("jacobian", {"jc_norm": "LayerNorm", "jc_scale": "2.5", "jc_az": "10"})
    assert not at.warning


# --- Attention --------------------------------------------------------------------------------

AT_LINK = {
    "at_scale": "0.3",
    "at_dim": "16",
    "at_tokens": "8",
    "at_n": "12",
    "at_kdim": "4",
    "at_sets": "50",
    "at_seed": "7",
}
AT_RESTORED = {
    ("select_slider", "at_scale"): 0.3,
    ("select_slider", "at_dim"): 16,
    ("select_slider", "at_tokens"): 8,
    ("select_slider", "at_n"): 12,
    ("select_slider", "at_kdim"): 4,
    ("select_slider", "at_sets"): 50,
    ("number_input", "at_seed"): 7,
}


def test_attention_link_restores_every_control(csv_files):
    csv_files.clear()
    at = _open("attention", AT_LINK)
    _check_restored(at, AT_RESTORED)
    assert not at.warning
    assert dict(at.query_params) == AT_LINK
    views = _views(at)
    assert views["at_maps"]["data"][0]["z"].size == 8 * 8  # T = 8: an 8 × 8 attention matrix
    keys = views["at_keys"]["data"]
    (raw,) = [t for t in keys if t["name"].startswith("raw keys")]
    assert raw["x"].size == 12  # n = 12 keys drawn
    cols = _csv(csv_files, "normviz-attention-keys.csv")
    np.testing.assert_array_equal(cols["key"], np.arange(1, 13))
    (normalized,) = [t for t in keys if t["name"].startswith("LayerNorm(x)")]
    for a, axis in enumerate("xyz"):  # the figure sends float32 of the same float64 values
        np.testing.assert_array_equal(cols[f"raw_k{a + 1}"].astype(np.float32), raw[axis])
        np.testing.assert_array_equal(cols[f"layernorm_k{a + 1}"].astype(np.float32), normalized[axis])
    inside = next(t for t in keys if t["name"].startswith("projected: unselectable"))
    assert int((cols["unselectable"] == "True").sum()) == inside["x"].size


def test_attention_garbage_falls_back_with_a_notice():
    garbage = {"at_scale": "1e9", "at_dim": "-64", "at_tokens": "", "at_n": "3", "at_kdim": "2", "at_sets": "x",
               "at_seed": "1000", "at_zzz": "<script>"}  # fmt: skip
    at = _open("attention", garbage)
    _check_restored(at, {("select_slider", "at_scale"): 10.0, ("select_slider", "at_dim"): 64,
                         ("select_slider", "at_tokens"): 32, ("select_slider", "at_n"): 8,
                         ("select_slider", "at_kdim"): 3, ("select_slider", "at_sets"): 100,
                         ("number_input", "at_seed"): 0})  # fmt: skip
    (notice,) = at.warning
    for key in garbage:
        assert key in notice.value
    assert not at.error
