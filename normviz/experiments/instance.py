"""InstanceNorm as torch defines it on the token layout: each feature over the tokens of one sequence.

For x: (B, T, d), ``F.instance_norm(x.transpose(1, 2))`` computes, for each sequence b and feature j,

    y_{b,t,j} = (x_{b,t,j} − μ_{b,j}) / √(σ²_{b,j} + ε),   μ_{b,j} = (1/T) Σ_t x_{b,t,j},

so the column (y_{b,1,j}, …, y_{b,T,j}) ∈ R^T lies on the sphere of radius √T inside Σ_t = 0: the
LayerNorm picture with tokens and features swapped. Tokens of one sequence are coupled; sequences
are independent. The prose claim that InstanceNorm "normalizes each token on its own" describes
LayerNorm without γ, β — which is also what ``nn.InstanceNorm1d`` silently computes when fed an
unbatched 2-D (T, d) tensor (it reads T as channels and d as length).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from normviz.core import device, inputs, norms, projection, rounding
from normviz.experiments import hypersphere

__all__ = ["PAD_VALUES", "InstanceView", "Padding", "instance_view", "instance_view_of", "padding", "padding_of",
           "real_padding", "real_view"]  # fmt: skip

PAD_VALUES = {"zeros": 0.0, "garbage (±10)": 10.0}


@dataclass(frozen=True)
class InstanceView:
    """Features drawn as points in token space: one point per (sequence, feature), coordinates over T."""

    before: np.ndarray  # (n, 3) float32: x_{b,:,j} in view coordinates
    after: np.ndarray  # (n, 3) float32: y_{b,:,j}
    sequence: np.ndarray  # (n,) int: the sequence b of each point
    basis: projection.Basis
    kept_before: float
    kept_after: float
    reference: hypersphere.Reference | None  # the sphere of radius √T in Σ_t = 0 (a circle at T = 3)
    max_abs_mean: float  # max over (b, j) of |mean over t of y|: 0 to float precision
    var_range: tuple[float, float]  # min and max over (b, j) of the variance over t of y (≈ 1)
    neighbour_shift: float  # ||Δy|| of token 1 when token 2 of its sequence changes (torch InstanceNorm)
    neighbour_shift_ln: float  # the same under the claim (LayerNorm without affine): exactly 0
    other_sequence_shift: float  # ||Δy|| of token 1 of the next sequence: 0, sequences are independent
    unbatched_vs_layernorm: float  # max |nn.InstanceNorm1d(d)(x[0]) − F.layer_norm(x[0], (d,))|
    unbatched_warning: str  # what torch warned for nn.InstanceNorm1d(d)(x[0]): "" when it was silent (T = d)
    unbatched_affine_error: str  # what nn.InstanceNorm1d(d, affine=True)(x[0]) raised: "" when it ran (T = d)


def instance_view(
    kind: str, *, batch: int, tokens: int, dim: int, seed: int = 0, eps: float = 1e-5, max_points: int = 3000
) -> InstanceView:
    """InstanceNorm of ``inputs.sample(kind, batch, tokens, dim)``, seen from token space."""
    if tokens < 2:
        raise ValueError("InstanceNorm needs T >= 2 tokens per sequence: with one token every output is 0.")
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed)  # (B, T, d)
    return instance_view_of(x, seed=seed, eps=eps, max_points=max_points)


def instance_view_of(x: torch.Tensor, *, seed: int = 0, eps: float = 1e-5, max_points: int = 3000) -> InstanceView:
    """:func:`instance_view` of the given tokens ``x: (B, T, d)`` (real ones, say), every token real."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[1] < 2:
        raise ValueError("x must be a (B, T, d) tensor with T >= 2 tokens per sequence.")
    batch, tokens, dim = x.shape
    x = x.float().to(device.device())  # (B, T, d)
    y = norms.apply("instancenorm", x, eps=eps)  # (B, T, d)
    cols_x = x.transpose(1, 2).reshape(batch * dim, tokens)  # (B*d, T): one row per (sequence, feature)
    cols_y = y.transpose(1, 2).reshape(batch * dim, tokens)  # (B*d, T)
    g = torch.Generator().manual_seed(seed)
    shown = torch.randperm(batch * dim, generator=g)[: min(batch * dim, max_points)]  # (n,)
    basis = projection.fit_basis(cols_y, "ones+pca")
    var = device.f64(cols_y).var(dim=1, unbiased=False)  # (B*d,)

    # the claim, measured: move token 2 of sequence 1 and watch token 1 of sequences 1 and 2
    x2 = x.clone()
    x2[0, 1] += 1.0
    y2 = norms.apply("instancenorm", x2, eps=eps)
    ln, ln2 = norms.apply("layernorm", x, eps=eps), norms.apply("layernorm", x2, eps=eps)
    other = float(torch.linalg.vector_norm(y2[1, 0] - y[1, 0])) if batch > 1 else 0.0
    unbatched, said, raised = _unbatched(x[0], eps)
    return InstanceView(
        before=projection.project(cols_x[shown.to(x.device)], basis),
        after=projection.project(cols_y[shown.to(x.device)], basis),
        sequence=(shown // dim).numpy(),
        basis=basis,
        kept_before=projection.kept_share(cols_x, basis),
        kept_after=projection.kept_share(cols_y, basis),
        reference=hypersphere.reference("layernorm", basis, weight=None, bias=None),
        max_abs_mean=float(device.f64(cols_y).mean(dim=1).abs().max()),
        var_range=(float(var.min()), float(var.max())),
        neighbour_shift=float(torch.linalg.vector_norm(y2[0, 0] - y[0, 0])),
        neighbour_shift_ln=float(torch.linalg.vector_norm(ln2[0, 0] - ln[0, 0])),
        other_sequence_shift=other,
        unbatched_vs_layernorm=float((unbatched - F.layer_norm(x[0], (dim,), eps=eps)).abs().max()),
        unbatched_warning=said,
        unbatched_affine_error=raised,
    )


def _unbatched(seq: torch.Tensor, eps: float) -> tuple[torch.Tensor, str, str]:
    """``nn.InstanceNorm1d(d)`` fed one unbatched ``(T, d)`` sequence, and what torch said about it.

    torch reads (T, d) as T channels of length d. When T ≠ d it warns that the size at dim 0 does not match
    num_features (affine=False) or raises (affine=True); when T = d it is silent both ways — the real trap.
    Returns the output ``(T, d)``, the warnings' text ("" if none) and the affine call's error ("" if none).
    """
    dim = seq.shape[-1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = torch.nn.InstanceNorm1d(dim, eps=eps)(seq)  # (T, d) read as (channels=T, length=d)
    said = " ".join(str(w.message) for w in caught)
    try:
        torch.nn.InstanceNorm1d(dim, eps=eps, affine=True)(seq)
        raised = ""
    except ValueError as e:
        raised = str(e)
    return out, said, raised


@dataclass(frozen=True)
class Padding:
    """Per-sequence statistics of InstanceNorm's output over the real tokens, pads masked or counted."""

    lengths: np.ndarray  # (B,) real tokens per sequence
    mean_masked: np.ndarray  # (B,) median over features of |mean over real tokens of y|
    mean_counted: np.ndarray  # (B,)
    var_masked: np.ndarray  # (B,) median over features of |variance over real tokens of y − 1|
    var_counted: np.ndarray  # (B,)
    real_shift: np.ndarray  # (B,) max |y_counted − y_masked| over the real tokens of each sequence
    # per chart (means, variances): True where an entry below 1e-12 of the chart's largest was set to 0
    rounded: tuple[bool, bool] = (False, False)


def padding(
    kind: str, *, batch: int, tokens: int, dim: int, pad_value: float = 0.0, seed: int = 0, eps: float = 1e-5
) -> Padding:
    """Pad sequence b to length T after ``T − b·T/(B+1)`` real tokens (at least 2) with ``pad_value``.

    ``pad_value`` 0 fills pads with zeros; any other value v fills them with v·(random signs),
    standing in for whatever an embedding of a pad id holds. The norm and its statistics are computed in
    float64; each chart's pair (mean_masked, mean_counted), (var_masked, var_counted) is then passed through
    :func:`rounding.flush_rounding` with the pair's largest value as the scale, so a masked mean that is 0 in
    exact arithmetic is exactly 0, not ~1e-17.
    """
    if tokens < 3:
        raise ValueError("Padding needs T >= 3: at least 2 real tokens and 1 pad in the shortest sequence.")
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed)  # (B, T, d)
    lengths = torch.tensor([max(2, tokens - (b * tokens) // (batch + 1)) for b in range(batch)])  # (B,)
    if batch > 1 or lengths[0] == tokens:
        lengths[-1] = min(int(lengths[-1]), tokens - 1)  # at least one sequence is padded
    return padding_of(x, lengths, pad_value=pad_value, seed=seed, eps=eps)


def padding_of(
    x: torch.Tensor, lengths: torch.Tensor, *, pad_value: float = 0.0, seed: int = 0, eps: float = 1e-5
) -> Padding:
    """:func:`padding` for given sequences ``x: (B, T, d)`` whose first ``lengths[b]`` tokens are real (real
    sequences padded to their longest, say): what ``x`` holds past a length is replaced by the pads."""
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    if x.ndim != 3 or lengths.shape != (x.shape[0],) or (lengths < 2).any() or (lengths > x.shape[1]).any():
        raise ValueError("x must be (B, T, d) and lengths (B,) with 2 ≤ length ≤ T: at least 2 real tokens each.")
    tokens = x.shape[1]
    g = torch.Generator().manual_seed(seed + 7)
    pads = pad_value * torch.sign(torch.randn(x.shape, generator=g)) if pad_value else torch.zeros_like(x)
    dev = device.float64_device()
    x, pads, lengths = x.to(dev).double(), pads.to(dev).double(), lengths.to(dev)
    mask = torch.arange(tokens, device=dev)[None, :] < lengths[:, None]  # (B, T)
    xp = torch.where(mask[..., None], x, pads)  # (B, T, d)
    masked = norms.apply("instancenorm", xp, eps=eps, mask=mask)  # (B, T, d), pads -> 0
    counted = norms.apply("instancenorm", xp, eps=eps)  # pads counted in every statistic

    def stats(y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        m = device.f64(mask[..., None])  # (B, T, 1)
        y = device.f64(y)
        n = m.sum(dim=1)  # (B, 1)
        mean = (y * m).sum(dim=1) / n  # (B, d) over real tokens only
        var = ((y - mean[:, None]).square() * m).sum(dim=1) / n  # (B, d)
        # medians: with 2 real tokens a single feature whose values nearly agree has σ² ~ ε, and its
        # variance σ²/(σ² + ε) is well below 1 — true, but not about padding
        return mean.abs().median(dim=1).values.cpu().numpy(), (var - 1).abs().median(dim=1).values.cpu().numpy()

    (mm, vm), (mc, vc) = stats(masked), stats(counted)
    (mm, mc), mean_rounded = _flush_pair(mm, mc)
    (vm, vc), var_rounded = _flush_pair(vm, vc)
    shift = ((counted - masked).abs() * mask[..., None]).amax(dim=(1, 2))  # (B,)
    return Padding(lengths.cpu().numpy(), mm, mc, vm, vc, shift.cpu().numpy(), (mean_rounded, var_rounded))


def _flush_pair(a: np.ndarray, b: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], bool]:
    """Two series of one chart, flushed against the chart's largest value; True if a nonzero entry became 0."""
    scale = float(max(np.abs(a).max(), np.abs(b).max()))
    fa, fb = (rounding.flush_rounding(v, scale=scale) for v in (a, b))
    return (fa, fb), bool(((fa == 0) & (a != 0)).any() or ((fb == 0) & (b != 0)).any())


def real_padding(pool, *, batch: int, dim: int, pad_value: float = 0.0, seed: int = 0, eps: float = 1e-5) -> Padding:
    """:func:`padding_of` for B real sequences of ``pool`` (drawn by ``batch_real.draw_batches`` among those with
    at least 2 tokens) padded to their longest, at the d features of largest pool variance."""
    from normviz.experiments import batch_real

    long = np.flatnonzero(pool.lengths >= 2)
    if long.size < batch:
        raise ValueError(f"Only {long.size} sequences of this pool hold 2 or more tokens; need B = {batch}.")
    _, feats = batch_real.real_block(pool, batch=1, tokens=1, dim=dim)  # the same feature rule
    rows = long[batch_real.draw_batches(long.size, batch, 1, seed=seed)[0]]
    x, mask = pool.batch(rows.tolist())  # (B, T, d), (B, T)
    return padding_of(x[..., feats], mask.sum(1), pad_value=pad_value, seed=seed, eps=eps)


def real_view(pool, *, batch: int, tokens: int, dim: int, seed: int = 0, eps: float = 1e-5) -> InstanceView:
    """:func:`instance_view_of` at ``batch_real.real_block(pool, ...)``: B real sequences cut to T tokens, the d
    features of largest pool variance."""
    from normviz.experiments import batch_real

    x, _ = batch_real.real_block(pool, batch=batch, tokens=tokens, dim=dim, seed=seed)
    return instance_view_of(x, seed=seed, eps=eps)
