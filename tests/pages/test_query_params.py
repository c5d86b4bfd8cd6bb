"""Shareable links on the Hypersphere page: a link sets every control; garbage falls back with a notice;
MiniLM's residual stream as the input distribution."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

ROOT = Path(__file__).resolve().parents[2]

# every Hypersphere control, with a value that is not its default, as a copied link carries it
LINK = {
    "hs_norm": "RMSNorm",
    "hs_kind": "Heavy-tailed (Student-t)",
    "hs_dim": "16",
    "hs_tokens": "256",
    "hs_method": "top 3 PCs",
    "hs_seed": "7",
    "hs_eps": "0.001",
    "hs_gscale": "1.5",
    "hs_gspread": "2.0",
    "hs_beta": "-0.5",
    "hs_alpha": "1.25",
}
RESTORED = {
    ("radio", "hs_norm"): "rmsnorm",
    ("selectbox", "hs_kind"): "heavy_tailed",
    ("select_slider", "hs_dim"): 16,
    ("select_slider", "hs_tokens"): 256,
    ("radio", "hs_method"): "pca",
    ("number_input", "hs_seed"): 7,
    ("select_slider", "hs_eps"): 1e-3,
    ("slider", "hs_gscale"): 1.5,
    ("slider", "hs_gspread"): 2.0,
    ("slider", "hs_beta"): -0.5,
    ("slider", "hs_alpha"): 1.25,
}


def _open(params: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/hypersphere.py").run()
    assert not at.exception, at.exception
    return at


def _main_view(at) -> dict:
    (el, *_) = [e for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view"]
    return component_figure(el)


def test_link_restores_every_control():
    at = _open(LINK)
    for (widget, key), value in RESTORED.items():
        assert getattr(at, widget)(key=key).value == value, key
    assert not at.warning
    assert dict(at.query_params) == LINK  # the URL keeps the view
    # the view is the one the link names: 256 tokens drawn
    assert _main_view(at)["data"][0]["x"].size == 256


def test_garbage_falls_back_to_defaults_with_a_notice():
    garbage = {"hs_norm": "BatchNorm", "hs_dim": "5", "hs_eps": "-1", "hs_seed": "1e99", "hs_gscale": "NaN",
               "hs_kind": "../../etc/passwd", "hs_tokens": "9" * 400, "hs_nope": "1"}  # fmt: skip
    at = _open(garbage)
    assert at.radio(key="hs_norm").value == "layernorm"
    assert at.select_slider(key="hs_dim").value == 3
    assert at.select_slider(key="hs_eps").value == 1e-5
    assert at.number_input(key="hs_seed").value == 0
    assert at.slider(key="hs_gscale").value == 1.0
    assert at.selectbox(key="hs_kind").value == "anisotropic"
    assert at.select_slider(key="hs_tokens").value == 1024
    (notice,) = at.warning
    for key in garbage:
        assert key in notice.value
    assert _main_view(at)["data"][0]["x"].size == 1024


def test_a_default_value_in_the_link_is_not_called_invalid():
    at = _open({"hs_norm": "LayerNorm", "hs_eps": "1e-05", "hs_seed": "0"})
    assert not at.warning


def test_minilm_residual_stream_as_input():
    at = _open({"hs_kind": "Real: MiniLM's residual stream", "hs_norm": "RMSNorm", "hs_point": "4"})
    assert not at.error
    assert at.select_slider(key="hs_dim").disabled and at.select_slider(key="hs_tokens").disabled
    after = _main_view(at)["data"][1]
    pts = np.stack([after["x"], after["y"], after["z"]], axis=1)
    assert 100 < pts.shape[0] < 200  # the default paragraph's real tokens, padding excluded
    assert np.linalg.norm(pts, axis=1).max() <= math.sqrt(384) * (1 + 1e-5)  # RMSNorm: on the sphere of √d
    assert any("d = 384" in c.value for c in at.caption)


def test_upload_input_without_a_file_asks_for_one():
    at = _open({"hs_kind": "Real: your uploaded file"})
    assert any("Accepted:" in i.value for i in at.info)
    assert not at.error
