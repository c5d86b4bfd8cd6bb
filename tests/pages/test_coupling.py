"""AppTest for the Coupling page: each norm's token × token Jacobian pattern with torch's values; links and the CSV.

Each test decodes the figure data the page sent and checks it against maths done here independently
(torch functional ops, numpy float64), then drives controls to their ends looking for tracebacks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.core import inputs
from tests.helpers.apptest import csv_columns, figure, figure_keys, open_garbage, open_link, open_page, widget


def _coupling(at) -> tuple[np.ndarray, np.ndarray]:
    heat = figure(at, "cp_heat")["data"][0]
    return np.asarray(heat["z"], dtype=np.float64), np.asarray(heat["customdata"], dtype=np.float64)


def test_coupling_heatmap_has_each_norms_pattern_and_torchs_values():
    at = open_page("coupling")
    logz, raw = _coupling(at)  # BatchNorm, B = 4, T = 8, d = 16
    assert not np.isnan(logz).any() and (raw > 0).all()  # dense
    at.selectbox(key="cp_norm").set_value("layernorm").run()
    logz, raw = _coupling(at)
    off = ~np.eye(32, dtype=bool)
    assert np.isnan(logz[off]).all() and (raw[off] == 0).all() and not np.isnan(np.diag(logz)).any()
    x = inputs.sample("gaussian", batch=4, tokens=8, dim=16, seed=0).double()
    J = torch.autograd.functional.jacobian(lambda v: F.layer_norm(v, (16,)), x).reshape(32, 16, 32, 16)
    ref = J.square().sum((1, 3)).sqrt().numpy()
    np.testing.assert_allclose(np.diag(raw), np.diag(ref), rtol=1e-4)
    at.selectbox(key="cp_norm").set_value("instancenorm").run()
    _, raw = _coupling(at)
    seq = np.repeat(np.arange(4), 8)
    np.testing.assert_array_equal(raw > 0, seq[:, None] == seq[None, :])


def test_coupling_slider_moves_only_the_probe_under_layernorm():
    at = open_page("coupling")
    at.selectbox(key="cp_norm").set_value("layernorm").run()
    before = figure(at, "cp_motion")["data"]
    at.session_state["cp_s"] = 3.0  # the live displacement slider (ui.live) keeps its value in session state
    at.run()
    after = figure(at, "cp_motion")["data"]
    for tb, ta in zip(before, after, strict=True):
        if tb["mode"] != "markers":
            continue
        moved = np.abs(np.asarray(ta["x"]) - np.asarray(tb["x"])).max()
        assert (moved > 1e-3) == (tb["name"] == "the moved token"), tb["name"]
    assert any("31 stay put" in c.value for c in at.caption)


def test_coupling_edge_cases_are_explained_not_raised():
    at = open_page("coupling")
    widget(at, "Sequences B").set_value(1).run()
    widget(at, "Tokens T").set_value(1).run()  # BatchNorm over a single token
    assert not at.exception
    assert any("at least 2 tokens" in e.value for e in at.error)
    at.selectbox(key="cp_norm").set_value("instancenorm").run()
    assert not at.exception and any("T >= 2" in e.value for e in at.error)
    at.selectbox(key="cp_norm").set_value("groupnorm").run()
    widget(at, "Sequences B").set_value(8).run()
    widget(at, "Tokens T").set_value(16).run()
    widget(at, "Features d").set_value(64).run()  # 8 * 16 * 64 = 8,192: the largest Jacobian
    assert not at.exception and not at.error


LINK = {"cp_norm": "InstanceNorm", "cp_B": "2", "cp_T": "4", "cp_d": "8", "cp_pb_2": "2", "cp_pt_4": "4",
        "cp_dir": "the all-ones axis", "cp_s": "1.0"}  # fmt: skip
RESTORED = {"cp_norm": "instancenorm", "cp_B": 2, "cp_T": 4, "cp_d": 8, "cp_pb_2": 2, "cp_pt_4": 4, "cp_dir": "ones",
            "cp_s": 1.0}  # fmt: skip


def test_a_link_restores_every_control():
    open_link("coupling", LINK, RESTORED)


def test_garbage_falls_back_with_one_notice():
    garbage = {"cp_norm": "SoftmaxNorm", "cp_B": "1e99", "cp_s": "99"}
    at = open_garbage("coupling", garbage)  # every key is the page's
    assert figure_keys(at), "the page still draws its views"


def test_a_coupling_link_restores_the_view():
    at = open_link("coupling", LINK)
    heat = figure(at, "cp_heat")
    raw = np.asarray(heat["data"][0]["customdata"])
    seq = np.repeat(np.arange(2), 4)
    np.testing.assert_array_equal(raw > 0, seq[:, None] == seq[None, :])  # InstanceNorm, B = 2, T = 4


def test_exported_csv_holds_what_the_heatmap_draws(csv_files):
    at = open_page("coupling", {"cp_B": "3"})
    heat = figure(at, "cp_heat")
    cols = csv_columns(csv_files, "normviz-coupling.csv")
    raw = np.asarray(heat["data"][0]["customdata"], dtype=np.float64)  # (24, 24) drawn block norms
    np.testing.assert_allclose(cols["block_norm"], raw[cols["output_token"].astype(int) - 1,
                               cols["input_token"].astype(int) - 1], rtol=1e-6)  # fmt: skip
    assert len(cols["block_norm"]) == raw.size


def test_coupling_colour_scale_is_log_over_decades_and_linear_from_0_otherwise():
    at = open_page("coupling")
    heat = figure(at, "cp_heat")["data"][0]  # BatchNorm: block sizes spanning more than a decade
    raw = np.asarray(heat["customdata"], dtype=np.float64)
    assert raw.max() / raw[raw > 0].min() > 10
    np.testing.assert_allclose(heat["z"], np.log10(raw), rtol=1e-5)  # log₁₀ colour
    assert heat["zmax"] - heat["zmin"] >= 1 and heat["colorbar"]["title"]["text"] == "log₁₀"
    (words,) = [c.value for c in at.caption if "size of the d × d block" in c.value]
    assert "log colour scale: the non-zero values span" in words
    at.selectbox(key="cp_norm").set_value("layernorm").run()
    heat = figure(at, "cp_heat")["data"][0]  # a diagonal of sizes within a factor of ~2.5 of each other
    raw = np.asarray(heat["customdata"], dtype=np.float64)
    diag = np.diag(raw)
    assert diag.max() / diag.min() < 10
    assert heat["zmin"] == 0 and heat["zmax"] == pytest.approx(diag.max(), rel=1e-6)  # linear, anchored at 0
    np.testing.assert_allclose(np.diag(heat["z"]), diag, rtol=1e-6)
    assert np.isnan(heat["z"][raw == 0]).all()  # exact zeros still blank
    (words,) = [c.value for c in at.caption if "size of the d × d block" in c.value]
    assert "linear colour from 0: the non-zero values span less than a decade" in words
