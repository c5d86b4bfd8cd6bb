"""AppTest for the Batch page: each chart decoded and checked against independent maths; its links (every
control restored, garbage falls back with one notice, old spellings still read) and the CSV of the cloud."""

from __future__ import annotations

import re

import numpy as np
import pytest

from normviz.core import inputs
from tests.helpers.apptest import csv_columns, figure, figure_keys, open_garbage, open_link, open_page, widget

KEYS = ["bt_cloud", "bt_sweep", "bt_population", "bt_train_eval", "bt_padding"]  # every chart, in page order


@pytest.fixture(scope="module")
def batch_app():
    return open_page("batch")


def _cloud(fig) -> tuple[np.ndarray, np.ndarray]:
    bn, ln = fig["data"][0], fig["data"][1]
    return np.stack([bn["x"], bn["y"], bn["z"]], 1), np.array([ln["x"][0], ln["y"][0], ln["z"][0]])


def test_cloud_is_batchnorm_and_the_diamond_is_layernorm_exactly_at_d3():
    at = open_page("batch")
    widget(at, "Features d").set_value(3).run()
    assert not at.exception
    cloud, ln_point = _cloud(figure(at, "bt_cloud"))
    assert cloud.shape == (100, 3)
    probe = inputs.sample("gaussian", batch=1, tokens=1, dim=3, seed=0)[0, 0].double().numpy()
    ref = (probe - probe.mean()) / np.sqrt(probe.var() + 1e-5)  # numpy LayerNorm, float64
    np.testing.assert_allclose(ln_point, ref, atol=1e-5)
    # every BatchNorm output differs from batch to batch: a cloud, not a point
    assert np.linalg.norm(cloud - cloud.mean(0), axis=1).mean() > 0.05


def test_cloud_shrinks_as_batch_grows_on_one_set_of_axes():
    at = open_page("batch")
    spread, ranges = {}, {}
    for b in (2, 64, 512):
        at.session_state["bt_batch"] = b  # the live B slider keeps its value in session state
        at.run()
        assert not at.exception
        fig = figure(at, "bt_cloud")
        cloud, _ = _cloud(fig)
        spread[b] = np.sqrt(((cloud - cloud.mean(0)) ** 2).sum(1).mean())
        ranges[b] = np.array([fig["layout"]["scene"][ax]["range"] for ax in ("xaxis", "yaxis", "zaxis")], float)
    assert spread[64] < spread[2] / 3  # ~1/sqrt(32) = 0.18 expected; the projection keeps most of it
    np.testing.assert_array_equal(ranges[64], ranges[2])  # the same axis ranges at every B: shrinking is seen
    np.testing.assert_array_equal(ranges[512], ranges[2])
    assert any("same basis and ranges at every B" in c.value for c in at.caption)


def test_spread_chart_slope_is_minus_one_half(batch_app):
    at = batch_app
    sweep = figure(at, "bt_sweep")
    b, y = np.asarray(sweep["data"][0]["x"]), np.asarray(sweep["data"][0]["y"])
    np.testing.assert_array_equal(b, [2, 4, 8, 16, 32, 64, 128, 256, 512])
    assert np.all(np.diff(y) < 0)
    slope = np.polyfit(np.log(b[1:-1]), np.log(y[1:-1]), 1)[0]  # B = 4 ... 256, as the issue asks
    assert -0.6 < slope < -0.4
    caption = next(c.value for c in at.caption if "log–log slope" in c.value)
    assert "follows 1/√B" in caption and "This is the point of PowerNorm" not in " ".join(m.value for m in at.markdown)
    assert (
        abs(float(re.search(r"input: \*\*(-?[\d.]+)", caption).group(1)) - np.polyfit(np.log(b), np.log(y), 1)[0])
        < 1e-3
    )


def test_nlp_like_statistics_fluctuate_more(batch_app):
    pop = figure(batch_app, "bt_population")
    series = {t["name"]: np.asarray(t["y"]) for t in pop["data"]}
    gauss = series["Gaussian (image-like): variance"]
    fixed = series["Student-t, fixed length: variance"]
    nlp = series["Student-t, padded variable lengths (NLP-like): variance"]
    assert np.all(nlp > 2 * gauss)
    # the caption's numbers are the chart's: B = 2 errors and the padding factor
    caption = next(c.value for c in batch_app.caption if "padding (fewer real tokens" in c.value)
    assert f"is {gauss[0]:.2f} for Gaussian tokens, {fixed[0]:.2f} for Student-t(3)" in caption
    assert f"{nlp[0]:.2f} for padded" in caption and f"multiplies it by {nlp[0] / fixed[0]:.1f}" in caption
    assert 1.6 < nlp[0] / fixed[0] < 2.0  # seed 0: 2.44 / 1.33
    why = next(e for e in batch_app.expander if "Student-t curves jump" in e.label).markdown[0].value
    assert f"{fixed[0]:.2f}, {fixed[1]:.2f}, {fixed[2]:.2f} at B = 2, 4, 8" in why
    assert "this app's model" in why and "Shen et al." in why


def test_student_t_spread_slope_is_shown_and_explained():
    at = open_page("batch", {"bt_kind": "Heavy-tailed (Student-t)"})
    sweep = figure(at, "bt_sweep")
    b, y = np.asarray(sweep["data"][0]["x"]), np.asarray(sweep["data"][0]["y"])
    slope = np.polyfit(np.log(b), np.log(y), 1)[0]
    assert abs(slope + 0.5) > 0.1  # seed 0: -0.274
    caption = next(c.value for c in at.caption if "log–log slope" in c.value)
    assert f"**{slope:.3f}**" in caption and "does **not** follow 1/√B" in caption
    text = " ".join(m.value for m in at.markdown)
    assert "This is the point of PowerNorm" in text and f"Fitted here: {slope:.2f}" in text
    assert "**infinite fourth moment**" in text
    assert "quadratic mean" in text and "running statistics in the forward pass" in text


