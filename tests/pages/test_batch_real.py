"""AppTest for the Batch page on real tokens: the spread, the batch-against-pool statistics and the massive token
decoded from the figures and compared with the library on the same pool; a link restores the real view.

The pool is small (64 documentation sentences, set on ui.token_pools before the page runs) and captured before
the page opens, so the page finds it ready; the full 2,000-sentence pool is in benchmarks/bench_token_pool.py."""

from __future__ import annotations

import numpy as np
import pytest

from normviz.experiments import batch_massive, batch_real
from normviz.io.real_input import PoolInput
from tests.helpers.apptest import figure, figure_keys, open_page
from ui import labels, token_pools

N = 64
DOCS = labels.KINDS["docs"]


@pytest.fixture(scope="module")
def pools():
    old = token_pools.SENTENCES
    token_pools.SENTENCES = N
    specs = [PoolInput("docs", 2, sentences=N), PoolInput("photos"), PoolInput("digits")]
    for spec in specs:
        token_pools.submit(spec).result(timeout=300)
    yield {s.source: token_pools.get(s) for s in specs}
    token_pools.SENTENCES = old


@pytest.fixture(scope="module")
def real_app(pools):
    return open_page("batch", {"bt_kind": DOCS, "bt_batches": "20"})


def test_the_real_views_are_drawn_figure_first(real_app):
    assert figure_keys(real_app)[:4] == ["bt_cloud", "bt_sweep", "bt_population", "bt_massive"]
    assert any("MiniLM, input of encoder.layer.0.output.LayerNorm" in c.value for c in real_app.caption)


def test_spread_from_the_figure_is_the_librarys(real_app, pools):
    sweep = figure(real_app, "bt_sweep")
    b, y = np.asarray(sweep["data"][0]["x"]), np.asarray(sweep["data"][0]["y"])
    np.testing.assert_array_equal(b, [2, 4, 8])  # B ≤ S/8 = 8
    clouds, overlaps = batch_real.probe_clouds(pools["docs"], batch_sizes=[2, 4, 8], batches=20, probe=(0, 1))
    np.testing.assert_allclose(y, clouds.sweep.series["BatchNorm: probe's spread"], rtol=1e-6)
    assert y[0] > y[-1]
    assert any(f"{overlaps[-1]:.2f}" in c.value and "share on average" in c.value for c in real_app.caption)


def test_population_statistics_from_the_figure_are_the_librarys(real_app, pools):
    fig = figure(real_app, "bt_population")
    series = {t["name"]: np.asarray(t["y"]) for t in fig["data"]}
    mine = batch_real.pool_stats(pools["docs"], batch_sizes=[2, 4, 8], batches=20)
    np.testing.assert_allclose(series["this pool: mean"], mine.mean_error, rtol=1e-6)
    np.testing.assert_allclose(series["this pool: variance"], mine.var_error, rtol=1e-6)
    photos = batch_real.pool_stats(pools["photos"], batch_sizes=[2, 4, 8], batches=20)
    np.testing.assert_allclose(series[f"{labels.KINDS['photos']}: variance"], photos.var_error, rtol=1e-6)


def test_massive_token_figure_is_the_librarys(real_app, pools):
    fig = figure(real_app, "bt_massive")
    mb = batch_massive.massive_batch(pools["docs"], batch=8, seed=0)
    assert mb.feature == 99
    np.testing.assert_allclose(np.asarray(fig["data"][0]["y"]), mb.bn_with, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fig["data"][2]["y"]), mb.ln, rtol=1e-6, atol=1e-6)
    assert any("feature **99**" in c.value for c in real_app.caption)


def test_masking_off_counts_the_pads(pools):
    at = open_page("batch", {"bt_kind": DOCS, "bt_batches": "20", "bt_masked": "false"})
    assert not at.exception
    fig = figure(at, "bt_population")
    series = {t["name"]: np.asarray(t["y"]) for t in fig["data"]}
    counted = batch_real.pool_stats(pools["docs"], batch_sizes=[2, 4, 8], batches=20, masked=False)
    np.testing.assert_allclose(series["this pool: variance"], counted.var_error, rtol=1e-6)
    assert at.toggle(key="bt_masked").value is False


