"""AppTest for the Groups page: each group of features on its own circle, a massive feature kept in its group; links.

Each test decodes the figure data the page sent and checks it against maths done here independently
(torch functional ops, numpy float64), then drives controls to their ends looking for tracebacks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from normviz.core import inputs
from tests.helpers.apptest import figure, figure_keys, live_slider, open_garbage, open_link, open_page, widget


def test_groups_page_draws_each_group_on_its_circle():
    at = open_page("groups")
    fig = figure(at, "gn_groups")  # d = 12, G = 4: groups of 3, exact coordinates
    points = [tr for tr in fig["data"] if tr["type"] == "scatter3d" and tr.get("mode") == "markers"]
    assert len(points) == 4
    for tr in points:
        p = np.stack([tr["x"], tr["y"], tr["z"]], 1).astype(np.float64)
        np.testing.assert_allclose(p.sum(1), 0.0, atol=5e-5)
        assert np.median(np.linalg.norm(p, axis=1)) == pytest.approx(math.sqrt(3), rel=1e-4)
    x = inputs.sample("gaussian", batch=1, tokens=2048, dim=12, seed=0)[0].double().numpy()
    sub = x.reshape(-1, 4, 3)
    y = (sub - sub.mean(-1, keepdims=True)) / np.sqrt(sub.var(-1, keepdims=True) + 1e-5)
    hist = figure(at, "gn_hist")["data"][0]  # exact per-group lengths: every token and group counted
    assert np.asarray(hist["y"]).sum() == 2048 * 4
    radius = np.linalg.norm(y, axis=-1)
    assert np.asarray(hist["x"]).min() <= radius.min() + 1e-3


def test_groups_page_g1_is_layernorm_and_g_d_is_zero():
    at = open_page("groups")
    at.session_state["gn_G_12"] = 1  # the live G slider (ui.live) keeps its value in session state
    at.run()
    assert any("G = 1 is LayerNorm" in i.value for i in at.info)
    at.session_state["gn_G_12"] = 12
    at.run()
    assert any("G = d sends every value to 0" in w.value for w in at.warning)
    assert not at.exception


def test_groups_page_massive_feature_and_every_d():
    at = open_page("groups")
    at.selectbox(key="gn_kind").set_value("outliers").run()
    assert any("holds a feature that is huge in every token" in c.value for c in at.caption)
    energy = figure(at, "gn_energy")["data"]
    gn, ln = (np.asarray(t["customdata"]) for t in energy)
    np.testing.assert_allclose(gn, 1.0, atol=1e-3)
    assert ln.max() > 3.0
    for d in [2, 3, 256]:
        widget(at, "Features d").set_value(d).run()
        assert not at.exception, d
        at.session_state[f"gn_G_{d}"] = int(live_slider(at, f"gn_G_{d}")["labels"][-1])
        at.run()
        assert not at.exception, d


def test_groups_page_on_minilms_residual_stream():
    at = open_page("groups")
    at.selectbox(key="gn_kind").set_value("real").run()
    assert not at.exception and not at.error
    g = live_slider(at, "gn_G_384")
    assert [int(o) for o in g["labels"]] == [k for k in range(1, 385) if 384 % k == 0]  # d = 384, set by the data
    assert at.session_state["gn_G_384"] == 128  # groups of 3: each drawn exactly on its circle
    fig = figure(at, "gn_groups")
    for tr in (t for t in fig["data"] if t["type"] == "scatter3d" and t.get("mode") == "markers"):
        p = np.stack([tr["x"], tr["y"], tr["z"]], 1).astype(np.float64)
        np.testing.assert_allclose(p.sum(1), 0.0, atol=1e-4)
        assert np.median(np.linalg.norm(p, axis=1)) == pytest.approx(math.sqrt(3), rel=1e-3)
    assert widget(at, "Features d").disabled and widget(at, "Tokens").disabled


LINK = {"gn_kind": "Outlier features (every token)", "gn_dim": "24", "gn_G_24": "8", "gn_tokens": "1024"}
RESTORED = {"gn_kind": "outliers", "gn_dim": 24, "gn_G_24": 8, "gn_tokens": 1024}


def test_a_link_restores_every_control():
    open_link("groups", LINK, RESTORED)


def test_garbage_falls_back_with_one_notice():
    garbage = {"gn_G_12": "5", "gn_dim": "7", "gn_kind": "<script>"}
    at = open_garbage("groups", garbage)  # every key is the page's
    assert figure_keys(at), "the page still draws its views"


def test_an_old_link_to_massive_outlier_features_still_opens_them():
    at = open_page("groups", {"gn_kind": "Massive outlier features"})  # ui.labels.LEGACY
    assert at.selectbox(key="gn_kind").value == "outliers" and not at.warning


def test_massive_activation_bars_start_at_zero_and_the_caption_counts_the_massive_tokens():
    at = open_page("groups")
    at.selectbox(key="gn_kind").set_value("massive").run()
    assert not at.exception
    fig = figure(at, "gn_energy")
    assert fig["layout"]["yaxis"]["range"][0] == 0  # a 1% difference between bars looks like 1%
    gn, ln = (np.asarray(t["customdata"], dtype=np.float64) for t in fig["data"])
    np.testing.assert_allclose(gn, 1.0, atol=1e-3)  # GroupNorm: every group its fair share
    assert np.ptp(ln) < 0.2  # averaged over tokens the few massive ones hardly show
    # LayerNorm, numpy float64: the share of tokens whose loudest group takes over half of the output
    x = inputs.sample("massive", batch=1, tokens=2048, dim=12, seed=0)[0].double().numpy()
    y = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    energy = (y.reshape(-1, 4, 3) ** 2).sum(-1)  # (N, G)
    j, _ = inputs.massive_feature(12, seed=0)
    share = np.mean(energy[:, j // 3] > 0.5 * energy.sum(-1))
    caption = next(c.value for c in at.caption if "Left: how loud" in c.value)
    assert f"group {j // 3 + 1} holds a massive activation" in caption
    assert f"over half of the output in {share:.1%} of tokens" in caption