def test_batch_renorm_with_tight_clips_is_batchnorm_and_with_loose_clips_is_eval():
    at = open_page("batch")
    te = figure(at, "bt_train_eval")
    bn, rn = (np.asarray(t["y"]) for t in te["data"][:2])
    assert np.all(rn < 1e-4) and np.all(bn > 0.1)  # loose clips: train output equals eval output
    at.slider(key="bt_rmax").set_value(1.0).run()
    at.slider(key="bt_dmax").set_value(0.0).run()
    assert not at.exception
    bn2, rn2 = (np.asarray(t["y"]) for t in figure(at, "bt_train_eval")["data"][:2])
    np.testing.assert_allclose(rn2, bn2, rtol=1e-4)
    assert bn2[0] > bn2[-1]  # the gap grows as B shrinks


def test_every_control_to_its_ends():
    at = open_page("batch")
    at.selectbox(key="bt_kind").set_value("outliers").run()
    for w in [*at.select_slider, *at.slider]:
        ends = (w.min, w.max) if w.type == "slider" else (w.options[0], w.options[-1])
        for end in ends:
            value = end if w.type == "slider" else type(w.value)(end)
            w.set_value(value).run()
            assert not at.exception, (w.label, end, at.exception)
            assert figure_keys(at) == KEYS, (w.label, end, [e.value for e in at.error])
    for option in ["0.01", "None (cumulative average)"]:
        at.selectbox(key="bt_momentum").set_value(option).run()
        assert not at.exception


# --- links ---

# every Batch control, with a value that is not its default, as a copied link carries it
LINK = {"bt_kind": "Heavy-tailed (Student-t)", "bt_batch": "16", "bt_tokens": "2", "bt_dim": "3", "bt_batches": "20",
        "bt_momentum": "0.5", "bt_steps": "50", "bt_rmax": "2.0", "bt_dmax": "1.5"}  # fmt: skip
RESTORED = {("selectbox", "bt_kind"): "heavy_tailed", "bt_batch": 16,
            ("select_slider", "bt_tokens"): 2, ("select_slider", "bt_dim"): 3, ("select_slider", "bt_batches"): 20,
            ("selectbox", "bt_momentum"): "0.5", ("select_slider", "bt_steps"): 50, ("slider", "bt_rmax"): 2.0,
            ("slider", "bt_dmax"): 1.5}  # fmt: skip


@pytest.fixture(scope="module")
def bt_link(csv_files):
    at = open_link("batch", LINK, RESTORED, csv_files=csv_files)
    return at, dict(csv_files)


def test_link_restores_every_control(bt_link):
    at, _ = bt_link
    assert dict(at.query_params) == LINK  # the URL keeps the view
    assert figure_keys(at) == KEYS
    cloud, _ = _cloud(figure(at, "bt_cloud"))
    assert cloud.shape == (20, 3)  # K = 20 batches, d = 3 drawn exactly


def test_csv_is_the_drawn_cloud(bt_link):
    at, files = bt_link
    cols = csv_columns(files, "normviz-batch-cloud.csv")
    assert list(cols) == ["batch", "bn_axis1", "bn_axis2", "bn_axis3"]
    np.testing.assert_array_equal(cols["batch"], np.arange(20))
    bn = figure(at, "bt_cloud")["data"][0]
    for a, axis in enumerate("xyz"):  # the figure sends float32 of the same float64 values
        np.testing.assert_array_equal(cols[f"bn_axis{a + 1}"].astype(np.float32), bn[axis])


def test_garbage_falls_back_with_one_notice():
    garbage = {"bt_kind": "<script>", "bt_batch": "3", "bt_tokens": "0", "bt_dim": "1e9", "bt_batches": "NaN",
               "bt_momentum": "0.7", "bt_steps": "-1", "bt_rmax": "99", "bt_dmax": "abc", "bt_nope": "1"}  # fmt: skip
    at = open_garbage("batch", garbage, {("selectbox", "bt_kind"): "gaussian", "bt_batch": 4,
                                         ("select_slider", "bt_tokens"): 8, ("select_slider", "bt_dim"): 64,
                                         ("select_slider", "bt_batches"): 100,
                                         ("selectbox", "bt_momentum"): "0.1 (torch default)",
                                         ("select_slider", "bt_steps"): 100, ("slider", "bt_rmax"): 3.0,
                                         ("slider", "bt_dmax"): 5.0})  # fmt: skip
    assert figure_keys(at) == KEYS  # the page still draws everything
    assert not at.error


def test_a_default_value_in_the_link_is_not_called_invalid():
    at = open_page("batch", {"bt_kind": "Isotropic Gaussian", "bt_batch": "4", "bt_momentum": "0.1 (torch default)"})
    assert not at.warning


@pytest.mark.parametrize(
    ("old", "kind"),
    [("Isotropic Gaussian (image-like)", "gaussian"), ("Heavy-tailed (Student-t, NLP-like)", "heavy_tailed")],
)
def test_an_old_link_spelling_still_restores_its_view(old, kind):
    at = open_page("batch", {"bt_kind": old, "bt_dim": "3"})  # the spellings before ui.labels.LEGACY
    assert at.selectbox(key="bt_kind").value == kind
    assert not at.warning, [w.value for w in at.warning]
    assert figure_keys(at) == KEYS
