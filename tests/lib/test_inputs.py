"""inputs.sample: shapes, reproducibility, and a statistical property per kind that a wrong sampler would fail.

Statistical tolerances are a few standard errors of the estimate (stated next to each check). Samples are drawn
with fixed seeds, so every check is deterministic; the bounds say how far a correct sampler could plausibly be.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist, squareform

from normviz.core import inputs

B, T, D = 4, 1024, 64  # 262,144 values, 4,096 tokens: enough for tight standard errors, fast to draw


def _tokens(kind, *, dim=D, seed=0):
    x = inputs.sample(kind, batch=B, tokens=T, dim=dim, seed=seed)  # (B, T, d)
    return x.double().reshape(-1, dim).numpy()  # (N, d)


def t3_two_sided_tail(t: float) -> float:
    """P(|T| > t) for Student-t with 3 dof, from its closed-form CDF (no scipy)."""
    cdf = 0.5 + (t / (math.sqrt(3) * (1 + t * t / 3)) + math.atan(t / math.sqrt(3))) / math.pi
    return 2 * (1 - cdf)


def test_kinds_and_descriptions_agree():
    assert set(inputs.KINDS) == set(inputs.DESCRIPTIONS)
    assert {
        "gaussian",
        "shifted",
        "anisotropic",
        "outliers",
        "massive",
        "heavy_tailed",
        "lognormal_scale",
        "clustered",
        "low_rank",
    } <= set(inputs.KINDS)
    assert all(inputs.DESCRIPTIONS[k].strip() for k in inputs.KINDS)


@pytest.mark.parametrize("kind", inputs.KINDS)
@pytest.mark.parametrize(("batch", "tokens", "dim"), [(2, 5, 8), (1, 1, 1), (3, 7, 2), (1, 64, 3), (2, 16, 1024)])
def test_shape_dtype_finite(kind, batch, tokens, dim):
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=3)
    assert x.shape == (batch, tokens, dim)
    assert x.dtype == torch.float32
    assert torch.isfinite(x).all()


@pytest.mark.parametrize("kind", inputs.KINDS)
def test_reproducible_and_seed_dependent(kind):
    a = inputs.sample(kind, batch=2, tokens=16, dim=8, seed=5)
    torch.manual_seed(123)  # the global RNG must not matter
    b = inputs.sample(kind, batch=2, tokens=16, dim=8, seed=5)
    c = inputs.sample(kind, batch=2, tokens=16, dim=8, seed=6)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert (a != c).float().mean() > 0.9  # a new seed redraws (nearly) everything, not one value


def test_gaussian_is_standard_normal():
    x = _tokens("gaussian")
    n = x.size
    assert abs(x.mean()) < 5 / math.sqrt(n)  # standard error of the mean: 1/sqrt(n) ~ 0.002
    assert abs(x.var() - 1) < 5 * math.sqrt(2 / n)  # standard error of the variance: sqrt(2/n) ~ 0.003
    std = x.std(axis=0)  # per feature, over N = 4096 tokens: standard error 1/sqrt(2N) ~ 0.011
    assert np.abs(std - 1).max() < 5 / math.sqrt(2 * x.shape[0])
    corr = np.corrcoef(x, rowvar=False)[np.triu_indices(D, 1)]  # independent features: |corr| ~ 1/sqrt(N)
    assert np.abs(corr).max() < 5 / math.sqrt(x.shape[0])


def test_shifted_shares_one_mean_vector_around_two():
    dim = 1024  # many features, so the average shift is pinned down
    x = inputs.sample("shifted", batch=1, tokens=1024, dim=dim, seed=0).double().reshape(-1, dim).numpy()
    mu = x.mean(axis=0)  # (d,) per-feature means, each ~ 2 + 0.5 N(0, 1) plus 1/sqrt(N) sampling noise
    assert abs(mu.mean() - 2) < 5 * math.sqrt(0.25 / dim + 1 / x.size)  # 5 standard errors ~ 0.08
    assert (mu > 0).all()  # every feature is shifted the same way
    assert 0.2 < mu.std() < 1.0  # the shift varies a little per feature (0.5 expected)
    # every token carries the same mean vector: two disjoint halves of the tokens estimate the same mu
    half = x.shape[0] // 2
    assert np.abs(x[:half].mean(axis=0) - x[half:].mean(axis=0)).max() < 5 * math.sqrt(2 / half)
    np.testing.assert_allclose(x.std(axis=0), 1.0, atol=5 / math.sqrt(2 * x.shape[0]))  # unit noise around it


def test_anisotropic_scales_span_a_tenth_to_ten():
    x = _tokens("anisotropic")
    log_std = np.sort(np.log10(x.std(axis=0)))  # (d,)
    # per-feature std has relative standard error 1/sqrt(2N) ~ 1.1% (0.005 in log10); allow 0.03 in log10
    np.testing.assert_allclose(log_std, np.linspace(-1, 1, D), atol=0.03)
    np.testing.assert_allclose(x.mean(axis=0) / x.std(axis=0), 0, atol=5 / math.sqrt(x.shape[0]))


@pytest.mark.parametrize("dim", [64, 512, 1024])
def test_outliers_a_few_massive_features(dim):
    x = _tokens("outliers", dim=dim)
    std = x.std(axis=0)
    massive = std >= 100
    assert massive.any()
    assert massive.sum() <= max(1, dim // 100)  # a few features, about 1 in 256
    assert std.max() <= 1000 * 1.05
    normal = std[~massive]
    np.testing.assert_allclose(normal, 1.0, atol=5 / math.sqrt(2 * x.shape[0]))  # all other features std ~ 1


@pytest.mark.parametrize(("batch", "tokens", "dim"), [(3, 16, 64), (1, 1024, 768), (2, 130, 3)])
def test_massive_pins_token_0_of_every_sequence_and_nothing_else(batch, tokens, dim):
    x = inputs.sample("massive", batch=batch, tokens=tokens, dim=dim, seed=4).double().numpy()  # (B, T, d)
    plain = inputs.sample("gaussian", batch=batch, tokens=tokens, dim=dim, seed=4).double().numpy()
    j, m = inputs.massive_feature(dim, seed=4)
    assert 100 <= m <= 1000
    massive = np.zeros((batch, tokens, dim), dtype=bool)
    massive[:, :: inputs.SEQUENCE, j] = True  # token 0 of every 64-token sequence, one feature
    np.testing.assert_array_equal(x[massive], np.float32(m))  # one fixed value, the same in every sequence
    np.testing.assert_array_equal(x[~massive], plain[~massive])  # every other value is the Gaussian one
    # LayerNorm (numpy float64, no affine) sends each massive token near the fixed point p_j = (d e_j - 1)/sqrt(d - 1)
    mu = x.mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    p = np.full(dim, -1.0) / math.sqrt(dim - 1)
    p[j] = math.sqrt(dim - 1)
    pinned = y[:, :: inputs.SEQUENCE]  # (B, T/64, d)
    # the other d - 1 Gaussian features move y off p_j by about sqrt(d) * sqrt(d) / m (at most ~8 / 100 of sqrt(d))
    np.testing.assert_array_less(np.linalg.norm(pinned - p, axis=-1), 1.5 * dim / m + 0.1)
    rest = np.delete(x, np.s_[:: inputs.SEQUENCE], axis=1)
    assert np.abs(rest).max() < 7  # the other tokens carry no large value at all


def test_heavy_tailed_is_student_t3():
    x = _tokens("heavy_tailed").ravel()
    n = x.size
    assert abs(t3_two_sided_tail(5.0) - 0.01539) < 5e-5  # the closed form agrees with tables
    for t in (1.0, 3.0, 5.0, 10.0):
        p = t3_two_sided_tail(t)
        se = math.sqrt(p * (1 - p) / n)  # binomial standard error of the observed share
        observed = float((np.abs(x) > t).mean())
        assert abs(observed - p) < 5 * se, (t, observed, p)
    # a Gaussian of the same variance (3 for t_3) would put only 0.4% beyond 5; kurtosis is far above 3
    kurtosis = ((x - x.mean()) ** 4).mean() / x.var() ** 2
    assert kurtosis > 10


def test_lognormal_scale_lengths_span_orders_of_magnitude():
    x = _tokens("lognormal_scale")
    log_len = np.log(np.linalg.norm(x, axis=1))  # (N,)
    # ln||x|| = N(0, 1) + ln||z||, and ln||z|| has variance ~ 1/(2d): std ~ 1.004, standard error ~ 0.011
    assert abs(log_len.std() - math.sqrt(1 + 1 / (2 * D))) < 0.06
    assert np.log10(np.exp(log_len.max() - log_len.min())) > 2.5  # lengths span > 2.5 orders of magnitude
    directions = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.abs(directions.mean(axis=0)).max() < 5 / math.sqrt(D * x.shape[0])  # isotropic directions


def test_clustered_has_six_well_separated_clusters():
    x = _tokens("clustered", dim=32)[:1500]
    dist = squareform(pdist(x))  # (N, N) pairwise Euclidean distances
    # within a cluster: 0.5 * sqrt(2 chi2_32) ~ 4 (at most ~6); between centers 3 * sqrt(2 chi2_32) ~ 24 (at least ~15)
    gap = (dist > 8) & (dist < 12)
    assert gap.mean() < 1e-3  # pairwise distances are bimodal with an empty gap
    n, labels = connected_components(dist < 10, directed=False)
    assert n == 6
    sizes = np.bincount(labels)
    assert sizes.min() > 0.5 * len(x) / 6  # uniform mixture: each cluster ~ 1/6 of the tokens


def test_low_rank_energy_in_three_directions():
    x = _tokens("low_rank")
    s = np.linalg.svd(x, compute_uv=False)
    energy = s**2 / (s**2).sum()
    assert energy[:3].sum() > 0.95
    assert energy[3] < 0.01  # the 4th direction is noise only (5% amplitude)
    assert 0.5 < x.var(axis=0).mean() < 1.5  # roughly unit variance per feature


def test_low_rank_with_fewer_than_three_features():
    x = inputs.sample("low_rank", batch=1, tokens=50, dim=2, seed=0)
    assert x.shape == (1, 50, 2) and torch.isfinite(x).all()


def test_gaussian_is_not_low_rank():
    """The low-rank check above can fail: it does for full-rank data."""
    s = np.linalg.svd(_tokens("gaussian"), compute_uv=False)
    assert (s[:3] ** 2).sum() / (s**2).sum() < 0.1


ERROR_CASES = [  # (kind, kwargs, match)
    ("uniform", {}, r"Unknown input kind 'uniform'\. Pick one of gaussian"),
    ("gaussian", {"batch": 0}, r"batch must be a positive integer, got 0"),
    ("gaussian", {"tokens": -3}, r"tokens must be a positive integer, got -3"),
    ("gaussian", {"dim": 0}, r"dim must be a positive integer"),
    ("gaussian", {"dim": 8.0}, r"dim must be a positive integer"),
    ("gaussian", {"batch": True}, r"batch must be a positive integer"),
    ("gaussian", {"seed": -1}, r"seed must be a non-negative integer"),
    ("gaussian", {"seed": 1.5}, r"seed must be a non-negative integer"),
    ("gaussian", {"batch": inputs.MAX_ELEMENTS, "tokens": 1, "dim": 2}, r"over the cap of 67,108,864"),
    ("gaussian", {"batch": 2**13, "tokens": 2**13, "dim": 1024}, r"over the cap"),
]


@pytest.mark.parametrize(("kind", "kwargs", "match"), ERROR_CASES)
def test_bad_arguments_raise(kind, kwargs, match):
    args = {"batch": 2, "tokens": 3, "dim": 4} | kwargs
    with pytest.raises(ValueError, match=match):
        inputs.sample(kind, **args)


def test_max_elements_is_256_mib_of_float32():
    assert inputs.MAX_ELEMENTS * 4 == 256 * 2**20
