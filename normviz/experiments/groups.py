"""GroupNorm on tokens: each block of d/G contiguous features is a LayerNorm of its own.

For a token y = GN_G(x) with group size s = d/G, every group's sub-vector y_g ∈ R^s satisfies

    Σ_k y_{g,k} = 0,   ‖y_g‖ = √s · √(σ_g² / (σ_g² + ε))  ≈ √s,

so the output lies on a product of G spheres of radius √s, each in its own Σ = 0 subspace
(Wu & He 2018). G = 1 is LayerNorm; G = d leaves one feature per group, whose mean is itself,
so every output is 0. A huge feature dominates only its own group: under LayerNorm it takes over the
whole token, under GroupNorm only its group's share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from normviz.core import device, geometry, inputs, norms, projection
from normviz.core.norms import divisors  # the valid G for d features; pages use it for their G choices
from normviz.experiments import hypersphere

__all__ = ["MAX_PANELS", "GroupPanel", "GroupView", "divisors", "group_view", "group_view_of", "shown_groups"]

MAX_PANELS = 6  # 3D scenes in one figure: browsers allow only a handful of WebGL contexts per page


def shown_groups(groups: int, loudest: int, k: int = MAX_PANELS) -> tuple[int, ...]:
    """The first k groups, with the loudest input group swapped in last when it is not among them.

    >>> shown_groups(16, 9, 4)
    (0, 1, 2, 9)
    """
    first = list(range(min(groups, k)))
    if loudest not in first:
        first[-1] = loudest
    return tuple(first)


@dataclass(frozen=True)
class GroupPanel:
    group: int  # 0-based group index
    features: tuple[int, int]  # first and last feature (0-based, inclusive)
    points: np.ndarray  # (n_shown, 3) float32: the group's output sub-vectors in view coordinates
    color: np.ndarray  # (n_shown,) float32: log10 of the group's input sub-vector length
    basis: projection.Basis
    kept: float  # share of sum ||y_g||^2 the 3 axes keep (1.0 when s <= 3: exact)
    reference: hypersphere.Reference | None


@dataclass(frozen=True)
class GroupView:
    groups: int
    size: int  # s = d / G
    dim: int
    n_tokens: int
    panels: tuple[GroupPanel, ...]
    radius_hist: geometry.Histogram  # ||y_g|| for every token and group (N*G values)
    mean_hist: geometry.Histogram  # (1/s) sum_k y_{g,k} for every token and group
    energy_gn: np.ndarray  # (G,) float64: mean over tokens of ||y_g||^2 / s, GroupNorm
    energy_ln: np.ndarray  # (G,) float64: the same for LayerNorm's output
    input_rms: np.ndarray  # (G,) float64: RMS of each group's input values
    loudest: int  # group with the largest input RMS
    outstanding: bool  # the loudest group's input RMS is over 10x the median group's
    ln_dominated: float  # share of tokens whose LayerNorm output puts over half of ||y||^2 in the loudest group
    ln_max_diff: float  # max |GN_G(x) - LN(x)| over all values (0 to float precision when G = 1)
    max_abs: float  # max |y| over all values (0 when G = d)


def group_view(
    kind: str,
    *,
    tokens: int,
    dim: int,
    groups: int,
    seed: int = 0,
    eps: float = 1e-5,
    max_points: int = 1500,
) -> GroupView:
    """GroupNorm(G) of ``tokens`` tokens drawn from ``inputs.sample(kind, ...)``, measured group by group.

    Every statistic uses all tokens; ``max_points`` caps only the points drawn per panel.
    """
    _check_groups(groups, dim)
    x = inputs.sample(kind, batch=1, tokens=tokens, dim=dim, seed=seed)  # (1, N, d)
    return group_view_of(x, groups=groups, seed=seed, eps=eps, max_points=max_points)


def _check_groups(groups, dim: int) -> None:
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1 or dim % groups:
        raise ValueError(
            f"G = {groups!r} does not divide d = {dim}. Pick one of the divisors of {dim}: {divisors(dim)}."
        )


def group_view_of(
    x: torch.Tensor, *, groups: int, seed: int = 0, eps: float = 1e-5, max_points: int = 1500
) -> GroupView:
    """The same measurements for given tokens ``x: (1, N, d)`` (real activations, an upload)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[0] != 1 or x.shape[1] < 1:
        raise ValueError(f"x must be a (1, N, d) tensor of N >= 1 tokens, got {tuple(getattr(x, 'shape', ()))}.")
    tokens, dim = x.shape[1], x.shape[2]
    _check_groups(groups, dim)
    x = x.float().to(device.device())
    y = norms.apply("groupnorm", x, eps=eps, groups=groups)  # (1, N, d)
    ln = norms.apply("layernorm", x, eps=eps)  # (1, N, d)
    s = dim // groups
    xs = device.f64(x[0]).reshape(tokens, groups, s)  # (N, G, s)
    ys = y[0].reshape(tokens, groups, s)  # (N, G, s)
    mean, radius = geometry.group_stats(y[0], groups)  # (N, G) each
    energy_gn = (radius.square() / s).mean(dim=0).cpu()  # (G,)
    input_rms = xs.square().mean(dim=(0, 2)).sqrt().cpu()  # (G,)
    loudest = int(input_rms.argmax())
    ln_energy = device.f64(ln[0]).reshape(tokens, groups, s).square().sum(-1)  # (N, G)
    energy_ln = (ln_energy / s).mean(dim=0).cpu()  # (G,)
    ln_loud, ln_all = ln_energy[:, loudest], ln_energy.sum(-1)  # (N,) each

    g = torch.Generator().manual_seed(seed)
    shown = torch.randperm(tokens, generator=g)[: min(tokens, max_points)]  # (n_shown,)
    in_len = torch.log10(torch.linalg.vector_norm(xs[shown.to(xs.device)], dim=-1).clamp_min(1e-12))  # (n_shown, G)
    in_len = in_len.float().cpu()
    shown = shown.to(ys.device)  # (n_shown,) indices where the outputs are
    panels = []
    for gi in shown_groups(groups, loudest):
        sub = ys[:, gi, :]  # (N, s) this group's output sub-vectors
        basis = projection.fit_basis(sub, "ones+pca")
        panels.append(
            GroupPanel(
                group=gi,
                features=(gi * s, gi * s + s - 1),
                points=projection.project(sub[shown], basis),
                color=in_len[:, gi].numpy(),
                basis=basis,
                kept=projection.kept_share(sub, basis),
                reference=hypersphere.reference("layernorm", basis, weight=None, bias=None) if s > 1 else None,
            )
        )
    return GroupView(
        groups=groups,
        size=s,
        dim=dim,
        n_tokens=tokens,
        panels=tuple(panels),
        radius_hist=geometry.histogram(radius, include=(math.sqrt(s),)),
        mean_hist=geometry.histogram(mean, include=(0.0,)),
        energy_gn=energy_gn.numpy(),
        energy_ln=energy_ln.numpy(),
        input_rms=input_rms.numpy(),
        loudest=loudest,
        outstanding=bool(input_rms[loudest] > 10 * input_rms.median()),
        ln_dominated=float((ln_loud > 0.5 * ln_all).double().mean()),
        ln_max_diff=float((y - ln).abs().max()),
        max_abs=float(y.abs().max()),
    )
