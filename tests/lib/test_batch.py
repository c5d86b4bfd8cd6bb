"""normviz.batch against independent references: torch's own F.batch_norm / nn.BatchNorm1d in plain loops,
and numpy float64 written out here.

Tolerances. The library takes each batch's statistics from float64 sums of float32 tokens; F.batch_norm on
the CPU accumulates in double too and normalizes in float32. Outputs are O(1), so they agree to a few float32
ulps: ATOL = RTOL = 1e-5 per output (measured ~1e-7), and spreads (an RMS over 100 x 64 such outputs) to
RTOL_SPREAD = 1e-6 (measured ~1e-8). numpy float64 references of running statistics are compared to torch's
float32 buffers at 1e-5. Statistical claims (slopes, error sizes) get tolerances from their sampling error,
stated where they are used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.core import checks, inputs
from normviz.experiments import batch, batch_running, batch_stats

ATOL = RTOL = 1e-5
RTOL_SPREAD = 1e-6
EPS = 1e-5


# --- slow references: the documented draws, then torch's F.batch_norm one batch at a time -------------


def ref_probe_outputs(kind, *, B, T, d, K, seed=0, eps=EPS):
    """(K, d) float64: the probe's output from F.batch_norm on each batch, in a plain loop."""
    probe = inputs.sample(kind, batch=1, tokens=1, dim=d, seed=seed)[0, 0]
    x = inputs.sample(kind, batch=K * B, tokens=T, dim=d, seed=seed)
    ys = []
    for k in range(K):
        xb = x[k * B : (k + 1) * B].reshape(B * T, d).clone()  # batch k: sequences kB ... kB + B - 1
        xb[0] = probe
        ys.append(F.batch_norm(xb, None, None, training=True, eps=eps)[0].double())
    return torch.stack(ys)


def rms_spread(y):
    return math.sqrt(float((y - y.mean(dim=0)).square().sum(dim=1).mean()))


# --- one token in many batches -------------------------------------------------------------------


def test_probe_spread_falls_like_one_over_sqrt_b():
    sizes = [4, 8, 16, 32, 64, 128, 256]
    spread = batch.probe_spread("gaussian", batch_sizes=sizes, tokens=8, dim=64, batches=100)
    slope = np.polyfit(np.log(sizes), np.log(spread), 1)[0]
    assert slope == pytest.approx(-0.5, abs=0.1), f"log-log slope {slope:.3f}, spreads {spread}"


@pytest.mark.parametrize("kind", inputs.KINDS)
@pytest.mark.parametrize(("B", "T", "d"), [(2, 3, 8), (5, 1, 3), (3, 4, 17)])
def test_probe_spread_equals_plain_loop_of_f_batch_norm(kind, B, T, d):
    K = 12
    ref = ref_probe_outputs(kind, B=B, T=T, d=d, K=K, seed=7)
    spread = batch.probe_spread(kind, batch_sizes=[B], tokens=T, dim=d, batches=K, seed=7)
    assert spread[0] == pytest.approx(rms_spread(ref), rel=RTOL_SPREAD)
    out = batch.probe_outputs(kind, batch=B, tokens=T, dim=d, batches=K, seed=7)
    atol = torch.full((d,), ATOL, dtype=torch.float64)
    if kind == "massive" and T == 1:
        # every token is a sequence's token 0, so feature j holds the same m in every token: its batch variance is 0
        # and BatchNorm's output 0 in exact arithmetic; float32 rounds the mean by ~|m|·2⁻²⁴ per operation, which
        # the division by √ε (≈ 3e-3) amplifies. Allow that, and only that, on this one feature.
        j, m = inputs.massive_feature(d, seed=7)
        atol[j] = 8 * m * 2.0**-24 / 1e-5**0.5
        assert ref[:, j].abs().max() <= atol[j]  # the reference is (close to) 0 there too
    assert ((out.batchnorm.double() - ref).abs() <= atol + RTOL * ref.abs()).all()


