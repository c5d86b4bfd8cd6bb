"""The real token pool: MiniLM's residual stream over real sentences, padded batches and their masks, and the
batch statistics drawn from it, against numpy float64 and against the capture of every norm (capture_text).

A small pool (64 sentences, capture point 2) keeps this fast; the full 2,000-sentence pool is benchmarked in
benchmarks/bench_token_pool.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from normviz.experiments import batch_real
from normviz.io import capture, token_pool

N_SENTENCES = 64
POINT = 2


@pytest.fixture(scope="module")
def minilm():
    return capture.load_model(capture.MINILM)


@pytest.fixture(scope="module")
def sentences():
    return token_pool.doc_sentences(N_SENTENCES)


@pytest.fixture(scope="module")
def pool(minilm, sentences):
    model, tokenizer = minilm
    return token_pool.capture_pool(model, tokenizer, sentences, POINT)


def test_doc_sentences_are_2000_distinct_sentences_of_prose():
    s = token_pool.doc_sentences(2000)
    assert len(s) == len(set(s)) == 2000
    assert all(t[0].isupper() and t[-1] in ".!?:" and 16 <= len(t) <= 500 for t in s)
    assert ">>>" not in " ".join(s)


def test_pool_holds_the_real_tokens_capture_text_sees(minilm, sentences, pool):
    model, tokenizer = minilm
    cap = capture.capture_text(model, tokenizer, sentences, max_tokens=64)  # every norm, one padded batch
    ref = cap.inputs[POINT]  # (S, T, d)
    assert pool.n_sequences == N_SENTENCES and pool.dim == 384
    assert pool.lengths.tolist() == cap.mask.sum(1).tolist()  # variable lengths: pads excluded
    assert len(set(pool.lengths.tolist())) > 5
    for s in (0, 17, 63):
        np.testing.assert_allclose(pool.sequence(s).numpy(), ref[s][cap.mask[s]].numpy(), atol=2e-4, rtol=1e-4)
    assert pool.tokens[0][0] == "[CLS]" and pool.tokens[0][-1] == "[SEP]"
    assert "encoder.layer.0.output.LayerNorm" in pool.source
    assert pool.nbytes == pool.x.numel() * 4 + pool.lengths.nbytes


def test_a_padded_batch_holds_real_tokens_exactly_where_the_mask_says(pool):
    idx = [5, 0, 40, 12]
    x, mask = pool.batch(idx, pad_value=7.5)
    assert x.shape == (4, int(pool.lengths[idx].max()), 384)
    assert mask.sum(1).tolist() == pool.lengths[idx].tolist()
    np.testing.assert_array_equal(x[mask].numpy(), torch.cat([pool.sequence(i) for i in idx]).numpy())
    assert (x[~mask] == 7.5).all()
    with pytest.raises(ValueError, match="pick sequences 0 … 63"):
        pool.batch([64])


@pytest.mark.parametrize("masked", [True, False])
def test_batch_statistics_against_numpy_float64(pool, masked):
    index = batch_real.draw_batches(pool.n_sequences, 6, 5, seed=3)  # (K, B)
    mean, var = batch_real.batch_moments(batch_real.sequence_sums(pool), index, masked=masked)
    for k, row in enumerate(index):
        x, mask = pool.batch(row)  # pads hold 0
        a = x.numpy().astype(np.float64)
        vals = a[mask.numpy()] if masked else a.reshape(-1, a.shape[-1])  # (n, d)
        np.testing.assert_allclose(mean[k].numpy(), vals.mean(0), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(var[k].numpy(), vals.var(0), rtol=1e-8, atol=1e-8)


def test_masked_statistics_ignore_whatever_the_pads_hold(pool):
    from normviz.experiments import batch_stats

    row = batch_real.draw_batches(pool.n_sequences, 8, 1, seed=1)[0]
    x, mask = pool.batch(row, pad_value=float("nan"))
    mean, var = batch_stats.batch_stats(x, mask=mask)  # the library's masked statistics, NaN pads
    m2, v2 = batch_real.batch_moments(batch_real.sequence_sums(pool), row[None], masked=True)
    np.testing.assert_allclose(mean.numpy(), m2[0].numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(var.numpy(), v2[0].numpy(), rtol=1e-8, atol=1e-8)
    mu_pad, _ = batch_real.batch_moments(batch_real.sequence_sums(pool), row[None], masked=False)
    assert not np.allclose(mu_pad.numpy(), m2.numpy())  # counting the zero pads moves the mean


def test_draws_hold_distinct_sequences_and_the_stated_overlap():
    idx = batch_real.draw_batches(50, 8, 30, seed=0, exclude=7)  # 6 disjoint batches per permutation of 49
    assert all(len(set(r)) == 8 for r in idx) and 7 not in idx
    assert len(set(idx[:6].ravel())) == 48  # one permutation's batches are disjoint
    pairs = [len(set(a) & set(b)) for i, a in enumerate(idx) for b in idx[i + 1 :]]
    assert batch_real.overlap(idx) == pytest.approx(np.mean(pairs), rel=1e-12)


def test_probe_cloud_against_torch_batch_norm_on_each_padded_batch(pool):
    import torch.nn.functional as F

    clouds, overlaps = batch_real.probe_clouds(pool, batch_sizes=[2, 4, 8], batches=6, probe=(3, 2), seed=5)
    p = pool.sequence(3)[2].double()
    for i, B in enumerate([2, 4, 8]):
        others = batch_real.draw_batches(pool.n_sequences, B - 1, 6, seed=5 + i, exclude=3)
        ys = []
        for row in others:
            x, mask = pool.batch([3, *row.tolist()])
            real = x[mask].double()  # (n, d) the masked batch
            y = F.batch_norm(real, None, None, training=True, eps=1e-5)  # (n, d)
            ys.append(y[2].numpy())  # sequence 3 comes first: its token 2 is row 2
            np.testing.assert_allclose(real[2].numpy(), p.numpy())
        ys = np.array(ys)
        ref = np.sqrt(((ys - ys.mean(0)) ** 2).sum(1).mean())
        assert clouds.by_batch[B].rms_spread == pytest.approx(ref, rel=1e-6)
        assert overlaps[i] == pytest.approx(batch_real.overlap(others))
    assert clouds.sweep.series["BatchNorm: probe's spread"][0] > clouds.sweep.series["BatchNorm: probe's spread"][-1]


def test_pool_stats_against_numpy(pool):
    st = batch_real.pool_stats(pool, batch_sizes=[2, 8], batches=7, seed=2)
    x = pool.x.numpy().astype(np.float64)
    mu, var = x.mean(0), x.var(0)
    for i, B in enumerate([2, 8]):
        idx = batch_real.draw_batches(pool.n_sequences, B, 7, seed=2 + i)
        zm, zv, dm, dv = [], [], [], []
        for row in idx:
            v = np.concatenate([pool.sequence(int(s)).numpy().astype(np.float64) for s in row])
            zm.append((v.mean(0) - mu) / np.sqrt(var))
            zv.append((v.var(0) - var) / var)
            dm.append(np.linalg.norm(v.mean(0) - mu) / 384)
            dv.append(np.linalg.norm(v.var(0) - var) / 384)
        assert st.mean_error[i] == pytest.approx(np.sqrt(np.mean(np.square(zm))), rel=1e-8)
        assert st.var_error[i] == pytest.approx(np.sqrt(np.mean(np.square(zv))), rel=1e-8)
        assert st.dist_mean[i] == pytest.approx(np.mean(dm), rel=1e-8)
        assert st.dist_var[i] == pytest.approx(np.mean(dv), rel=1e-8)
    assert st.features_used == 384


def test_batch_sizes_are_capped_at_a_pool_over_8(pool):
    with pytest.raises(ValueError, match="over S/8 = 8"):
        batch_real.pool_stats(pool, batch_sizes=[2, 16], batches=5)
    with pytest.raises(ValueError, match="at least 2 sequences"):
        batch_real.probe_clouds(pool, batch_sizes=[1], batches=5)
    with pytest.raises(ValueError, match="not a token of this pool"):
        batch_real.probe_clouds(pool, batch_sizes=[2], batches=5, probe=(0, 999))


def test_capture_pool_refuses_bad_calls(minilm):
    model, tokenizer = minilm
    with pytest.raises(ValueError, match="Capture point 13 does not exist"):
        token_pool.capture_pool(model, tokenizer, ["A sentence."], 13)
    with pytest.raises(ValueError, match="at least one non-empty sentence"):
        token_pool.capture_pool(model, tokenizer, ["  "], 0)
    with pytest.raises(ValueError, match="cancelled"):
        token_pool.capture_pool(model, tokenizer, ["A sentence."], 0, stop=lambda: True)


def test_real_block_keeps_the_top_variance_features_of_real_sequences(pool):
    x, feats = batch_real.real_block(pool, batch=3, tokens=6, dim=16, seed=0)
    var = pool.x.numpy().astype(np.float64).var(0)
    assert x.shape == (3, 6, 16) and list(feats) == sorted(np.argsort(var)[::-1][:16].tolist())
    assert 99 in feats.tolist()  # the massive feature has the largest variance at point 2
    for b in range(3):  # each row is the first 6 real tokens of some sequence, at those features
        assert any(torch.equal(x[b], pool.sequence(s)[:6, feats]) for s in range(pool.n_sequences))
    with pytest.raises(ValueError, match="hold 999 real tokens"):
        batch_real.real_block(pool, batch=2, tokens=999, dim=4)


def test_coupling_of_real_tokens_against_autograd(pool):
    from torch.autograd.functional import jacobian

    from normviz.experiments import coupling

    x, _ = batch_real.real_block(pool, batch=2, tokens=4, dim=16, seed=1)
    ln = coupling.coupling_of("layernorm", x, probe=5)
    assert (ln.tokens > 0).sum() == 8 and np.all(np.diag(ln.tokens) > 0)  # diagonal: each token sees itself
    tok = x.reshape(8, 16)[5].double()
    ref = jacobian(lambda v: torch.nn.functional.layer_norm(v, (16,), eps=1e-5), tok).abs().numpy()
    np.testing.assert_allclose(ln.features, ref, rtol=1e-3, atol=1e-5)
    bn = coupling.coupling_of("batchnorm", x, probe=5)
    assert (bn.tokens > 0).all()  # dense: every real token moves every other


def test_instance_norm_on_real_sequences_with_their_masks(pool):
    from normviz.experiments import instance

    p = instance.real_padding(pool, batch=4, dim=32, seed=0)
    long = np.flatnonzero(pool.lengths >= 2)
    rows = long[batch_real.draw_batches(long.size, 4, 1, seed=0)[0]]
    np.testing.assert_array_equal(p.lengths, pool.lengths[rows])  # each sentence's own real length
    assert np.all(p.mean_masked == 0)  # masked: mean 0 over the real tokens (flushed at 1e-12 of the chart)
    padded = p.lengths < p.lengths.max()
    assert padded.any() and np.all(p.real_shift[padded] > 1e-3) and np.all(p.real_shift[~padded] < 1e-9)
    # the view: InstanceNorm of the real block, each feature over T tokens: mean 0, variance near 1
    v = instance.real_view(pool, batch=3, tokens=5, dim=16)
    x, _ = batch_real.real_block(pool, batch=3, tokens=5, dim=16)
    a = x.numpy().astype(np.float64)
    y = (a - a.mean(1, keepdims=True)) / np.sqrt(a.var(1, keepdims=True) + 1e-5)
    assert v.max_abs_mean < 1e-5
    assert v.var_range[0] == pytest.approx(y.var(1).min(), rel=1e-4)


def test_an_uploaded_file_with_a_mask_becomes_a_pool_of_its_real_tokens():
    import io

    from normviz.io import uploads

    rng = np.random.default_rng(0)
    lengths = np.array([5, 2, 7, 1])
    mask = np.arange(7)[None, :] < lengths[:, None]  # (B, T)
    x = np.where(mask[..., None], rng.normal(size=(4, 7, 3)), np.nan).astype(np.float32)  # NaN pads
    buf = io.BytesIO()
    np.savez(buf, activations=x, mask=mask)
    up = uploads.load("acts.npz", buf.getvalue())
    pool = token_pool.from_padded(up.x, up.mask, "upload")
    assert pool.lengths.tolist() == lengths.tolist()
    xb, mb = pool.batch([2, 0])
    np.testing.assert_array_equal(mb.numpy(), mask[[2, 0]])
    np.testing.assert_array_equal(xb[mb].numpy(), np.concatenate([x[2][mask[2]], x[0][mask[0]]]))


@pytest.mark.parametrize(("batch", "tokens", "dim"), [(2, 8, 5), (3, 8, 1), (5, 2, 9), (1, 1, 1), (4, 3, 2)])
def test_fit_block_is_the_largest_block_real_block_can_cut(batch, tokens, dim):
    lengths = np.array([2, 7, 3, 5])
    p = token_pool.TokenPool(torch.randn(int(lengths.sum()), 3), lengths, "made up")
    B, T, d = batch_real.fit_block(p, batch=batch, tokens=tokens, dim=dim)
    assert B == min(batch, 4) and d == min(dim, 3)
    # brute force: the largest T ≤ tokens that at least B sequences reach
    assert T == max(t for t in range(1, tokens + 1) if (lengths >= t).sum() >= B)
    x, _ = batch_real.real_block(p, batch=B, tokens=T, dim=d)
    assert tuple(x.shape) == (B, T, d)
    if T < tokens:
        with pytest.raises(ValueError, match="hold"):
            batch_real.real_block(p, batch=B, tokens=T + 1, dim=d)
