"""The causal leak: whether, in the character LM, an earlier token's output moves when a later token changes.

Causal attention never lets position t read t' > t, so with a per-token norm (LayerNorm, RMSNorm, GroupNorm,
DyT) the logits at t < t' are bitwise unchanged when token t' changes. A norm whose statistics pool over tokens
breaks that: InstanceNorm's mean and variance over the T tokens of a sequence carry t' back to every earlier
position of that sequence; BatchNorm's over all B·T tokens of the batch carry it to every token of every
sequence. In eval mode BatchNorm uses running statistics, a fixed affine map per feature: no leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from normviz.experiments.training import data
from normviz.experiments.training.model import Model

__all__ = ["LEAK_CASES", "Leak", "causal_leak", "leak_table"]

# (norm, BatchNorm mode) pairs the leak table measures, in the order the page draws them
LEAK_CASES = tuple((n, "train") for n in ("layernorm", "rmsnorm", "groupnorm", "dyt", "identity", "instancenorm"))
LEAK_CASES += (("batchnorm", "train"), ("batchnorm", "eval"))


@dataclass(frozen=True)
class Leak:
    """max |Δ logit| at the positions before the changed one: in its own sequence, and in the batch's others."""

    norm: str
    mode: str  # "train" (batch statistics) or "eval" (running statistics); only BatchNorm tells them apart
    within: float
    across: float

    @property
    def leaks(self) -> bool:
        return self.within > 0 or self.across > 0


def causal_leak(norm: str, *, mode: str = "train", placement: str = "pre", groups: int = 1, depth: int = 2,
                width: int = 32, heads: int = 4, batch: int = 4, tokens: int = 32, seed: int = 0,
                model: Model | None = None) -> Leak:  # fmt: skip
    """Change the last token of sequence 0 of a held-out batch; how far the logits of every earlier position move.

    ``model``: measure that (character) model instead of a freshly initialized one; ``mode`` "eval" puts it in
    eval mode (BatchNorm's running statistics), "train" in train mode (batch statistics; nothing is updated).
    """
    if mode not in ("train", "eval"):
        raise ValueError(f"mode must be 'train' (batch statistics) or 'eval' (running statistics), got {mode!r}.")
    if not 2 <= tokens <= data.CONTEXT or batch < 2:
        raise ValueError(f"tokens must be 2 … {data.CONTEXT} and batch at least 2, got {tokens} and {batch}.")
    if model is None:
        gen = torch.Generator().manual_seed(seed)
        model = Model("chars", norm=norm, placement=placement, groups=groups, depth=depth, width=width,
                      heads=heads, generator=gen)  # fmt: skip
    elif model.task != "chars":
        raise ValueError("The causal leak is a property of the causal character LM: pass a 'chars' model.")
    x = data.held_out("chars")[0][:batch, :tokens].clone()  # (B, T) token ids
    changed = x.clone()
    changed[0, -1] = (x[0, -1] + 1) % len(data.VOCAB)
    was = model.training
    model.train(mode == "train")
    bns = [m for m in model.modules() if getattr(m, "name", None) == "batchnorm"]
    saved = [(m.running_mean.clone(), m.running_var.clone()) for m in bns]
    try:
        with torch.no_grad():
            delta = (model(changed) - model(x)).abs()[:, :-1]  # (B, T − 1, V): the positions before the change
    finally:
        for m, (mean, var) in zip(bns, saved, strict=True):  # a train-mode forward moved the running statistics
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
        model.train(was)
    return Leak(norm, mode, float(delta[0].max()), float(delta[1:].max()))


def leak_table(*, placement: str = "pre", groups: int = 4, seed: int = 0) -> list[Leak]:
    """:func:`causal_leak` for every case of :data:`LEAK_CASES` (small untrained models: an exact property)."""
    return [causal_leak(n, mode=m, placement=placement, groups=groups, seed=seed) for n, m in LEAK_CASES]