def test_probe_spread_default_sizes_match_reference_at_two_b():
    sizes = [2, 4, 8, 16]
    spread = batch.probe_spread("heavy_tailed", batch_sizes=sizes, tokens=8, dim=64)
    for B, s in zip(sizes, spread, strict=True):
        assert s == pytest.approx(rms_spread(ref_probe_outputs("heavy_tailed", B=B, T=8, d=64, K=100)), rel=1e-6)


def test_probe_spread_is_reproducible_and_each_b_independent_of_the_list():
    kw = {"tokens": 4, "dim": 16, "batches": 20, "seed": 3}
    a = batch.probe_spread("clustered", batch_sizes=[8, 2, 32], **kw)
    assert a == batch.probe_spread("clustered", batch_sizes=[8, 2, 32], **kw)
    assert a == [batch.probe_spread("clustered", batch_sizes=[B], **kw)[0] for B in (8, 2, 32)]
    assert a != batch.probe_spread("clustered", batch_sizes=[8, 2, 32], **{**kw, "seed": 4})


def test_probe_outputs_cloud_layernorm_point_and_progress():
    out = batch.probe_outputs("shifted", batch=16, tokens=4, dim=3, batches=30, seed=2)
    probe = inputs.sample("shifted", batch=1, tokens=1, dim=3, seed=2)[0, 0]
    assert torch.equal(out.probe, probe)
    torch.testing.assert_close(out.layernorm, F.layer_norm(probe, (3,), eps=EPS))
    assert out.batchnorm.shape == (30, 3) and out.batchnorm.dtype == torch.float32
    seen = []
    spread = batch.probe_spread(
        "shifted", batch_sizes=[4, 16], tokens=4, dim=3, batches=30, seed=2, progress=seen.append
    )
    assert spread[1] == pytest.approx(rms_spread(out.batchnorm.double()), rel=1e-6)
    assert seen == [0.2, 1.0]  # after B = 4 of 4 + 16, then all


def test_probe_spread_is_scale_invariant_and_eps_matters_only_for_tiny_scale():
    kw = {"batch_sizes": [4], "tokens": 4, "dim": 8, "batches": 20}
    base = batch.probe_spread("gaussian", **kw)[0]
    # eps = 1e-5 is tiny against variance 1 but dominates a variance of 1e-6 * 1: compare eps scaled with it
    assert batch.probe_spread("gaussian", eps=1e-5 * 1e6, **kw)[0] < 0.5 * base


# --- batch statistics against the population -----------------------------------------------------


def _padded(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 4, 6, 5, generator=g, dtype=torch.float64)  # (K, B, T, d)
    lengths = torch.randint(1, 7, (3, 4, 1), generator=g)
    mask = torch.arange(6) < lengths  # (K, B, T)
    return x, mask


def test_batch_stats_masked_ignore_garbage_and_unmasked_do_not():
    x, mask = _padded()
    clean = x.clone()
    garbage = torch.tensor([float("nan"), 1e30, -3e38, 50.0, 7.0], dtype=torch.float64)  # (d,)
    x[~mask] = garbage.expand(int((~mask).sum()), 5)  # (n_pad, d): NaN, overflow and finite junk
    mean, var = batch_stats.batch_stats(x.float(), mask=mask)
    xn, mn = clean.float().double().numpy(), mask.numpy()
    for k in range(3):
        real = xn[k][mn[k]]  # (n_real, d) float64
        np.testing.assert_allclose(mean[k].numpy(), real.mean(axis=0), atol=1e-12, rtol=1e-12)
        np.testing.assert_allclose(var[k].numpy(), real.var(axis=0), atol=1e-12, rtol=1e-12)
    finite = clean.clone()
    finite[~mask] = 50.0  # finite garbage: counted, it moves the statistics
    mean_u, var_u = batch_stats.batch_stats(finite)
    assert (mean_u - mean).abs().min() > 1.0 and (var_u - var).abs().min() > 1.0


