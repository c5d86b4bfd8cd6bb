"""Who moves when one token moves: the exact Jacobian of a norm over a small batch.

For outputs ``y = norm(x)`` with ``x, y: (B, T, d)`` and N = B·T tokens, the token coupling
matrix is

    C[j, i] = ‖∂y_j / ∂x_i‖_F     (N × N; y_j, x_i ∈ R^d)

computed by reverse-mode autodiff (``torch.func.jacrev``: one vectorized backward pass per
output element, batched with ``vmap``). Zeros are structural, not thresholded: LayerNorm,
RMSNorm, GroupNorm and DyT give a diagonal C (a token only sees itself), InstanceNorm a
block diagonal (the tokens of one sequence), BatchNorm a dense C (every token of the batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import jacrev

from normviz.core import device, inputs, norms, projection

__all__ = [
    "DIRECTIONS",
    "MAX_JACOBIAN",
    "ColourScale",
    "Coupling",
    "Motion",
    "colour_scale",
    "coupling",
    "coupling_of",
    "jacobian_blocks",
    "motion",
    "motion_of",
    "real_coupling",
    "real_motion",
]

MAX_JACOBIAN = 8_192  # B*T*d: the full Jacobian has (B*T*d)^2 entries (256 MiB at this cap)

DIRECTIONS = ("random", "ones")


def _check_x(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        raise ValueError("x must be a (B, T, d) tensor; use x[None] for one sequence.")
    n = x.numel()
    if n > MAX_JACOBIAN:
        B, T, d = x.shape
        raise ValueError(
            f"B·T·d = {B}·{T}·{d} = {n:,} values: the exact Jacobian would hold {n * n:,} entries. "
            f"Keep B·T·d <= {MAX_JACOBIAN:,} (fewer sequences, tokens or features)."
        )


def jacobian_blocks(name: str, x: torch.Tensor, *, eps: float = 1e-5, groups: int = 1) -> torch.Tensor:
    """The token coupling matrix ``C: (N, N)``, ``C[j, i] = ‖∂y_j/∂x_i‖_F``, tokens in (b, t) order.

    The whole Jacobian ``J: (N, d, N, d)`` comes from :func:`full_jacobian`.

    >>> x = torch.randn(2, 3, 4)
    >>> c = jacobian_blocks("instancenorm", x)
    >>> (c > 0).int().tolist()[0]  # token (1, 1) is coupled to the 3 tokens of its own sequence only
    [1, 1, 1, 0, 0, 0]
    """
    J = full_jacobian(name, x, eps=eps, groups=groups)  # (N, d, N, d)
    return J.square().sum(dim=(1, 3)).sqrt()  # (N, N)


def full_jacobian(name: str, x: torch.Tensor, *, eps: float = 1e-5, groups: int = 1) -> torch.Tensor:
    """``J: (N, d, N, d)`` with ``J[j, k, i, l] = ∂y_{j,k} / ∂x_{i,l}``, N = B·T, in x's float dtype.

    Zeros are structural (no path in the graph), so they are exact in float32 too; float32
    halves the memory traffic that bounds this computation (16.7M entries at 4 × 16 × 64).
    """
    _check_x(x)
    B, T, d = x.shape
    x = x.detach()

    def f(v: torch.Tensor) -> torch.Tensor:
        if name == "groupnorm":  # the same function as F.group_norm, whose vmapped backward is ~3x slower
            return F.layer_norm(v.reshape(B, T, groups, d // groups), (d // groups,), eps=eps).reshape(B, T, d)
        return norms.apply(name, v, eps=eps, groups=groups)

    norms.apply(name, x, eps=eps, groups=groups)  # argument errors as ValueError, before autodiff
    J = jacrev(f)(x)  # (B, T, d, B, T, d)
    return J.reshape(B * T, d, B * T, d)


@dataclass(frozen=True)
class Coupling:
    tokens: np.ndarray  # (N, N) float32: [j, i] = ||dy_j/dx_i||_F
    features: np.ndarray  # (d, d) float32: |dy_{p,k}/dx_{p,l}| of the probe token p
    shape: tuple[int, int, int]  # (B, T, d)
    probe: int  # flat token index b*T + t

    @property
    def coupled(self) -> np.ndarray:
        """(N,) bool: which tokens' outputs move when the probe's input moves."""
        return self.tokens[:, self.probe] > 0


@dataclass(frozen=True)
class ColourScale:
    """How to colour a matrix of non-negative sizes: log₁₀ from its smallest to its largest non-zero value when
    they span at least a decade, else linear from 0 (a log scale over 0.4 … 0.75 would make a near-constant
    diagonal look dramatic). Exact zeros are left blank either way."""

    log: bool
    zrange: tuple[float, float]  # in the colour's own units: log₁₀ values, or the values
    decades: float  # log₁₀(max / min) of the non-zero values


def colour_scale(z: np.ndarray) -> ColourScale:
    """The :class:`ColourScale` for ``z`` (any shape, values >= 0).

    >>> colour_scale(np.array([[0.4, 0.0], [0.0, 0.75]]))
    ColourScale(log=False, zrange=(0.0, 0.75), decades=0.273)
    >>> colour_scale(np.array([0.01, 0.0, 2.0])).zrange
    (-2.0, 0.301)
    """
    z = np.asarray(z, dtype=np.float64)
    if not np.all(np.isfinite(z) & (z >= 0)):
        raise ValueError("z must hold finite values >= 0 (sizes such as |∂y/∂x|).")
    nz = z[z > 0]
    if nz.size == 0:
        return ColourScale(log=False, zrange=(0.0, 1.0), decades=0.0)
    lo, hi = float(nz.min()), float(nz.max())
    decades = round(math.log10(hi / lo), 3)
    if hi >= 10 * lo:
        return ColourScale(log=True, zrange=(round(math.log10(lo), 3), round(math.log10(hi), 3)), decades=decades)
    return ColourScale(log=False, zrange=(0.0, hi), decades=decades)


def coupling(
    name: str,
    kind: str,
    *,
    batch: int,
    tokens: int,
    dim: int,
    groups: int = 1,
    probe: int = 0,
    seed: int = 0,
    eps: float = 1e-5,
) -> Coupling:
    """The coupling matrices for a fresh sample ``inputs.sample(kind, ...)``."""
    if not (isinstance(probe, int) and 0 <= probe < batch * tokens):
        raise ValueError(f"probe must be a token index 0 <= probe < B·T = {batch * tokens}, got {probe!r}.")
    _check_x(torch.empty(batch, tokens, dim, device="meta"))
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed)  # (B, T, d)
    return coupling_of(name, x, groups=groups, probe=probe, eps=eps)


def coupling_of(name: str, x: torch.Tensor, *, groups: int = 1, probe: int = 0, eps: float = 1e-5) -> Coupling:
    """The coupling matrices of the norm ``name`` at the given tokens ``x: (B, T, d)`` (real ones, say: see
    ``normviz.experiments.batch_real.real_block``)."""
    _check_x(x)
    batch, tokens, dim = x.shape
    if not (isinstance(probe, int) and 0 <= probe < batch * tokens):
        raise ValueError(f"probe must be a token index 0 <= probe < B·T = {batch * tokens}, got {probe!r}.")
    x = x.float().to(device.device())
    J = full_jacobian(name, x, eps=eps, groups=groups)  # (N, d, N, d)
    blocks = J.square().sum(dim=(1, 3)).sqrt()  # (N, N)
    return Coupling(
        tokens=blocks.cpu().numpy(),
        features=J[probe, :, probe, :].abs().cpu().numpy(),
        shape=(batch, tokens, dim),
        probe=probe,
    )


@dataclass(frozen=True)
class Motion:
    """Every token's output while the probe's input slides along one direction."""

    steps: np.ndarray  # (S,) displacement s: x_probe + s * rms(x_probe) * u, u a unit vector
    paths: np.ndarray  # (S, N, 3) float32 outputs in view coordinates
    moved: np.ndarray  # (N,) float64: the largest ||y_i(s) - y_i(0)|| over the path, in all d features
    probe: int
    sequence: np.ndarray  # (N,) int: which sequence each token is in
    basis: projection.Basis
    kept: float  # share of the motion sum ||y_i(s) - y_i(0)||^2 the 3 axes keep (of sum ||y||^2 if none)

    @property
    def still(self) -> np.ndarray:
        """(N,) bool: outputs that do not move (at most 1e-9·√d, float64 rounding of an exact 0)."""
        return self.moved <= 1e-9 * math.sqrt(self.basis.dim)


def motion(
    name: str,
    kind: str,
    *,
    batch: int,
    tokens: int,
    dim: int,
    probe: int = 0,
    direction: str = "random",
    span: float = 3.0,
    steps: int = 31,
    groups: int = 1,
    seed: int = 0,
    eps: float = 1e-5,
) -> Motion:
    """Slide the probe token's input ``x_p + s·rms(x_p)·u`` for s in [-span, span] and record all outputs.

    ``direction``: ``"random"`` (a fixed random unit vector) or ``"ones"`` (the all-ones axis
    1/√d: LayerNorm's output of the probe itself cannot move along it, BatchNorm's can).
    """
    x = inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed)  # (B, T, d)
    return motion_of(name, x, probe=probe, direction=direction, span=span, steps=steps, groups=groups, seed=seed,
                     eps=eps)  # fmt: skip


def motion_of(
    name: str,
    x: torch.Tensor,
    *,
    probe: int = 0,
    direction: str = "random",
    span: float = 3.0,
    steps: int = 31,
    groups: int = 1,
    seed: int = 0,
    eps: float = 1e-5,
) -> Motion:
    """:func:`motion` at the given tokens ``x: (B, T, d)`` (real ones, say); ``seed`` picks the random direction."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        raise ValueError("x must be a (B, T, d) tensor; use x[None] for one sequence.")
    batch, tokens, dim = x.shape
    if direction not in DIRECTIONS:
        raise ValueError(f"Unknown direction {direction!r}. Pick one of {', '.join(DIRECTIONS)}.")
    if not (isinstance(steps, int) and 2 <= steps <= 201):
        raise ValueError(f"steps must be an integer in 2 … 201, got {steps!r}.")
    if not (isinstance(span, (int, float)) and math.isfinite(span) and 0 < span <= 100):
        raise ValueError(f"span must be a number in (0, 100], got {span!r}.")
    n = batch * tokens
    if not (isinstance(probe, int) and 0 <= probe < n):
        raise ValueError(f"probe must be a token index 0 <= probe < B·T = {n}, got {probe!r}.")
    x = x.double().cpu()  # (B, T, d)
    if direction == "ones":
        u = torch.full((dim,), 1.0 / math.sqrt(dim), dtype=torch.float64)
    else:
        g = torch.Generator().manual_seed(seed + 1)
        u = torch.randn(dim, generator=g, dtype=torch.float64)
        u = u / torch.linalg.vector_norm(u)
    dev = device.float64_device()  # the motion is measured in float64 throughout
    x, u = x.to(dev), u.to(dev)
    flat = x.reshape(n, dim)
    rms = float(flat[probe].square().mean().sqrt()) or 1.0
    s = span * (2 * torch.arange(steps, dtype=torch.float64) - (steps - 1)) / (steps - 1)  # (S,) exact 0 mid
    xs = flat.expand(steps, n, dim).clone()  # (S, N, d)
    xs[:, probe] += s[:, None].to(x.device) * rms * u  # the probe slides; every other input stays put
    ys = torch.stack([norms.apply(name, xi.reshape(batch, tokens, dim), eps=eps, groups=groups) for xi in xs])
    ys = ys.reshape(steps, n, dim)  # (S, N, d)
    rest = ys[steps // 2] if steps % 2 else norms.apply(name, x, eps=eps, groups=groups).reshape(n, dim)
    moved = torch.linalg.vector_norm(ys - rest, dim=-1).amax(dim=0)  # (N,)
    all_y = ys.reshape(steps * n, dim)
    disp = (ys - rest).reshape(steps * n, dim)  # (S*N, d): how every output moved
    # axes that show the motion: the top principal components of the displacements (of the outputs
    # themselves when nothing moves); the kept share is reported for the displacements it shows
    moving = bool((moved > 1e-9 * math.sqrt(dim)).any())
    basis = projection.fit_basis(disp if moving else all_y, "pca")
    paths = projection.project(all_y, basis).reshape(steps, n, 3)
    return Motion(
        steps=s.numpy(),
        paths=paths,
        moved=moved.cpu().numpy(),
        probe=probe,
        sequence=np.repeat(np.arange(batch), tokens),
        basis=basis,
        kept=projection.kept_share(disp if moving else all_y, basis),
    )


def real_coupling(name: str, pool, *, batch: int, tokens: int, dim: int, groups: int = 1, probe: int = 0) -> Coupling:
    """:func:`coupling_of` at a block of real tokens of ``pool`` (``batch_real.real_block``'s rule: B sequences
    with T real tokens each, cut to T, the d features of largest pool variance)."""
    from normviz.experiments import batch_real

    x, _ = batch_real.real_block(pool, batch=batch, tokens=tokens, dim=dim)
    return coupling_of(name, x, groups=groups, probe=probe)


def real_motion(name: str, pool, *, batch: int, tokens: int, dim: int, groups: int = 1, probe: int = 0,
                direction: str = "random") -> Motion:  # fmt: skip
    """:func:`motion_of` at the same block of real tokens as :func:`real_coupling`."""
    from normviz.experiments import batch_real

    x, _ = batch_real.real_block(pool, batch=batch, tokens=tokens, dim=dim)
    return motion_of(name, x, groups=groups, probe=probe, direction=direction)
