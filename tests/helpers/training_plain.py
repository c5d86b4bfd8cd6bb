"""An independent plain implementation of the Training page's transformer, in float64, written from the
definitions (explicit softmax with a -inf causal mask, mean/variance by hand, tanh GELU avoided: erf GELU)."""

from __future__ import annotations

import math

import torch

EPS = 1e-5


def plain_params(model) -> dict[str, torch.Tensor]:
    """The model's initial weights as float64 leaf tensors, by name (buffers excluded)."""
    return {k: v.detach().double().clone().requires_grad_(True) for k, v in model.named_parameters()}


def _norm(p: dict, prefix: str, name: str, h: torch.Tensor, groups: int) -> torch.Tensor:
    if name == "identity":
        return h
    w, b = p[prefix + "weight"], p[prefix + "bias"]
    B, T, d = h.shape
    if name == "dyt":
        return w * torch.tanh(p[prefix + "alpha"] * h) + b
    if name == "rmsnorm":
        return h / torch.sqrt((h * h).mean(-1, keepdim=True) + EPS) * w + b
    if name == "layernorm":
        dims, shape = (-1,), h.shape
    elif name == "groupnorm":
        h, dims, shape = h.reshape(B, T, groups, d // groups), (-1,), h.shape
    elif name == "instancenorm":
        dims, shape = (1,), h.shape  # over the T tokens of each sequence
    else:  # batchnorm, training mode: over all B·T tokens
        dims, shape = (0, 1), h.shape
    mu = h.mean(dims, keepdim=True)
    var = ((h - mu) ** 2).mean(dims, keepdim=True)
    return ((h - mu) / torch.sqrt(var + EPS)).reshape(shape) * w + b


def _linear(p: dict, prefix: str, h: torch.Tensor) -> torch.Tensor:
    return h @ p[prefix + "weight"].T + p[prefix + "bias"]


def _attention(p: dict, prefix: str, h: torch.Tensor, heads: int, causal: bool) -> torch.Tensor:
    B, T, d = h.shape
    dh = d // heads
    qkv = _linear(p, prefix + "qkv.", h).reshape(B, T, 3, heads, dh)
    q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # (B, heads, T, dh)
    scores = q @ k.transpose(-1, -2) / math.sqrt(dh)
    if causal:
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
    a = torch.exp(scores - scores.amax(-1, keepdim=True))
    a = a / a.sum(-1, keepdim=True)
    return _linear(p, prefix + "out.", (a @ v).transpose(1, 2).reshape(B, T, d))


def _ffn(p: dict, prefix: str, h: torch.Tensor) -> torch.Tensor:
    u = _linear(p, prefix + "up.", h)
    return _linear(p, prefix + "down.", 0.5 * u * (1 + torch.erf(u / math.sqrt(2))))


def plain_loss(p: dict, task: str, x: torch.Tensor, y: torch.Tensor, s: dict) -> torch.Tensor:
    """Mean cross-entropy of the plain model with settings ``s`` on one batch."""
    causal = task == "chars"
    h = (p["embed.weight"][x] if causal else _linear(p, "embed.", x.double())) + p["pos"][: x.shape[1]]
    norm, g = s["norm"], s["groups"]
    for layer in range(s["depth"]):
        b = f"blocks.{layer}."

        def n(i, v, b=b):
            return _norm(p, f"{b}norms.{i}.", norm, v, g)

        if s["placement"] == "post":
            h = n(0, h + _attention(p, b, h, s["heads"], causal))
            h = n(1, h + _ffn(p, b, h))
        elif s["placement"] == "pre":
            h = h + _attention(p, b, n(0, h), s["heads"], causal)
            h = h + _ffn(p, b, n(1, h))
        else:
            h = h + n(1, _attention(p, b, n(0, h), s["heads"], causal))
            h = h + n(3, _ffn(p, b, n(2, h)))
    if s["placement"] != "post":
        h = _norm(p, "final.", norm, h, g)
    logits = _linear(p, "head.", h if causal else h.mean(1))
    logp = logits - torch.logsumexp(logits, -1, keepdim=True)
    return -logp.reshape(-1, logp.shape[-1]).gather(1, y.reshape(-1, 1)).mean()
