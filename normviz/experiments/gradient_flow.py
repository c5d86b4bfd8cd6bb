"""Gradient flow at initialization: Post-LN, Pre-LN, Peri-LN and no norm (Xiong et al. 2020).

A block is multi-head self-attention and a ReLU FFN, each in a residual branch; the norm sits

    post:  x = N(x + Attn(x));          x = N(x + FFN(x))
    pre:   x = x + Attn(N(x));          x = x + FFN(N(x))           (and N once more after the last block)
    peri:  x = x + N(Attn(N(x)));       x = x + N(FFN(N(x)))        (Kim et al. 2025; final N as in Pre-LN)
    none:  x = x + Attn(x);             x = x + FFN(x)

with N = LayerNorm or RMSNorm (γ = 1, β = 0, ε = 1e-5), FFN(x) = W₂ ReLU(W₁x + b₁) + b₂ (hidden 4d),
every weight matrix Xavier-uniform (U(±√(6/(fan_in + fan_out)))), biases 0, dropout 0.

The fixed synthetic task: tokens x ~ N(0, 1) of shape (batch, tokens, d), a fixed random readout
W_out (V × d, V = 512 classes, Xavier-uniform), fixed random targets t ~ U{0..V−1} per token, and
loss = mean cross-entropy(W_out · h_L, t), h_L the stack's (finally normalized) output. Everything
is drawn from ``seed``; layer i's weights from its own generator, so the first L layers of a deep
stack are the whole L-layer stack (the depth sweep relies on it). V >> d keeps the softmax near
uniform at init, so each token's loss gradient is a zero-mean random vector and ‖∂loss/∂W₂‖ does not
depend on how alike the tokens have become (attention makes Post-LN's tokens more alike with depth:
with V = 64 that raised Post-LN's L = 24 gradient by ~30 % over L = 6).

Xiong et al.'s Theorem 1 bounds the last layer's ‖∂loss/∂W₂‖ from above, under the paper's assumptions:
O(d√(ln d)) for Post-LN whatever L, and O(d√(ln d / L)) for Pre-LN, whose final norm divides the last
layer's gradient by ‖x_L‖, which grows like √L in their analysis. That is a statement about the last
layer against the depth L (the depth sweep). Across the layers of one stack the final norm's 1/‖x_L‖
multiplies every layer's gradient alike, so it cannot make a per-layer trend. Xiong et al. (Fig. 3,
§3.3) report that Post-LN's gradient grows towards the last layer and Pre-LN's stays about the same.
This model measures otherwise (L = 12, d = 64, 4 seeds): Pre-LN's falls from 0.29 at layer 1 to 0.093
at layer 12, and Post-LN's stays between 0.20 and 0.30. Pre-LN's fall comes on the way down: each block
adds to the residual path's identity its branch's Jacobian, which reads x_k through a norm and so scales
as 1/‖x_k‖, largest in the low blocks where the stream is still small (the gradient-magnitude mismatch
of NormFormer, Shleifer et al. 2021). :func:`trend` gives each curve's first, last, lowest and highest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from normviz.core import device
from normviz.core.checks import is_int
from normviz.core.fits import power_through, slope
from normviz.core.norms import divisors
from normviz.core.threads import one_thread
from normviz.core.transformer import Block, Stack, XavierLinear, layer_seed, make_norm

__all__ = [
    "DEPTHS",
    "LABELS",
    "NORMS",
    "PLACEMENTS",
    "FlowView",
    "Profile",
    "Sweep",
    "Trend",
    "combine",
    "depth_sweep",
    "experiment",
    "gradient_norms",
    "profile",
    "run",
    "trend",
]

PLACEMENTS = ("post", "pre", "peri", "none")

NORMS = ("layernorm", "rmsnorm")

DEPTHS = (1, 2, 3, 6, 12, 24, 48)  # the depth sweep's L values (log-spaced, ~2x apart)

MAX_DEPTH = 48

CLASSES = 512  # V, the readout's classes: V >> d, as a language model's vocabulary

MAX_VALUES = 2**22  # batch x tokens x hidden (4d) activations per layer: keeps one run well under a second


@dataclass(frozen=True)
class Profile:
    """One stack at init, layer by layer (index 0 = first layer)."""

    grad_norms: np.ndarray  # (L,) ‖∂loss/∂W₂‖_F of each layer's second FFN weight
    hidden_norms: np.ndarray  # (L + 1,) mean over tokens of ‖x_l‖, l = 0 (input) ... L (after block L)


@dataclass(frozen=True)
class Sweep:
    """The last layer's ‖∂loss/∂W₂‖_F for stacks of depth L = ``depths`` (the first L layers of one stack)."""

    depths: np.ndarray  # (S,)
    last_grad: np.ndarray  # (S,)


