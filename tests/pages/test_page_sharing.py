"""AppTest for the pages on who shares statistics with whom: Statistics cube, Groups, Instance, Coupling.

Each test decodes the figure data the page sent and checks it against maths done here independently
(torch functional ops, numpy float64), then drives controls to their ends looking for tracebacks.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from normviz.core import inputs
from tests.helpers.figure_data import component_figure

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _app(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _figs(at) -> list[dict]:
    return [component_figure(e) for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view"]


def _widget(at, label):
    return next(w for w in [*at.slider, *at.select_slider, *at.selectbox, *at.radio] if w.label == label)


def _cells(trace) -> np.ndarray:
    """Integer (j, t, b) positions of the cubes in a mesh3d trace (8 vertices per cube)."""
    v = np.stack([trace["x"], trace["y"], trace["z"]], 1).reshape(-1, 8, 3)
    return np.floor(v.min(1)).astype(int)


# --- Statistics cube --------------------------------------------------------------------------


def test_cube_lights_exactly_the_cells_sharing_the_chosen_cells_statistics():
    at = _app("cube")
    fig = _figs(at)[0]
    B, T, d, G = 3, 6, 8, 4  # the page's defaults
    b, t, j = 1, 2, 4  # cell (2, 3, 5), 0-based
    expected = {  # independent: the semantics table, as sets of (j, t, b)
        "scene": {(jj, t, b) for jj in range(d)},  # LayerNorm: the token's features
        "scene2": {(jj, t, b) for jj in range(d) if jj // (d // G) == j // (d // G)},  # GroupNorm's group
        "scene3": {(j, tt, b) for tt in range(T)},  # InstanceNorm: feature j over the sequence
        "scene4": {(j, tt, bb) for tt in range(T) for bb in range(B)},  # BatchNorm: feature j, whole batch
    }
    for scene, want in expected.items():
        traces = [tr for tr in fig["data"] if tr.get("scene", "scene") == scene]
        by_name = {tr["name"]: {tuple(c) for c in _cells(tr)} for tr in traces}
        assert by_name["the chosen cell"] == {(j, t, b)}
        assert by_name.get("share its statistics", set()) | by_name["the chosen cell"] == want, scene
        assert len(by_name["other cells"]) == B * T * d - len(want)
    assert sum("exactly the highlighted set" in m.value for m in at.markdown) == 4


def test_cube_follows_the_cell_sliders_and_survives_every_end():
    at = _app("cube")
    _widget(at, "Feature j").set_value(8).run()
    fig = _figs(at)[0]
    chosen = next(tr for tr in fig["data"] if tr["name"] == "the chosen cell")
    assert {tuple(c) for c in _cells(chosen)} == {(7, 2, 1)}
    at.button_group(key="cb_norms").set_value(["rmsnorm", "dyt"]).run()
    assert not at.exception
    assert {tr.get("scene", "scene") for tr in _figs(at)[0]["data"]} == {"scene", "scene2"}
    for label in ["Sequences B", "Tokens T", "Features d"]:
        for end in (_widget(at, label).min, _widget(at, label).max):
            _widget(at, label).set_value(end).run()
            assert not at.exception, (label, end)
    at.button_group(key="cb_norms").set_value([]).run()
    assert not at.exception and any("Pick at least one norm" in i.value for i in at.info)


# --- Groups -----------------------------------------------------------------------------------


def test_groups_page_draws_each_group_on_its_circle():
    at = _app("groups")
    fig = _figs(at)[0]  # d = 12, G = 4: groups of 3, exact coordinates
    points = [tr for tr in fig["data"] if tr["type"] == "scatter3d" and tr.get("mode") == "markers"]
    assert len(points) == 4
    for tr in points:
        p = np.stack([tr["x"], tr["y"], tr["z"]], 1).astype(np.float64)
        np.testing.assert_allclose(p.sum(1), 0.0, atol=5e-5)
        assert np.median(np.linalg.norm(p, axis=1)) == pytest.approx(math.sqrt(3), rel=1e-4)
    x = inputs.sample("gaussian", batch=1, tokens=2048, dim=12, seed=0)[0].double().numpy()
    sub = x.reshape(-1, 4, 3)
    y = (sub - sub.mean(-1, keepdims=True)) / np.sqrt(sub.var(-1, keepdims=True) + 1e-5)
    hist = _figs(at)[1]["data"][0]  # exact per-group lengths: every token and group counted
    assert np.asarray(hist["y"]).sum() == 2048 * 4
    radius = np.linalg.norm(y, axis=-1)
    assert np.asarray(hist["x"]).min() <= radius.min() + 1e-3


def test_groups_page_g1_is_layernorm_and_g_d_is_zero():
    at = _app("groups")
    _widget(at, "Groups G").set_value(1).run()
    assert any("G = 1 is LayerNorm" in i.value for i in at.info)
    _widget(at, "Groups G").set_value(12).run()
    assert any("G = d sends every value to 0" in w.value for w in at.warning)
    assert not at.exception


def test_groups_page_massive_feature_and_every_d():
    at = _app("groups")
    at.selectbox(key="gn_kind").set_value("outliers").run()
    assert any("holds a massive feature" in c.value for c in at.caption)
    energy = _figs(at)[3]["data"]
    gn, ln = (np.asarray(t["customdata"]) for t in energy)
    np.testing.assert_allclose(gn, 1.0, atol=1e-3)
    assert ln.max() > 3.0
    for d in [2, 3, 256]:
        _widget(at, "Features d").set_value(d).run()
        assert not at.exception, d
        _widget(at, "Groups G").set_value(_widget(at, "Groups G").options[-1]).run()
        assert not at.exception, d


# --- Instance ---------------------------------------------------------------------------------


def test_instance_page_puts_every_feature_on_the_token_circle():
    at = _app("instance")
    fig = _figs(at)[0]  # shifted input, B = 4, T = 3, d = 64
    after = np.stack([fig["data"][1][k] for k in "xyz"], 1).astype(np.float64)
    x = inputs.sample("shifted", batch=4, tokens=3, dim=64, seed=0).double()
    ref = F.instance_norm(x.transpose(1, 2)).reshape(-1, 3).numpy()  # (B*d, T), torch itself
    np.testing.assert_allclose(np.sort(np.linalg.norm(after, axis=1)), np.sort(np.linalg.norm(ref, axis=1)), rtol=1e-5)
    np.testing.assert_allclose(after.sum(1), 0.0, atol=5e-5)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["InstanceNorm: token 1 moves"]) > 0.1
    assert float(metrics["The claim (LayerNorm, no γ, β): token 1"]) == 0.0
    assert float(metrics["InstanceNorm: token 1 of sequence 2"]) == 0.0


def test_instance_page_padding_masked_against_counted():
    at = _app("instance")
    _widget(at, "Tokens per sequence T").set_value(8).run()
    mean = _figs(at)[1]["data"]
    masked, counted = (np.asarray(t["customdata"]) for t in mean)
    assert (masked < 1e-5).all() and (counted[1:] > 1e-2).all()
    at.radio(key="in_pad").set_value("garbage (±10)").run()
    assert not at.exception
    for label in ["Sequences B", "Tokens per sequence T"]:
        for end in (_widget(at, label).min, _widget(at, label).max):
            _widget(at, label).set_value(end).run()
            assert not at.exception, (label, end)


# --- Coupling ---------------------------------------------------------------------------------


def _coupling(at) -> tuple[np.ndarray, np.ndarray]:
    heat = _figs(at)[0]["data"][0]
    return np.asarray(heat["z"], dtype=np.float64), np.asarray(heat["customdata"], dtype=np.float64)


def test_coupling_heatmap_has_each_norms_pattern_and_torchs_values():
    at = _app("coupling")
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
    at = _app("coupling")
    at.selectbox(key="cp_norm").set_value("layernorm").run()
    before = _figs(at)[1]["data"]
    _widget(at, "Displacement s (in probe RMS units)").set_value(3.0).run()
    after = _figs(at)[1]["data"]
    for tb, ta in zip(before, after, strict=True):
        if tb["mode"] != "markers":
            continue
        moved = np.abs(np.asarray(ta["x"]) - np.asarray(tb["x"])).max()
        assert (moved > 1e-3) == (tb["name"] == "the moved token"), tb["name"]
    assert any("31 stay put" in c.value for c in at.caption)


def test_coupling_edge_cases_are_explained_not_raised():
    at = _app("coupling")
    _widget(at, "Sequences B").set_value(1).run()
    _widget(at, "Tokens T").set_value(1).run()  # BatchNorm over a single token
    assert not at.exception
    assert any("at least 2 tokens" in e.value for e in at.error)
    at.selectbox(key="cp_norm").set_value("instancenorm").run()
    assert not at.exception and any("T >= 2" in e.value for e in at.error)
    at.selectbox(key="cp_norm").set_value("groupnorm").run()
    _widget(at, "Sequences B").set_value(8).run()
    _widget(at, "Tokens T").set_value(16).run()
    _widget(at, "Features d").set_value(64).run()  # 8 * 16 * 64 = 8,192: the largest Jacobian
    assert not at.exception and not at.error


def test_groups_page_on_minilms_residual_stream():
    at = _app("groups")
    at.selectbox(key="gn_kind").set_value("real").run()
    assert not at.exception and not at.error
    g = at.select_slider(key="gn_G_384")
    assert [int(o) for o in g.options] == [k for k in range(1, 385) if 384 % k == 0]  # d = 384, set by the data
    assert int(g.value) == 128  # groups of 3: each drawn exactly on its circle
    fig = _figs(at)[0]
    for tr in (t for t in fig["data"] if t["type"] == "scatter3d" and t.get("mode") == "markers"):
        p = np.stack([tr["x"], tr["y"], tr["z"]], 1).astype(np.float64)
        np.testing.assert_allclose(p.sum(1), 0.0, atol=1e-4)
        assert np.median(np.linalg.norm(p, axis=1)) == pytest.approx(math.sqrt(3), rel=1e-3)
    assert _widget(at, "Features d").disabled and _widget(at, "Tokens").disabled
