"""Running statistics: BatchNorm's train mode (batch statistics) against eval mode (running ones).

Torch's own ``nn.BatchNorm1d`` keeps ``running_mean`` and ``running_var`` (unbiased) with
``r = (1 - momentum) r + momentum * batch_stat`` (``momentum=None``: the cumulative average);
Batch Renormalization (Ioffe 2017) corrects the batch statistics towards the running ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from normviz.core import checks, device, inputs
from normviz.core.checks import ONE_VALUE, check_sizes, is_int
from normviz.experiments.batch import Sweep, _sweep, probe_token

__all__ = ["RunningStats", "batch_renorm", "running_stats", "train_eval"]


@dataclass(frozen=True)
class RunningStats:
    """``nn.BatchNorm1d``'s buffers after training, and one token's output in train and eval mode."""

    running_mean: torch.Tensor  # (d,)
    running_var: torch.Tensor  # (d,), unbiased batch variances averaged (torch's convention)
    num_batches_tracked: int
    probe: torch.Tensor  # (d,) the token
    train_output: torch.Tensor  # (d,) inside a fresh batch, batch statistics
    eval_output: torch.Tensor  # (d,) running statistics: (p - running_mean) / sqrt(running_var + eps)
    renorm_output: torch.Tensor  # (d,) Batch Renormalization's train output in the same batch
    gap: float  # ||train_output - eval_output||
    renorm_gap: float  # ||renorm_output - eval_output||


def running_stats(
    kind: str,
    *,
    batch: int,
    tokens: int,
    dim: int,
    steps: int,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    seed: int = 0,
    r_max: float = 3.0,
    d_max: float = 5.0,
) -> RunningStats:
    """Train torch's own ``nn.BatchNorm1d`` for ``steps`` batches, then compare train and eval outputs.

    ``running = (1 - momentum) * running + momentum * batch_stat`` (``momentum=None``: cumulative
    average of the batch statistics). Batch s is sequences ``s*B ... s*B + B - 1`` of
    ``inputs.sample(kind, batch=(steps + 1) * B, ...)``; the last, unseen batch holds the probe at
    token 0 and gives the train output (its own statistics), the eval output (running statistics)
    and Batch Renorm's output with ``r_max``, ``d_max`` (Ioffe 2017). The gap grows as B shrinks.
    """
    if not is_int(steps) or steps < 1:
        raise ValueError(f"steps must be a positive integer (training batches before eval), got {steps!r}.")
    check_sizes(kind, batch=batch, tokens=tokens, dim=dim, batches=steps + 1, seed=seed, eps=eps)
    if momentum is not None and not (isinstance(momentum, (int, float)) and 0 < momentum <= 1):
        raise ValueError(
            f"momentum must be in (0, 1] (torch's default is 0.1) or None for a cumulative average, got {momentum!r}."
        )
    n = batch * tokens
    dev = device.device()
    x = inputs.sample(kind, batch=(steps + 1) * batch, tokens=tokens, dim=dim, seed=seed).to(dev)  # (S+1)*B, T, d
    x = x.view(steps + 1, n, dim)  # (S+1, B*T, d): one batch per step
    probe = probe_token(kind, dim, seed)
    x[-1, 0] = probe.to(dev)
    bn = nn.BatchNorm1d(dim, eps=eps, momentum=momentum).to(dev)
    with torch.no_grad():
        bn.train()
        for s in range(steps):
            bn(x[s])
        bn.eval()
        eval_out = bn(x[-1])[0]  # (d,)
        train_out = F.batch_norm(x[-1], None, None, bn.weight, bn.bias, training=True, eps=eps)[0]  # (d,)
        renorm = batch_renorm(x[-1], bn.running_mean, bn.running_var, r_max=r_max, d_max=d_max, eps=eps)[0]
    return RunningStats(
        running_mean=bn.running_mean.cpu().clone(),
        running_var=bn.running_var.cpu().clone(),
        num_batches_tracked=int(bn.num_batches_tracked),
        probe=probe,
        train_output=train_out.cpu(),
        eval_output=eval_out.cpu(),
        renorm_output=renorm.cpu(),
        gap=float((train_out - eval_out).norm()),
        renorm_gap=float((renorm - eval_out).norm()),
    )


def batch_renorm(
    x: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    *,
    r_max: float,
    d_max: float,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Batch Renormalization's training forward pass (Ioffe 2017), per feature over all tokens.

    ``y = (x - mu_B) / sigma_B * r + d`` with ``r = clip(sigma_B / sigma, 1/r_max, r_max)``,
    ``d = clip((mu_B - mu) / sigma, -d_max, d_max)``, ``sigma_B = sqrt(var_B + eps)``,
    ``sigma = sqrt(running_var + eps)``, ``mu = running_mean``; r and d are constants (no gradient).
    ``r_max = 1, d_max = 0`` is plain BatchNorm; loose clips give the eval output ``(x - mu) / sigma``.
    ``x: (N, d)`` or ``(B, T, d)``; returns the same shape.
    """
    if not isinstance(x, torch.Tensor) or x.ndim not in (2, 3):
        raise ValueError("x must be a tensor of shape (N, d) or (B, T, d).")
    d = x.shape[-1]
    flat = x.reshape(-1, d)  # (N, d): every token is one sample
    if flat.shape[0] < 2:
        raise ValueError(ONE_VALUE)
    for label, t in (("running_mean", running_mean), ("running_var", running_var)):
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != (d,):
            raise ValueError(f"{label} must be a tensor of shape (d,) = ({d},), like nn.BatchNorm1d's buffer.")
    if not (r_max >= 1 and d_max >= 0):
        raise ValueError(f"need r_max >= 1 and d_max >= 0 (r_max=1, d_max=0 is plain BatchNorm), got {r_max}, {d_max}.")
    var_b, mu_b = torch.var_mean(flat, dim=0, unbiased=False)  # (d,) each
    sigma_b = (var_b + eps).sqrt()
    sigma = (running_var.to(flat) + eps).sqrt()
    r = (sigma_b / sigma).clamp(1 / r_max, r_max).detach()  # (d,)
    dd = ((mu_b - running_mean.to(flat)) / sigma).clamp(-d_max, d_max).detach()  # (d,)
    return ((flat - mu_b) / sigma_b * r + dd).reshape(x.shape)


