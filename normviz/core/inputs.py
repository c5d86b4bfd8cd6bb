"""Input distributions for token vectors, shaped like a transformer's activations ``(B, T, d)``.

Each kind mimics something seen in real models; all are float32 and reproducible: the same
arguments give the same tensor (a private ``torch.Generator`` per call, on the CPU).
"""

from __future__ import annotations

import math

import torch

__all__ = ["DESCRIPTIONS", "KINDS", "MAX_ELEMENTS", "SEQUENCE", "massive_feature", "sample"]

DESCRIPTIONS: dict[str, str] = {
    "gaussian": "Isotropic Gaussian: every feature N(0, 1), independent.",
    "shifted": "Gaussian with a shared offset: every token carries the same mean vector (about +2 per feature).",
    "anisotropic": "Gaussian with per-feature scales spread log-uniformly from 0.1 to 10.",
    "outliers": "Gaussian with a few outlier features (about 1 in 256) scaled x100 to x1000 in every token: "
    "the outlier features of LLM.int8() (Dettmers et al. 2022).",
    "massive": "Gaussian, except that token 0 of every sequence of 64 (like [CLS]) carries one fixed feature at one "
    "fixed value, x100 to x1000: the massive activations of Sun et al. 2024 (a few features of very few tokens).",
    "heavy_tailed": "Student-t with 3 degrees of freedom in every feature: rare, very large values.",
    "lognormal_scale": "Gaussian direction, per-token length scaled by a lognormal factor exp(N(0, 1)).",
    "clustered": "A mixture of 6 Gaussian clusters, like token types (punctuation, names, numbers, ...).",
    "low_rank": "Tokens near a 3-dimensional subspace (rank 3 plus 5% noise), like strongly correlated features.",
}

KINDS: tuple[str, ...] = tuple(DESCRIPTIONS)

MAX_ELEMENTS = 2**26  # 67M floats = 256 MiB: 65,536 tokens x d = 1024

_T_DOF = 3  # Student-t degrees of freedom for "heavy_tailed"

SEQUENCE = 64  # "massive": the token axis is read as sequences of 64; token 0 of each carries the massive value


def sample(kind: str, *, batch: int, tokens: int, dim: int, seed: int = 0) -> torch.Tensor:
    """Draw ``(batch, tokens, dim)`` float32 token vectors of the given kind.

    >>> x = sample("gaussian", batch=2, tokens=4, dim=8, seed=1)
    >>> tuple(x.shape), x.dtype
    ((2, 4, 8), torch.float32)
    >>> bool(torch.equal(x, sample("gaussian", batch=2, tokens=4, dim=8, seed=1)))
    True
    """
    if kind not in DESCRIPTIONS:
        raise ValueError(f"Unknown input kind {kind!r}. Pick one of {', '.join(KINDS)}.")
    for label, v in (("batch", batch), ("tokens", tokens), ("dim", dim)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if batch * tokens * dim > MAX_ELEMENTS:
        raise ValueError(
            f"batch x tokens x dim = {batch * tokens * dim:,} values is over the cap of "
            f"{MAX_ELEMENTS:,} (256 MiB). Use fewer tokens or a smaller d."
        )
    g = torch.Generator().manual_seed(seed)
    n = batch * tokens
    x = _SAMPLERS[kind](n, dim, g).reshape(batch, tokens, dim)  # (B, T, d)
    if kind == "massive":
        feature, value = massive_feature(dim, seed=seed)
        x[:, ::SEQUENCE, feature] = value  # token 0 of every 64-token sequence
    return x


def massive_feature(dim: int, *, seed: int = 0) -> tuple[int, float]:
    """The feature j and the value m that ``sample("massive", dim=dim, seed=seed)`` puts in its massive tokens.

    >>> j, m = massive_feature(384, seed=0)
    >>> 0 <= j < 384 and 100 <= m <= 1000
    True
    """
    g = torch.Generator().manual_seed(seed + 1_000_003)  # its own stream: the Gaussian tokens stay "gaussian"'s
    feature = int(torch.randint(dim, (1,), generator=g))
    return feature, float(10 ** (2 + torch.rand(1, generator=g)))  # x100 ... x1000 a typical |x| ~ 1


def _randn(*shape: int, g: torch.Generator) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float32)


def _gaussian(n, d, g):
    return _randn(n, d, g=g)


def _shifted(n, d, g):
    mu = 2.0 + 0.5 * _randn(d, g=g)  # (d,) one mean vector shared by all tokens
    return _randn(n, d, g=g).add_(mu)


def _anisotropic(n, d, g):
    scales = torch.logspace(-1, 1, d)[torch.randperm(d, generator=g)]  # (d,) 0.1 ... 10, shuffled
    return _randn(n, d, g=g).mul_(scales)


def _outliers(n, d, g):
    k = max(1, round(d / 256))  # a few features, as in LLMs (about 1 in 256)
    where = torch.randperm(d, generator=g)[:k]  # (k,) which features are massive
    scales = torch.ones(d)
    scales[where] = 10 ** (2 + torch.rand(k, generator=g))  # x100 ... x1000
    return _randn(n, d, g=g).mul_(scales)


def _heavy_tailed(n, d, g):
    # Student-t(3) = z / sqrt(chi2_3 / 3), with chi2_3 = -2 log U + z'^2 (chi2_2 is 2 Exp(1)):
    # exact, and ~3x faster than torch.distributions.StudentT's gamma sampler.
    z = _randn(n, d, g=g)
    chi2 = torch.rand(n, d, generator=g).clamp_min_(torch.finfo(torch.float32).tiny).log_().mul_(-2.0)
    chi2.add_(_randn(n, d, g=g).square_())
    return z.mul_(chi2.div_(_T_DOF).rsqrt_())


def _lognormal_scale(n, d, g):
    scale = _randn(n, 1, g=g).exp_()  # (n, 1) one length factor per token
    return _randn(n, d, g=g).mul_(scale)


def _clustered(n, d, g):
    k = 6
    centers = 3.0 * _randn(k, d, g=g)  # (k, d)
    which = torch.randint(k, (n,), generator=g)  # (n,)
    return centers[which].add_(_randn(n, d, g=g), alpha=0.5)


def _low_rank(n, d, g):
    r = min(3, d)
    basis = _randn(r, d, g=g) / math.sqrt(r)  # (r, d)
    return (_randn(n, r, g=g) @ basis).add_(_randn(n, d, g=g), alpha=0.05)  # (n, d), unit variance per feature


_SAMPLERS = {
    "gaussian": _gaussian,
    "shifted": _shifted,
    "anisotropic": _anisotropic,
    "outliers": _outliers,
    "massive": _gaussian,  # then token 0 of each sequence is pinned (see sample)
    "heavy_tailed": _heavy_tailed,
    "lognormal_scale": _lognormal_scale,
    "clustered": _clustered,
    "low_rank": _low_rank,
}

assert set(_SAMPLERS) == set(KINDS)