def build_stack(
    placement: str, *, depth: int, dim: int, heads: int = 4, norm: str = "layernorm", seed: int = 0
) -> Stack:
    """The stack at init: Xavier-uniform weights, zero biases; layer i drawn from its own generator.

    >>> s = build_stack("pre", depth=2, dim=8, heads=2)
    >>> len(s.blocks), tuple(s.blocks[1].ffn.w2.weight.shape)
    (2, (8, 32))
    """
    _check(placement, depth=depth, dim=dim, heads=heads, norm=norm, seed=seed, batch=1, tokens=1)
    blocks = []
    for i in range(depth):
        block = Block(dim, heads, placement, norm)
        g = torch.Generator().manual_seed(layer_seed(seed, i))
        for m in block.modules():
            if isinstance(m, XavierLinear):
                nn.init.xavier_uniform_(m.weight, generator=g)
                nn.init.zeros_(m.bias)
        blocks.append(block)
    g = torch.Generator().manual_seed(layer_seed(seed, -1))
    readout = nn.init.xavier_uniform_(torch.empty(CLASSES, dim), generator=g)
    final = make_norm(norm, dim) if placement in ("pre", "peri") else nn.Identity()
    stack = Stack(blocks, final, readout)
    # with no norm the residual stream grows ~1.6x per layer and attention scores like its square: float32's
    # softmax backward overflows past ~25 layers, so that stack runs in float64 (same draws, upcast)
    return stack.double() if placement == "none" else stack


