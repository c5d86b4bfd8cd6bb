"""The transformer stack the dynamics pages share: Post-LN, Pre-LN, Peri-LN and no norm.

A block is multi-head self-attention and a ReLU FFN, each in a residual branch (see
:mod:`normviz.experiments.gradient_flow` for the placements and the initialization).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["XavierLinear", "layer_seed", "make_norm"]

EPS = 1e-5


class Attention(nn.Module):
    """Multi-head self-attention, softmax(QKᵀ/√d_h)V, from four ``nn.Linear`` (each its own Xavier init)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (XavierLinear(dim, dim) for _ in range(4))

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
        self.w1, self.w2 = XavierLinear(dim, 4 * dim), XavierLinear(4 * dim, dim)

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
        self.norms = nn.ModuleList(make_norm(norm, dim) for _ in range(count))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return residual(self.placement, self.norms, self.attn, self.ffn, x)


def residual(placement: str, n, attn, ffn, x: torch.Tensor) -> torch.Tensor:
    """One block's residual wiring, ``n`` its norms (2 for post and pre, 4 for peri, none for "none"): where the
    norms sit is all that tells Post-LN, Pre-LN and Peri-LN apart. The Training page's blocks use it too."""
    if placement == "post":
        x = n[0](x + attn(x))
        return n[1](x + ffn(x))
    if placement == "pre":
        x = x + attn(n[0](x))
        return x + ffn(n[1](x))
    if placement == "peri":
        x = x + n[1](attn(n[0](x)))
        return x + n[3](ffn(n[2](x)))
    x = x + attn(x)
    return x + ffn(x)


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


class XavierLinear(nn.Linear):
    """nn.Linear whose weights the stack draws itself (skips the default Kaiming draw: half the build time)."""

    def reset_parameters(self) -> None:
        pass


def make_norm(norm: str, dim: int) -> nn.Module:
    return nn.LayerNorm(dim, eps=EPS) if norm == "layernorm" else nn.RMSNorm(dim, eps=EPS)


def layer_seed(seed: int, i: int) -> int:
    return seed * 1_000 + i + 2  # i = -2: the task, -1: the readout, 0 ... : the layers
