"""AppTest for the Batch page's "your sentences" pool: text typed into the page becomes a pool of real MiniLM
tokens (one sequence per distinct sentence), the link carries the text and restores the same view, and a text
too short for batches says how to fix it."""

from __future__ import annotations

import numpy as np

from normviz.experiments import batch_real
from normviz.io import capture
from normviz.io.real_input import PoolInput
from tests.helpers.apptest import figure, open_page
from ui import labels, real_inputs, token_pools

TEXTS = labels.KINDS["text"]
# 40 sentences, 4 of them said twice: the pool keeps 36 distinct ones (a batch never holds one sentence twice)
WORDS = ["river", "engine", "window", "garden", "planet", "violin", "market", "winter", "harbour"]
SENTENCES = [f"The {w} number {i} was seen from the old bridge." for i in range(4) for w in WORDS]
TEXT = " ".join(SENTENCES + SENTENCES[:4])


def _caption(at) -> str:
    return next(c.value for c in at.caption if "real sequences of" in c.value)


def test_typed_text_becomes_a_pool_and_its_link_restores_it():
    at = open_page("batch", {"bt_kind": TEXTS, "bt_batches": "20"})  # the default text first
    assert not at.exception and not at.error
    at.text_area(key="bt_pooltext").input(TEXT).run(timeout=180)
    assert not at.exception and not at.error
    assert "**MiniLM, input of encoder.layer.0.output.LayerNorm**: 36 real sequences" in _caption(at)

    spec = PoolInput("text", 2, text=TEXT)
    pool = token_pools.get(spec)
    assert list(pool.texts) == list(dict.fromkeys(capture.split_sentences(TEXT)))  # one sequence per sentence
    model, tokenizer = real_inputs.model(capture.MINILM)
    want = capture.capture_text(model, tokenizer, [SENTENCES[5]], max_tokens=64).real(2).numpy()  # (T, d)
    np.testing.assert_allclose(pool.sequence(5).numpy(), want, rtol=1e-4, atol=1e-4)  # MiniLM's own tokens
    sweep = figure(at, "bt_sweep")["data"][0]
    clouds, _ = batch_real.probe_clouds(pool, batch_sizes=[2, 4], batches=20, probe=(0, 1))
    np.testing.assert_allclose(sweep["y"], clouds.sweep.series["BatchNorm: probe's spread"], rtol=1e-6)

    again = open_page("batch", {"bt_kind": TEXTS, "bt_batches": "20", "bt_pooltext": TEXT})  # the link, opened
    assert not again.exception and not again.error
    assert again.text_area(key="bt_pooltext").value == TEXT
    assert _caption(again) == _caption(at)
    np.testing.assert_array_equal(figure(again, "bt_sweep")["data"][0]["y"], sweep["y"])


def test_too_few_sentences_say_how_many_to_paste():
    at = open_page("batch", {"bt_kind": TEXTS, "bt_pooltext": "One short sentence. And another one."})
    assert not at.exception
    assert any("holds 2 distinct sentences" in e.value and "at least 32" in e.value for e in at.error)