def test_image_pools_and_a_link_restore_the_view(pools):
    at = open_page("batch", {"bt_kind": labels.KINDS["photos"], "bt_batch": "16", "bt_batches": "20"})
    assert not at.exception and not at.error
    assert at.selectbox(key="bt_kind").value == "photos" and at.select_slider(key="bt_batch").value == 16
    assert "bt_massive" not in figure_keys(at)  # no [CLS] token in an image


def test_coupling_and_instance_take_real_sentences(pools):
    from normviz.experiments import coupling, instance

    at = open_page("coupling", {"cp_kind": DOCS, "cp_B": "2", "cp_T": "4", "cp_d": "16", "cp_norm": "LayerNorm"})
    assert not at.exception and not at.error
    assert any("Real tokens: MiniLM's input of capture point 2" in c.value for c in at.caption)
    cp = coupling.real_coupling("layernorm", pools["docs"], batch=2, tokens=4, dim=16, probe=2)
    assert any(f"moves {int(cp.coupled.sum()) - 1} other tokens of the 8" in c.value for c in at.caption)
    at = open_page("instance", {"in_kind": DOCS, "in_B": "4", "in_T": "3", "in_d": "16"})
    assert not at.exception and not at.error
    bars = figure(at, "in_pad_mean")
    p = instance.real_padding(pools["docs"], batch=4, dim=16, pad_value=0.0)
    np.testing.assert_allclose(np.asarray(bars["data"][1]["y"]), p.mean_counted, rtol=1e-5)


def test_train_eval_on_real_tokens_from_the_figure_is_the_librarys(real_app, pools):
    from normviz.experiments import batch_real_modes

    assert figure_keys(real_app)[4:6] == ["bt_train_eval", "bt_padding"]
    fig = figure(real_app, "bt_train_eval")
    series = {t["name"]: np.asarray(t["y"]) for t in fig["data"]}
    want = batch_real_modes.train_eval(pools["docs"], batch_sizes=[2, 4, 8], steps=100, momentum=0.1, probe=(0, 1))
    np.testing.assert_array_equal(fig["data"][0]["x"], [2, 4, 8])
    for name in ("BatchNorm: ‖train − eval‖", "Batch Renorm: ‖train − eval‖"):
        np.testing.assert_allclose(series[name], want.series[name], rtol=1e-5)
    assert any("accumulates its running statistics over 100 batches" in c.value for c in real_app.caption)


def test_padding_on_real_sentences_from_the_figure_is_the_librarys(real_app, pools):
    from normviz.experiments import batch_real_modes

    fig = figure(real_app, "bt_padding")
    ps = batch_real_modes.padding_shift(pools["docs"], batch_sizes=[2, 4, 8], batches=20)
    np.testing.assert_allclose(np.asarray(fig["data"][0]["y"]), ps.shift, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(fig["data"][1]["y"]), ps.predicted, rtol=1e-5)
    assert ps.shift[0] > 0 and ps.share[0] < ps.share[-1]
    assert any(f"{ps.share[-1]:.0%} of the positions" in c.value or f", {ps.share[-1]:.0%}" in c.value
               for c in real_app.caption)  # fmt: skip


def test_image_pools_say_why_there_is_no_padding(pools):
    at = open_page("batch", {"bt_kind": labels.KINDS["digits"], "bt_batches": "20", "bt_steps": "10"})
    assert not at.exception and not at.error
    assert "bt_padding" not in figure_keys(at) and "bt_train_eval" in figure_keys(at)
    assert any("there is no padding to show here" in i.value for i in at.info)
    assert any("needs MiniLM's [CLS] tokens" in c.value for c in at.caption)
