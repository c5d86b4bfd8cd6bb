"""The small transformer the Training page trains: token or patch embedding, ``depth`` blocks, a readout.

A block is multi-head self-attention (causal for the character LM) and a GELU FFN of width 4d, each in a
residual branch, with the norm placed

- ``post`` (the original Transformer): ``x ← N(x + F(x))``;
- ``pre`` (GPT-2): ``x ← x + F(N(x))``, and a final norm before the readout;
- ``peri`` (Kim et al. 2025): ``x ← x + N(F(N(x)))``, and a final norm.

Each norm makes the same torch call as :func:`normviz.core.norms.apply` (tests check they agree), with a
learned γ and β; BatchNorm also keeps running statistics (momentum 0.1) for eval mode, and DyT learns its α
(initialized at 0.5, Zhu et al. 2025). ``identity`` is no norm. Weights are drawn as torch's own defaults
draw them, from the run's ``torch.Generator`` (so the same seed gives the same model).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from normviz.core import transformer

__all__ = ["EPS", "Model", "Norm"]

EPS = 1e-5


class Norm(nn.Module):
    """One normalization over the token layout ``(B, T, d)``, with learned γ (ones) and β (zeros)."""

    def __init__(self, name: str, dim: int, groups: int = 1) -> None:
        super().__init__()
        self.name, self.groups = name, groups
        self.batch_stats = False  # BatchNorm in eval mode: use the batch's statistics anyway (not updating)
        if name != "identity":
            self.weight = nn.Parameter(torch.ones(dim))
            self.bias = nn.Parameter(torch.zeros(dim))
        if name == "dyt":
            self.alpha = nn.Parameter(torch.tensor(0.5))
        if name == "batchnorm":
            self.register_buffer("running_mean", torch.zeros(dim))
            self.register_buffer("running_var", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        n = self.name
        if n == "layernorm":
            return F.layer_norm(x, (d,), self.weight, self.bias, EPS)
        if n == "rmsnorm":
            ms = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square() / d  # as norms.apply computes it
            return x * torch.rsqrt(ms + EPS) * self.weight + self.bias
        if n == "groupnorm":
            return F.group_norm(x.reshape(B * T, d), self.groups, self.weight, self.bias, EPS).reshape(B, T, d)
        if n == "instancenorm":
            xt = x.transpose(1, 2).contiguous()  # (B, d, T): statistics over the T tokens of each sequence
            return F.instance_norm(xt, weight=self.weight, bias=self.bias, eps=EPS).transpose(1, 2)
        if n == "batchnorm":
            stats = self.training or self.batch_stats
            track = self.training  # running statistics move only in training steps
            mean, var = (self.running_mean, self.running_var) if track or not stats else (None, None)
            y = F.batch_norm(x.reshape(B * T, d), mean, var, self.weight, self.bias, stats, 0.1, EPS)
            return y.reshape(B, T, d)
        if n == "dyt":
            return self.weight * torch.tanh(self.alpha * x) + self.bias
        return x


class Block(nn.Module):
    """Attention and FFN, each in a residual branch, the norms placed as ``placement`` says."""

    def __init__(self, dim: int, heads: int, placement: str, norm: str, groups: int, causal: bool) -> None:
        super().__init__()
        self.placement, self.heads, self.causal = placement, heads, causal
        self.qkv, self.out = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.up, self.down = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
        count = 4 if placement == "peri" else 2
        self.norms = nn.ModuleList(Norm(norm, dim, groups) for _ in range(count))

    def attn(self, x: torch.Tensor) -> torch.Tensor:
        B, T, d = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)  # (B, h, T, d_h)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)  # (B, h, T, d_h)
        return self.out(a.transpose(1, 2).reshape(B, T, d))

    def ffn(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return transformer.residual(self.placement, self.norms, self.attn, self.ffn, x)


class Model(nn.Module):
    """chars: token ids (B, T) → next-character logits (B, T, 96); digits: patches (B, 16, 4) → class logits
    (B, 10) from the mean over tokens of the last hidden state (after the final norm, if any)."""

    def __init__(
        self, task: str, *, norm: str, placement: str, groups: int, depth: int, width: int, heads: int,
        generator: torch.Generator, vocab: int = 96, patch_dim: int = 4, tokens: int = 64,
    ) -> None:  # fmt: skip
        super().__init__()
        self.task = task
        causal = task == "chars"
        self.embed = nn.Embedding(vocab, width) if causal else nn.Linear(patch_dim, width)
        self.pos = nn.Parameter(torch.zeros(tokens if causal else 16, width))
        self.blocks = nn.ModuleList(Block(width, heads, placement, norm, groups, causal) for _ in range(depth))
        self.final = Norm(norm if placement != "post" else "identity", width, groups)
        self.head = nn.Linear(width, vocab if causal else 10)
        _init(self, generator)

    def forward(self, x: torch.Tensor, resid: list | None = None) -> torch.Tensor:
        """Logits; ``resid``, when given, receives each block's output (B, T, d) in order."""
        h = self.embed(x) + self.pos[: x.shape[1]]
        for block in self.blocks:
            h = block(h)
            if resid is not None:
                resid.append(h)
        h = self.final(h)
        return self.head(h if self.task == "chars" else h.mean(dim=1))

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over every predicted character (chars) or image (digits)."""
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _init(model: nn.Module, gen: torch.Generator) -> None:
    """torch's default draws, from ``gen``: Linear W, b ~ U(±1/√fan_in), Embedding ~ N(0, 1); positions N(0, 0.02²)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                bound = 1 / math.sqrt(m.in_features)
                nn.init.uniform_(m.bias, -bound, bound, generator=gen)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, generator=gen)
        nn.init.normal_(model.pos, std=0.02, generator=gen)
