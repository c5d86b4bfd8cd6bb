"""A massive-activation token in a real batch: MiniLM's [CLS] at the input of layer 0's feed-forward-output
LayerNorm (capture point 2), against numpy float64."""

from __future__ import annotations

import numpy as np
import pytest

from normviz.experiments import batch_massive
from normviz.io import capture, token_pool


@pytest.fixture(scope="module")
def pool():
    model, tokenizer = capture.load_model(capture.MINILM)
    return token_pool.capture_pool(model, tokenizer, token_pool.doc_sentences(64), 2)


def test_cls_carries_feature_99_at_hundreds_of_times_the_median(pool):
    mb = batch_massive.massive_batch(pool, batch=8, seed=0)
    assert mb.feature == 99 and mb.massive and mb.ratio > 300
    assert mb.hit.sum() == 8 and (mb.position[mb.hit] == 0).all()  # exactly the 8 [CLS] tokens


def test_batch_norm_and_layer_norm_outputs_against_numpy(pool):
    mb = batch_massive.massive_batch(pool, batch=8, seed=1)
    x = np.concatenate([pool.sequence(int(s)).numpy().astype(np.float64) for s in mb.sequences])  # (n, d)
    v = x[:, mb.feature]
    np.testing.assert_array_equal(mb.x, v)
    np.testing.assert_allclose(mb.bn_with, (v - v.mean()) / np.sqrt(v.var() + 1e-5), rtol=1e-10, atol=1e-12)
    rest = v[~mb.hit]
    np.testing.assert_allclose(mb.bn_without[~mb.hit], (rest - rest.mean()) / np.sqrt(rest.var() + 1e-5), rtol=1e-10)
    assert np.isnan(mb.bn_without[mb.hit]).all()
    c = x - x.mean(1, keepdims=True)
    ln = c / np.sqrt((c**2).mean(1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(mb.ln, ln[:, mb.feature], rtol=1e-9, atol=1e-12)
    share = ((v - v.mean()) ** 2)[mb.hit].sum() / ((v - v.mean()) ** 2).sum()
    assert mb.variance_share == pytest.approx(share, rel=1e-12)


def test_the_massive_token_sets_its_batch_mates_scale_but_pins_only_itself_under_layer_norm(pool):
    mb = batch_massive.massive_batch(pool, batch=8, seed=0)
    assert mb.variance_share > 0.95  # the 8 [CLS] tokens carry nearly all of feature 99's batch variance
    assert mb.std_rest_with < 0.25 * mb.std_rest_without  # the others' BatchNorm outputs are squeezed together
    assert mb.ln_hit > 0.5 * np.sqrt(384)  # [CLS]'s LayerNorm output is pinned near ±√d in that feature
    assert np.median(np.abs(mb.ln[~mb.hit])) < 3  # every other token's LayerNorm output is its own, ordinary


def test_a_bad_feature_is_refused(pool):
    with pytest.raises(ValueError, match="feature must be one of 0 … 383"):
        batch_massive.massive_batch(pool, feature=384)