def task(*, batch: int, tokens: int, dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The synthetic task's inputs x ~ N(0, 1) of shape (batch, tokens, dim) and targets (batch, tokens).

    >>> x, t = task(batch=2, tokens=3, dim=4)
    >>> tuple(x.shape), tuple(t.shape), int(t.max()) < 512
    ((2, 3, 4), (2, 3), True)
    """
    g = torch.Generator().manual_seed(layer_seed(seed, -2))
    x = torch.randn(batch, tokens, dim, generator=g)
    targets = torch.randint(0, CLASSES, (batch, tokens), generator=g)
    return x, targets


def experiment(
    placement: str,
    *,
    depth: int,
    dim: int,
    heads: int = 4,
    norm: str = "layernorm",
    batch: int = 8,
    tokens: int = 16,
    seed: int = 0,
    depths: Sequence[int] = DEPTHS,
) -> tuple[Profile, Sweep | None]:
    """The L = ``depth`` profile and the depth sweep over ``depths``, from one stack of max(L, max(depths)) layers.

    The L-layer stack is the first L layers of the deeper one (per-layer seeds), so its loss is the
    head applied after block L: one forward through the deepest stack serves every depth. Each sweep
    gradient is ``autograd.grad`` of that depth's loss, which walks back only through the head and
    block L's last matmul; the profile is one full backward from the loss at ``depth``.
    ``depths=()`` gives no sweep (and builds only ``depth`` layers).

    >>> p, s = experiment("post", depth=3, dim=16, heads=2, batch=2, tokens=4, depths=[1, 2])
    >>> p.grad_norms.shape, p.hidden_norms.shape, s.depths.tolist()
    ((3,), (4,), [1, 2])
    """
    depths = _check_depths(depths)
    deepest = max([depth, *depths]) if is_int(depth) else depth
    _check(placement, depth=deepest, dim=dim, heads=heads, norm=norm, seed=seed, batch=batch, tokens=tokens)
    dev = device.device()
    if placement == "none":
        dev = device.float64_device()  # that stack runs in float64 (see build_stack)
    with one_thread() if dev.type == "cpu" else nullcontext():  # small matmuls: one CPU thread is faster
        # drawn on the CPU (seeded generators: the same stack on every machine), then moved
        stack = build_stack(placement, depth=deepest, dim=dim, heads=heads, norm=norm, seed=seed).to(dev)
        x, targets = task(batch=batch, tokens=tokens, dim=dim, seed=seed)
        x, targets = x.to(dev, stack.readout.dtype), targets.to(dev)
        hidden, last, loss = [x.detach()], [], None
        for i, block in enumerate(stack.blocks):
            x = block(x)
            if i < depth:
                hidden.append(x.detach())
            if i + 1 in depths or i + 1 == depth:
                loss_i = stack.head(x, targets)
                loss = loss_i if i + 1 == depth else loss
                if i + 1 in depths:
                    (grad,) = torch.autograd.grad(loss_i, block.ffn.w2.weight, retain_graph=True)
                    last.append(torch.linalg.matrix_norm(grad))
        weights = [b.ffn.w2.weight for b in stack.blocks[:depth]]
        grads = torch.autograd.grad(loss, weights)
        g = torch.stack([torch.linalg.matrix_norm(w) for w in grads])  # (L,) Frobenius norms
        h = torch.stack([v.norm(dim=-1).mean() for v in hidden])  # (L + 1,) mean token norm
        _finite(torch.cat([g, *[v[None] for v in last]]), placement, deepest)
    prof = Profile(grad_norms=g.cpu().double().numpy(), hidden_norms=h.cpu().double().numpy())
    sweep = Sweep(np.asarray(depths), torch.stack(last).cpu().double().numpy()) if depths else None
    return prof, sweep


def profile(
    placement: str,
    *,
    depth: int,
    dim: int,
    heads: int = 4,
    norm: str = "layernorm",
    batch: int = 8,
    tokens: int = 16,
    seed: int = 0,
) -> Profile:
    """Each layer's ‖∂loss/∂W₂‖_F and the hidden state's norm after each layer, from one forward+backward.

    >>> p = profile("post", depth=3, dim=16, heads=2, batch=2, tokens=4)
    >>> p.grad_norms.shape, p.hidden_norms.shape, bool(abs(p.hidden_norms[2] - 4.0) < 1e-3)
    ((3,), (4,), True)
    """
    kw = {"norm": norm, "batch": batch, "tokens": tokens, "seed": seed}
    return experiment(placement, depth=depth, dim=dim, heads=heads, depths=(), **kw)[0]


def gradient_norms(
    placement: str,
    *,
    depth: int,
    dim: int,
    heads: int = 4,
    seed: int = 0,
    norm: str = "layernorm",
    batch: int = 8,
    tokens: int = 16,
) -> list[float]:
    """‖∂loss/∂W₂‖_F of each layer's second FFN weight at init, index 0 = first layer (see the module docstring).

    ``norm``: "layernorm" or "rmsnorm"; ``batch`` sequences of ``tokens`` tokens in the synthetic task.

    >>> g = gradient_norms("pre", depth=4, dim=16, heads=2)
    >>> len(g), all(v > 0 for v in g)
    (4, True)
    """
    prof = profile(placement, depth=depth, dim=dim, heads=heads, norm=norm, batch=batch, tokens=tokens, seed=seed)
    return [float(v) for v in prof.grad_norms]


def depth_sweep(
    placement: str,
    *,
    dim: int,
    heads: int = 4,
    norm: str = "layernorm",
    batch: int = 8,
    tokens: int = 16,
    seed: int = 0,
    depths: Sequence[int] = DEPTHS,
) -> Sweep:
    """The last layer's ‖∂loss/∂W₂‖_F against the depth L; equal to ``gradient_norms(..., depth=L)[-1]``.

    >>> s = depth_sweep("post", dim=16, heads=2, batch=2, tokens=4, depths=[1, 2])
    >>> s.depths.tolist(), s.last_grad.shape
    ([1, 2], (2,))
    """
    depths = _check_depths(depths, empty=False)
    kw = {"norm": norm, "batch": batch, "tokens": tokens, "seed": seed}
    return experiment(placement, depth=depths[0], dim=dim, heads=heads, depths=depths, **kw)[1]


def _check_depths(depths, *, empty: bool = True) -> list[int]:
    out = sorted(set(depths)) if isinstance(depths, (list, tuple, range)) else None
    if out is None or (not out and not empty) or any(not is_int(L) or not 1 <= L <= MAX_DEPTH for L in out):
        raise ValueError(f"depths must be a non-empty list of integers in 1 ... {MAX_DEPTH}, such as [1, 2, 4, 8].")
    return out


def _finite(g: torch.Tensor, placement: str, depth: int) -> None:
    if not bool(torch.isfinite(g).all()):
        raise ValueError(
            f"The gradients of the {depth}-layer {placement} stack overflowed float32 (no norm lets the residual "
            "stream explode). Use fewer layers or a norm placement."
        )


def _check(placement, *, depth, dim, heads, norm, seed, batch, tokens) -> None:
    if placement not in PLACEMENTS:
        raise ValueError(f"Unknown placement {placement!r}. Pick one of {', '.join(PLACEMENTS)}.")
    if norm not in NORMS:
        raise ValueError(f"Unknown norm {norm!r}. Pick one of {', '.join(NORMS)}.")
    for label, v in (("depth", depth), ("dim", dim), ("heads", heads), ("batch", batch), ("tokens", tokens)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if depth > MAX_DEPTH:
        raise ValueError(f"depth must be at most {MAX_DEPTH} (the page's range), got {depth}.")
    if dim % heads:
        raise ValueError(
            f"dim = {dim} is not divisible by heads = {heads}: each head gets d / heads features. "
            f"Pick heads among {divisors(dim)[:8]} …"
        )
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if batch * tokens * 4 * dim > MAX_VALUES:
        raise ValueError(
            f"batch x tokens x 4d = {batch * tokens * 4 * dim:,} hidden activations per layer is over the cap of "
            f"{MAX_VALUES:,}. Use a smaller batch, fewer tokens or a smaller d."
        )


LABELS = {"post": "Post-LN", "pre": "Pre-LN", "peri": "Peri-LN", "none": "no norm"}


@dataclass(frozen=True)
class FlowView:
    """Seed-averaged curves, keyed by the placement's label ("Post-LN", …)."""

    layers: np.ndarray  # (L,) 1 ... L
    grads: dict[str, np.ndarray]  # label -> (L,) mean over seeds of ‖∂loss/∂W₂‖ per layer
    grads_range: dict[str, tuple[np.ndarray, np.ndarray]]  # label -> (min, max) over seeds
    hidden: dict[str, np.ndarray]  # label -> (L + 1,) mean token norm after each layer (0 = input)
    depths: np.ndarray  # (S,) the sweep's L values
    last: dict[str, np.ndarray]  # label -> (S,) mean over seeds of the last layer's gradient norm
    slopes: dict[str, float]  # label -> fitted log-log slope of ``last`` against L
    references: dict[str, np.ndarray]  # lines with Theorem 1's bound slopes: flat (Post-LN) and 1/√L (Pre-LN)
    sqrt_d: float
    trends: dict[str, Trend]  # label -> how ``grads`` goes from layer 1 to layer L


@dataclass(frozen=True)
class Trend:
    """How one per-layer curve goes from layer 1 to layer L (layers counted from 1)."""

    first: float  # layer 1's value
    last: float  # layer L's value
    ratio: float  # last / first
    low: float
    low_layer: int
    high: float
    high_layer: int
    direction: str  # "falls" (ratio < 2/3), "rises" (ratio > 3/2), "flat" (in between, or L = 1)


FALLS, RISES = 2 / 3, 3 / 2  # last / first beyond these: the curve falls / rises from layer 1 to layer L


def trend(values) -> Trend:
    """The first, last, lowest and highest of a per-layer curve, and whether it falls, rises or stays flat.

    >>> t = trend([0.29, 0.2, 0.093])
    >>> t.direction, round(t.ratio, 2), t.low_layer
    ('falls', 0.32, 3)
    >>> trend([0.26, 0.2, 0.3, 0.27]).direction
    'flat'
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or not np.all(v > 0):
        raise ValueError("values must be a non-empty 1-D array of finite positive gradient norms (one per layer).")
    ratio = float(v[-1] / v[0])
    direction = "falls" if ratio < FALLS else "rises" if ratio > RISES else "flat"
    lo, hi = int(v.argmin()), int(v.argmax())
    return Trend(float(v[0]), float(v[-1]), ratio, float(v[lo]), lo + 1, float(v[hi]), hi + 1, direction)


def run(placement: str, *, depth: int, dim: int, heads: int, norm: str, batch: int, tokens: int, seed: int):
    """One stack's profile and depth sweep (plain, picklable results for a page's cache)."""
    return experiment(placement, depth=depth, dim=dim, heads=heads, norm=norm, batch=batch, tokens=tokens, seed=seed)


def combine(results: Mapping[str, Sequence[tuple]], *, dim: int) -> FlowView:
    """Average each placement's ``[(Profile, Sweep), …]`` (one per seed) and fit the depth slopes.

    >>> r = {p: [run(p, depth=2, dim=8, heads=2, norm="layernorm", batch=2, tokens=4, seed=s) for s in (0, 1)]
    ...      for p in ("post", "pre")}
    >>> v = combine(r, dim=8)
    >>> sorted(v.grads), v.layers.tolist(), sorted(v.references)
    (['Post-LN', 'Pre-LN'], [1, 2], ['Post-LN bound: flat', 'Pre-LN bound: 1/√L'])
    """
    if not results or any(len(v) == 0 for v in results.values()):
        raise ValueError("results must hold at least one (Profile, Sweep) per placement: run at least one seed.")
    grads, ranges, hidden, last, slopes = {}, {}, {}, {}, {}
    depths = None
    for placement, runs in results.items():
        label = LABELS[placement]
        g = np.stack([p.grad_norms for p, _ in runs])  # (seeds, L)
        grads[label] = g.mean(0)
        ranges[label] = (g.min(0), g.max(0))
        hidden[label] = np.stack([p.hidden_norms for p, _ in runs]).mean(0)
        last[label] = np.stack([s.last_grad for _, s in runs]).mean(0)
        depths = runs[0][1].depths
        slopes[label] = slope(depths, last[label])  # Theorem 1's bounds: 0 for Post-LN, −1/2 for Pre-LN
    refs = {}
    for label, name, power in (("Post-LN", "Post-LN bound: flat", 0.0), ("Pre-LN", "Pre-LN bound: 1/√L", -0.5)):
        if label in last:  # through the measured points' geometric mean, with the bound's slope
            c = power_through(depths, last[label], power)
            refs[name] = c * depths.astype(np.float64) ** power
    layers = np.arange(1, len(next(iter(grads.values()))) + 1)
    trends = {label: trend(g) for label, g in grads.items()}
    return FlowView(layers, grads, ranges, hidden, depths, last, slopes, refs, math.sqrt(dim), trends)
