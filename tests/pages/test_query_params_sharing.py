"""Shareable links on the Groups, Instance, Coupling and Statistics cube pages: a link restores every
control and the view; garbage falls back to the defaults with one notice, never a traceback."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

ROOT = Path(__file__).resolve().parents[2]

LINKS = {
    "groups": (
        {"gn_kind": "Massive outlier features", "gn_dim": "24", "gn_G_24": "8", "gn_tokens": "1024"},
        {"gn_kind": "outliers", "gn_dim": 24, "gn_G_24": 8, "gn_tokens": 1024},
    ),
    "instance": (
        {"in_kind": "Low-rank", "in_B": "3", "in_T": "5", "in_d": "8", "in_pad": "garbage (±10)"},
        {"in_kind": "low_rank", "in_B": 3, "in_T": 5, "in_d": 8, "in_pad": "garbage (±10)"},
    ),
    "coupling": (
        {
            "cp_norm": "InstanceNorm",
            "cp_B": "2",
            "cp_T": "4",
            "cp_d": "8",
            "cp_pb_2": "2",
            "cp_pt_4": "4",
            "cp_dir": "the all-ones axis",
            "cp_s": "1.0",
        },
        {
            "cp_norm": "instancenorm",
            "cp_B": 2,
            "cp_T": 4,
            "cp_d": 8,
            "cp_pb_2": 2,
            "cp_pt_4": 4,
            "cp_dir": "ones",
            "cp_s": 1.0,
        },
    ),
    "cube": (
        {"cb_norms": ["BatchNorm", "DyT"], "cb_B": "2", "cb_T": "3", "cb_d": "4", "cb_j_4": "4"},
        {"cb_norms": ["batchnorm", "dyt"], "cb_B": 2, "cb_T": 3, "cb_d": 4, "cb_j_4": 4},
    ),
}


def _open(page: str, params: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page(f"pages/{page}.py")
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", list(LINKS))
def test_a_link_restores_every_control(page):
    link, restored = LINKS[page]
    at = _open(page, link)
    assert not at.warning, [w.value for w in at.warning]
    for key, value in restored.items():
        assert at.session_state[key] == value, key


def test_a_coupling_link_restores_the_view():
    at = _open("coupling", LINKS["coupling"][0])
    heat = component_figure(next(e for e in at.get("bidi_component") if e.key == "cp_heat"))
    raw = np.asarray(heat["data"][0]["customdata"])
    seq = np.repeat(np.arange(2), 4)
    np.testing.assert_array_equal(raw > 0, seq[:, None] == seq[None, :])  # InstanceNorm, B = 2, T = 4


@pytest.mark.parametrize(
    ("page", "garbage"),
    [
        ("groups", {"gn_G_12": "5", "gn_dim": "7", "gn_kind": "<script>"}),
        ("instance", {"in_T": "1", "in_d": "nan", "in_pad": "lava"}),
        ("coupling", {"cp_norm": "SoftmaxNorm", "cp_B": "1e99", "cp_s": "99"}),
        ("cube", {"cb_norms": ["garbage"], "cb_B": "-3", "zz_unknown": "1", "cb_nope": "x"}),
    ],
)
def test_garbage_falls_back_with_one_notice(page, garbage):
    at = _open(page, garbage)
    assert len(at.warning) == 1
    names = at.warning[0].value
    for key in garbage:
        if key.startswith(page[:2]) or key.startswith(("gn_", "in_", "cp_", "cb_")):
            assert f"`{key}`" in names, key
    assert at.get("bidi_component"), "the page still draws its views"


def _csv(data: bytes) -> dict[str, np.ndarray]:
    header, *rows = csv.reader(io.StringIO(data.decode()))
    return {col: np.array([float(r[j]) for r in rows]) for j, col in enumerate(header)}


def test_exported_csvs_hold_what_the_figures_draw(csv_files):
    at = _open("coupling", {"cp_B": "3"})
    heat = component_figure(next(e for e in at.get("bidi_component") if e.key == "cp_heat"))
    cols = _csv(csv_files["normviz-coupling.csv"])
    raw = np.asarray(heat["data"][0]["customdata"], dtype=np.float64)  # (24, 24) drawn block norms
    np.testing.assert_allclose(cols["block_norm"], raw[cols["output_token"].astype(int) - 1,
                               cols["input_token"].astype(int) - 1], rtol=1e-6)  # fmt: skip
    assert len(cols["block_norm"]) == raw.size
    at = _open("instance", {"in_B": "2"})
    view = component_figure(next(e for e in at.get("bidi_component") if e.key == "in_view"))
    cols = _csv(csv_files["normviz-instance.csv"])
    drawn = np.stack([view["data"][1][k] for k in "xyz"], 1)
    np.testing.assert_allclose(np.stack([cols[f"output_axis{i}"] for i in (1, 2, 3)], 1), drawn, rtol=1e-6)