def train_eval(
    kind: str,
    *,
    batch_sizes: Sequence[int],
    tokens: int,
    dim: int,
    steps: int,
    momentum: float | None,
    r_max: float,
    d_max: float,
    seed: int = 0,
) -> Sweep:
    """``||train - eval||`` for one token as B changes, for BatchNorm and for Batch Renorm.

    Batch sizes whose ``steps + 1`` batches would exceed the draw cap (``checks.MAX_VALUES``) are
    left out; ``Sweep.batch_sizes`` says which were run.
    """
    sizes = [b for b in batch_sizes if (steps + 1) * b * tokens * dim <= checks.MAX_VALUES]
    if not sizes:
        raise ValueError(
            f"{steps} training steps of even B = {min(batch_sizes)} exceed the cap of {checks.MAX_VALUES:,} values: "
            "use fewer steps, fewer tokens or a smaller d."
        )
    bn, rn = [], []
    for b in sizes:
        rs = running_stats(
            kind, batch=b, tokens=tokens, dim=dim, steps=steps, momentum=momentum, seed=seed, r_max=r_max,
            d_max=d_max,
        )  # fmt: skip
        bn.append(rs.gap)
        rn.append(rs.renorm_gap)
    return _sweep(
        sizes,
        {"BatchNorm: ‖train − eval‖": np.asarray(bn), "Batch Renorm: ‖train − eval‖": np.asarray(rn)},
    )
