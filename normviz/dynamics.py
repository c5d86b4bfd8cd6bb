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

Xiong et al.'s Theorem 1: the last layer's ‖∂loss/∂W₂‖ is O(d√(ln d)) for Post-LN whatever L, and
O(d√(ln d / L)) for Pre-LN: Pre-LN's residual stream grows like √L and the final norm divides by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from normviz._threads import one_thread

__all__ = [
    "DEPTHS",
    "NORMS",
    "PLACEMENTS",
    "Profile",
    "Sweep",
    "build_stack",
    "depth_sweep",
    "experiment",
    "gradient_norms",
    "profile",
]

PLACEMENTS = ("post", "pre", "peri", "none")
NORMS = ("layernorm", "rmsnorm")
DEPTHS = (1, 2, 3, 6, 12, 24, 48)  # the depth sweep's L values (log-spaced, ~2x apart)
MAX_DEPTH = 48
CLASSES = 512  # V, the readout's classes: V >> d, as a language model's vocabulary
EPS = 1e-5
MAX_VALUES = 2**22  # batch x tokens x hidden (4d) activations per layer: keeps one run well under a second


class Attention(nn.Module):
    """Multi-head self-attention, softmax(QKᵀ/√d_h)V, from four ``nn.Linear`` (each its own Xavier init)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (_Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        h = self.heads
        q, k, v = (p(x).view(B, T, h, d // h).transpose(1, 2) for p in (self.q, self.k, self.v))  # (B, h, T, d_h)
        a = F.scaled_dot_product_attention(q, k, v)  # (B, h, T, d_h)
        return self.o(a.transpose(1, 2).reshape(B, T, d))  # (B, T, d)


class FFN(nn.Module):
    """FFN(x) = W₂ ReLU(W₁x + b₁) + b₂, hidden width 4d; ``w2.weight`` is the W₂ whose gradient is measured."""

    def __init__(self, dim: int):
        super().__init__()
        self.w1, self.w2 = _Linear(dim, 4 * dim), _Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.relu(self.w1(x)))


class Block(nn.Module):
    """One transformer block with its norm placed as ``placement`` says (see the module docstring)."""

    def __init__(self, dim: int, heads: int, placement: str, norm: str):
        super().__init__()
        self.placement = placement
        self.attn = Attention(dim, heads)
        self.ffn = FFN(dim)
        count = {"post": 2, "pre": 2, "peri": 4, "none": 0}[placement]
        self.norms = nn.ModuleList(_norm(norm, dim) for _ in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.norms
        if self.placement == "post":
            x = n[0](x + self.attn(x))
            return n[1](x + self.ffn(x))
        if self.placement == "pre":
            x = x + self.attn(n[0](x))
            return x + self.ffn(n[1](x))
        if self.placement == "peri":
            x = x + n[1](self.attn(n[0](x)))
            return x + n[3](self.ffn(n[2](x)))
        x = x + self.attn(x)
        return x + self.ffn(x)


class Stack(nn.Module):
    """``depth`` blocks, the final norm (Pre-LN and Peri-LN only) and the task's fixed readout."""

    def __init__(self, blocks: list[Block], final: nn.Module, readout: torch.Tensor):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)
        self.final = final
        self.register_buffer("readout", readout)  # (V, d), fixed: not trained, not measured

    def head(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """loss = mean cross-entropy(W_out · N_final(x), t); x: (B, T, d), targets: (B, T)."""
        logits = self.final(x) @ self.readout.T  # (B, T, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


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
        g = torch.Generator().manual_seed(_layer_seed(seed, i))
        for m in block.modules():
            if isinstance(m, _Linear):
                nn.init.xavier_uniform_(m.weight, generator=g)
                nn.init.zeros_(m.bias)
        blocks.append(block)
    g = torch.Generator().manual_seed(_layer_seed(seed, -1))
    readout = nn.init.xavier_uniform_(torch.empty(CLASSES, dim), generator=g)
    final = _norm(norm, dim) if placement in ("pre", "peri") else nn.Identity()
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
    g = torch.Generator().manual_seed(_layer_seed(seed, -2))
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
    deepest = max([depth, *depths]) if _is_int(depth) else depth
    _check(placement, depth=deepest, dim=dim, heads=heads, norm=norm, seed=seed, batch=batch, tokens=tokens)
    with one_thread():
        stack = build_stack(placement, depth=deepest, dim=dim, heads=heads, norm=norm, seed=seed)
        x, targets = task(batch=batch, tokens=tokens, dim=dim, seed=seed)
        x = x.to(stack.readout.dtype)
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
    prof = Profile(grad_norms=g.double().numpy(), hidden_norms=h.double().numpy())
    sweep = Sweep(np.asarray(depths), torch.stack(last).double().numpy()) if depths else None
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


def slope(depths: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of log(values) against log(L): 0 for Post-LN, −1/2 for Pre-LN in theory.

    >>> round(slope(np.array([1.0, 4.0, 16.0]), np.array([1.0, 0.5, 0.25])), 6)
    -0.5
    """
    return float(np.polyfit(np.log(depths), np.log(values), 1)[0])


class _Linear(nn.Linear):
    """nn.Linear whose weights the stack draws itself (skips the default Kaiming draw: half the build time)."""

    def reset_parameters(self) -> None:
        pass


def _norm(norm: str, dim: int) -> nn.Module:
    return nn.LayerNorm(dim, eps=EPS) if norm == "layernorm" else nn.RMSNorm(dim, eps=EPS)


def _layer_seed(seed: int, i: int) -> int:
    return seed * 1_000 + i + 2  # i = -2: the task, -1: the readout, 0 ... : the layers


def _check_depths(depths, *, empty: bool = True) -> list[int]:
    out = sorted(set(depths)) if isinstance(depths, (list, tuple, range)) else None
    if out is None or (not out and not empty) or any(not _is_int(L) or not 1 <= L <= MAX_DEPTH for L in out):
        raise ValueError(f"depths must be a non-empty list of integers in 1 ... {MAX_DEPTH}, such as [1, 2, 4, 8].")
    return out


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


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
        if not _is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if depth > MAX_DEPTH:
        raise ValueError(f"depth must be at most {MAX_DEPTH} (the page's range), got {depth}.")
    if dim % heads:
        raise ValueError(
            f"dim = {dim} is not divisible by heads = {heads}: each head gets d / heads features. "
            f"Pick heads among {[h for h in range(1, dim + 1) if dim % h == 0][:8]} …"
        )
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if batch * tokens * 4 * dim > MAX_VALUES:
        raise ValueError(
            f"batch x tokens x 4d = {batch * tokens * 4 * dim:,} hidden activations per layer is over the cap of "
            f"{MAX_VALUES:,}. Use a smaller batch, fewer tokens or a smaller d."
        )