def test_batch_stats_unmasked_equals_numpy():
    x, _ = _padded(1)
    mean, var = batch_stats.batch_stats(x)
    flat = x.numpy().reshape(3, 24, 5)  # (K, B*T, d)
    np.testing.assert_allclose(mean.numpy(), flat.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(var.numpy(), flat.var(axis=1), rtol=1e-12)


def test_gaussian_stats_error_matches_sampling_theory():
    # For n = B*T Gaussian tokens: RMS (mu_B - mu)/sigma = 1/sqrt(n); RMS (var_B - var)/var ~ sqrt(2/n).
    # 100 batches x 64 features: the RMS has ~1% sampling error; the population estimate adds < 1%. Allow 10%.
    sizes = [2, 8, 32]
    err = batch_stats.stats_error("gaussian", batch_sizes=sizes, tokens=8, dim=64, batches=100)
    for B, m, v in zip(sizes, err.mean_error, err.var_error, strict=True):
        n = B * 8
        assert m == pytest.approx(1 / math.sqrt(n), rel=0.1)
        assert v == pytest.approx(math.sqrt((2 * n - 1) / n**2), rel=0.1)  # biased variance: 2(n-1)/n^2 + 1/n^2
    assert err.pad_share == (0.0, 0.0, 0.0)


def test_nlp_like_batch_statistics_fluctuate_more_than_gaussian():
    sizes = [4, 16, 64]
    kw = {"batch_sizes": sizes, "tokens": 8, "dim": 64, "batches": 100}
    gauss = batch_stats.stats_error("gaussian", **kw)
    heavy = batch_stats.stats_error("heavy_tailed", **kw)
    for g, h in zip(gauss.var_error, heavy.var_error, strict=True):
        assert h > 3 * g, (gauss, heavy)  # Student-t(3) has no fourth moment: its batch variances swing
    # padding counted as tokens (variable-length sequences) adds an error that does not shrink with B
    padded = batch_stats.stats_error("shifted", variable_length=True, masked=False, **kw)
    masked = batch_stats.stats_error("shifted", variable_length=True, masked=True, **kw)
    fixed = batch_stats.stats_error("shifted", **kw)
    assert all(0.3 < s < 0.6 for s in padded.pad_share)  # lengths uniform on 1..8: expected share 7/16
    for p, m in zip(padded.mean_error, masked.mean_error, strict=True):
        assert p > 3 * m
    assert padded.mean_error[-1] > 0.8 * padded.mean_error[0]  # a bias, not noise: B = 64 barely helps
    for m, f in zip(masked.mean_error, fixed.mean_error, strict=True):
        assert f < m < 2 * f  # masked: fewer real tokens only, so a bit noisier than full sequences


def test_student_t_spread_misses_one_over_root_b_and_the_gaussian_follows_it():
    # the page's defaults (T = 8, d = 64, K = 100, B = 2 ... 512), seed 0: measured -0.274 and -0.489
    # (seeds 1, 2: -0.311, -0.282 and -0.498, -0.497). Student-t(3) has no fourth moment, so the batch
    # variance's error falls like n^(-1/3), not n^(-1/2)
    sizes = [2, 4, 8, 16, 32, 64, 128, 256, 512]
    kw = {"batch_sizes": sizes, "tokens": 8, "dim": 64, "batches": 100, "seed": 0}
    heavy, gauss = batch.clouds("heavy_tailed", **kw).sweep.slope, batch.clouds("gaussian", **kw).sweep.slope
    assert abs(heavy + 0.5) > 0.1 and -0.4 < heavy < -0.2, heavy
    assert abs(gauss + 0.5) < 0.1, gauss


def test_clouds_share_one_basis_and_one_range_and_give_the_sweep():
    kw = {"tokens": 4, "dim": 16, "batches": 30, "seed": 1}
    cs = batch.clouds("gaussian", batch_sizes=[2, 8, 64], **kw)
    ranges = [c.ranges for c in cs.by_batch.values()]
    for r in ranges[1:]:
        np.testing.assert_array_equal(r, ranges[0])  # one cube for every B
    np.testing.assert_allclose(np.diff(ranges[0], axis=1)[:, 0], np.diff(ranges[0], axis=1)[0, 0])  # equal sides
    lo, hi = ranges[0][:, 0], ranges[0][:, 1]
    for c in cs.by_batch.values():  # every point inside it
        assert (c.points >= lo).all() and (c.points <= hi).all() and (lo <= c.layernorm).all()
    assert cs.basis_batch == 2
    # the B = 2 cloud's own basis is the shared one: its coordinates agree with batch.cloud's
    np.testing.assert_allclose(
        np.abs(cs.by_batch[2].points), np.abs(batch.cloud("gaussian", batch_size=2, **kw).points), atol=1e-5
    )
    spread = batch.probe_spread("gaussian", batch_sizes=[2, 8, 64], **kw)
    np.testing.assert_allclose(cs.sweep.series["BatchNorm: probe's spread"], spread, rtol=1e-12)
    assert cs.by_batch[64].rms_spread < cs.by_batch[2].rms_spread / 3  # the shrinking, on one scale


def test_student_t_rms_variance_error_jumps_its_median_falls_and_padding_multiplies_it():
    # the page's population chart at T = 8, d = 64, K = 50, seed 0, B = 2, 4, 8: measured RMS 0.35 (Gaussian),
    # 1.33, 9.19, 0.86 (Student-t), 2.44 at B = 2 (padded). The RMS needs a fourth moment; the median does not.
    kw = {"batch_sizes": [2, 4, 8], "tokens": 8, "dim": 64, "batches": 50, "seed": 0}
    g = batch_stats.stats_error("gaussian", **kw)
    t = batch_stats.stats_error("heavy_tailed", **kw)
    tp = batch_stats.stats_error("heavy_tailed", variable_length=True, **kw)
    np.testing.assert_allclose(t.var_error, [1.33, 9.19, 0.86], atol=0.01)
    assert g.var_error[0] == pytest.approx(0.35, abs=0.01) and tp.var_error[0] == pytest.approx(2.44, abs=0.01)
    assert 1.6 < tp.var_error[0] / t.var_error[0] < 2.0  # "about 1.8"
    assert t.var_error[1] > t.var_error[0] > t.var_error[2]  # not monotone in B
    for e in (g, t, tp):
        assert e.var_median[0] > e.var_median[1] > e.var_median[2] > 0, e.var_median
    # the median against numpy: |var_B - var| / var over (batch, feature), from the same draws
    x = inputs.sample("heavy_tailed", batch=50 * 2 + 8192, tokens=8, dim=64, seed=0).double().numpy()
    pop = x[100:].reshape(-1, 64).var(0)
    vb = x[:100].reshape(50, 16, 64).var(1)
    lower_median = np.quantile(np.abs(vb - pop) / pop, 0.5, method="lower")  # torch.median: the lower middle
    assert t.var_median[0] == pytest.approx(float(lower_median), rel=1e-9)


# --- running statistics, train against eval, Batch Renormalization ------------------------------


def _training_batches(kind, *, B, T, d, steps, seed):
    x = inputs.sample(kind, batch=(steps + 1) * B, tokens=T, dim=d, seed=seed)
    return x.reshape(steps + 1, B * T, d).double().numpy()  # the documented draw: one batch per step


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("kind", ["gaussian", "shifted"])
def test_running_stats_follow_torch_buffer_rules_and_eval_uses_them(kind, momentum):
    B, T, d, steps = 3, 4, 6, 25
    rs = batch_running.running_stats(kind, batch=B, tokens=T, dim=d, steps=steps, momentum=momentum, seed=5)
    x = _training_batches(kind, B=B, T=T, d=d, steps=steps, seed=5)
    means, uvars = x[:steps].mean(axis=1), x[:steps].var(axis=1, ddof=1)  # (steps, d): unbiased into running_var
    if momentum is None:
        rm, rv = means.mean(axis=0), uvars.mean(axis=0)  # cumulative average of the batch statistics
    else:
        rm, rv = np.zeros(d), np.ones(d)
        for m, v in zip(means, uvars, strict=True):
            rm, rv = (1 - momentum) * rm + momentum * m, (1 - momentum) * rv + momentum * v
    np.testing.assert_allclose(rs.running_mean.numpy(), rm, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(rs.running_var.numpy(), rv, atol=1e-5, rtol=1e-5)
    assert rs.num_batches_tracked == steps
    # eval: (x - running_mean) / sqrt(running_var + eps) from the module's own buffers
    expected = (rs.probe - rs.running_mean) / torch.sqrt(rs.running_var + EPS)
    torch.testing.assert_close(rs.eval_output, expected, atol=ATOL, rtol=RTOL)
    # train: the probe inside the last, unseen batch, with that batch's own statistics
    last = torch.from_numpy(x[-1]).float()
    last[0] = rs.probe
    torch.testing.assert_close(rs.train_output, F.batch_norm(last, None, None, training=True, eps=EPS)[0])
    assert rs.gap == pytest.approx(float((rs.train_output - rs.eval_output).norm()))


def test_train_eval_gap_grows_as_the_batch_shrinks():
    def mean_gap(B):
        return np.mean(
            [batch_running.running_stats("gaussian", batch=B, tokens=2, dim=32, steps=50, seed=s).gap for s in range(8)]
        )

    assert mean_gap(2) > 2 * mean_gap(64)


def ref_batch_renorm(x, rm, rv, r_max, d_max, eps=EPS):
    """numpy float64, from Ioffe 2017 Algorithm 1 (forward pass)."""
    mu_b, var_b = x.mean(axis=0), x.var(axis=0)
    sigma_b, sigma = np.sqrt(var_b + eps), np.sqrt(rv + eps)
    r = np.clip(sigma_b / sigma, 1 / r_max, r_max)
    dd = np.clip((mu_b - rm) / sigma, -d_max, d_max)
    return (x - mu_b) / sigma_b * r + dd


@pytest.mark.parametrize(("r_max", "d_max"), [(1.0, 0.0), (1.1, 0.05), (2.0, 0.5), (1e6, 1e6)])
def test_batch_renorm_matches_numpy_formula(r_max, d_max):
    g = torch.Generator().manual_seed(8)
    x = torch.randn(4, 5, 7, generator=g) * 1.7 + 0.4  # (B, T, d): batch stats away from the running ones
    rm, rv = torch.randn(7, generator=g) * 0.3, torch.rand(7, generator=g) + 0.5
    y = batch_running.batch_renorm(x, rm, rv, r_max=r_max, d_max=d_max)
    ref = ref_batch_renorm(x.double().numpy().reshape(20, 7), rm.double().numpy(), rv.double().numpy(), r_max, d_max)
    np.testing.assert_allclose(y.double().numpy().reshape(20, 7), ref, atol=1e-5, rtol=1e-5)


def test_batch_renorm_limits_are_batchnorm_and_eval():
    g = torch.Generator().manual_seed(9)
    x = torch.randn(40, 6, generator=g) * 2 + 1
    bn = torch.nn.BatchNorm1d(6)
    with torch.no_grad():
        for _ in range(5):
            bn(torch.randn(8, 6, generator=g))
        bn.eval()
        eval_out = bn(x)
    plain = batch_running.batch_renorm(x, bn.running_mean, bn.running_var, r_max=1.0, d_max=0.0)
    torch.testing.assert_close(plain, F.batch_norm(x, None, None, training=True, eps=EPS), atol=ATOL, rtol=RTOL)
    loose = batch_running.batch_renorm(x, bn.running_mean, bn.running_var, r_max=1e6, d_max=1e6)
    torch.testing.assert_close(loose, eval_out, atol=ATOL, rtol=RTOL)


def test_running_stats_renorm_closes_the_gap():
    rs = batch_running.running_stats("gaussian", batch=2, tokens=2, dim=16, steps=100, seed=1, r_max=1e6, d_max=1e6)
    assert rs.gap > 0.3
    assert rs.renorm_gap < 1e-4
    tight = batch_running.running_stats("gaussian", batch=2, tokens=2, dim=16, steps=100, seed=1, r_max=1.0, d_max=0.0)
    assert tight.renorm_gap == pytest.approx(tight.gap, rel=1e-4)


# --- padding -------------------------------------------------------------------------------------


def test_padding_shift_counted_mean_is_diluted_by_pads():
    shares = [0.0, 0.1, 0.3, 0.6]
    ps = batch_stats.padding_shift("shifted", batch=16, tokens=10, dim=8, pad_shares=shares, pad_value=0.0, seed=3)
    for i, s in enumerate(ps.pad_share):
        # counted = (1 - s) * masked + s * pad_value, with the realized share s
        np.testing.assert_allclose(ps.counted_mean[i].numpy(), (1 - s) * ps.masked_mean[i].numpy(), rtol=1e-10)
        assert abs(s - shares[i]) < 0.1  # randomized rounding: expected share exact, 16 sequences
    assert ps.pad_share[0] == 0.0 and ps.shift[0] == 0.0
    assert list(ps.shift) == sorted(ps.shift) and ps.shift[-1] > 1.0  # "shifted" has mean ~2 sigma: pads drag it to 0
    x = inputs.sample("shifted", batch=16, tokens=10, dim=8, seed=3).double()
    np.testing.assert_allclose(ps.masked_mean[0].numpy(), x.reshape(-1, 8).mean(dim=0).numpy(), rtol=1e-12)


# --- errors that say how to fix the call ---------------------------------------------------------


def test_torch_itself_raises_for_one_value_per_channel():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.batch_norm(torch.randn(1, 4), None, None, training=True)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: batch.probe_spread("gaussian", batch_sizes=[1], tokens=1, dim=4), "more than 1 value per channel"),
        (lambda: batch.probe_outputs("gaussian", batch=1, tokens=1, dim=4), "batch >= 2 or tokens >= 2"),
        (lambda: batch_running.running_stats("gaussian", batch=1, tokens=1, dim=4, steps=3), "its variance is 0"),
        (
            lambda: batch_running.batch_renorm(torch.randn(1, 1, 4), torch.zeros(4), torch.ones(4), r_max=2, d_max=1),
            "1 value",
        ),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[], tokens=4, dim=4), "non-empty list"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[2, 0], tokens=4, dim=4), r"integer >= 1.*\[0\]"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=4, tokens=4, dim=4), "non-empty list"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[2], tokens=0, dim=4), "tokens must be a positive"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[2], tokens=4, dim=-1), "dim must be a positive"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[2], tokens=4, dim=4, batches=1), "at least 2"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[2], tokens=4, dim=4, eps=0), "eps must be"),
        (lambda: batch.probe_spread("nope", batch_sizes=[2], tokens=4, dim=4), "Pick one of gaussian"),
        (lambda: batch.probe_spread("gaussian", batch_sizes=[512], tokens=64, dim=64, batches=100), "over the cap"),
        (
            lambda: batch_stats.stats_error("gaussian", batch_sizes=[512], tokens=8, dim=1024, batches=20),
            "fewer batches",
        ),
        (lambda: batch_running.running_stats("gaussian", batch=2, tokens=2, dim=4, steps=0), "steps must be"),
        (
            lambda: batch_running.running_stats("gaussian", batch=2, tokens=2, dim=4, steps=2, momentum=1.5),
            "None for a",
        ),
        (
            lambda: batch_running.batch_renorm(torch.randn(4, 3), torch.zeros(3), torch.ones(3), r_max=0.5, d_max=0),
            "r_max >= 1",
        ),
        (
            lambda: batch_running.batch_renorm(torch.randn(4, 3), torch.zeros(2), torch.ones(3), r_max=2, d_max=0),
            r"\(d,\)",
        ),
        (lambda: batch_stats.padding_shift("gaussian", batch=2, tokens=4, dim=3, pad_shares=[1.0]), r"in \[0, 1\)"),
        (lambda: batch_stats.batch_stats(torch.randn(2, 3)), r"\(\.\.\., B, T, d\)"),
        (lambda: batch_stats.batch_stats(torch.randn(2, 3, 4), mask=torch.ones(2, 3)), "Try mask.bool"),
    ],
)
def test_bad_calls_raise_value_error_that_says_how_to_fix(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_cap_keeps_one_draw_under_256_mib():
    assert checks.MAX_VALUES * 4 == 256 * 2**20
    # the default page sweep fits: 100 batches of 512 x 8 tokens x 64 features
    assert 100 * 512 * 8 * 64 <= checks.MAX_VALUES
