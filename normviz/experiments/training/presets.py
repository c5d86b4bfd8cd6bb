"""Presets: configurations that tell one story on the first click.

Their defaults are checked over 3 seeds by benchmarks/bench_training.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from normviz.experiments.training.settings import check

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    title: str
    task: str
    configs: tuple[dict, ...]
    story: str


def _p(title: str, task: str, story: str, *configs: dict) -> Preset:
    return Preset(title, task, tuple(check(task, **c) for c in configs), story)


_DEEP = {"depth": 8, "width": 64, "heads": 4, "lr": 1e-2, "steps": 200}  # the measurement
# the warm-up story, checked over seeds 0-2 (benchmarks/bench_training.py): at lr 1e-2 a warm-up over the whole
# run rescued Post-LN on 2 of 3 seeds; at 7e-3 on 3 of 3, while Post-LN without one still stalls on all three
# (at 5e-3 it trains without warm-up); 170 steps keep a first click under a minute on 2 cores
_WARM = {**_DEEP, "lr": 7e-3, "steps": 170}
_VIT = {"depth": 4, "width": 64, "heads": 4, "lr": 3e-3, "steps": 300}
PRESETS = {
    "warmup": _p(
        "Post-LN needs warm-up", "chars",
        "8 blocks, AdamW at lr 7e-3, 170 steps: Post-LN without warm-up stalls near loss 3.2 (it learns which "
        "characters are common and little else) while Pre-LN trains on to about 2.35; Post-LN with the learning "
        "rate rising linearly to 7e-3 over the whole run trains too (about 2.4). Each held on 3 of 3 seeds; add "
        "seeds to see the spread.",
        {**_WARM, "placement": "post"}, {**_WARM, "placement": "post", "warmup": _WARM["steps"]},
        {**_WARM, "placement": "pre"},
    ),
    "batchsize": _p(
        "BatchNorm and the batch size", "digits",
        "A ViT on the digits, 300 steps, at batch 4 and batch 64, with BatchNorm and with LayerNorm. Over 3 "
        "seeds, BatchNorm reaches a held-out accuracy of 0.89–0.95 at batch 64 but 0.47–0.58 at batch 4, and "
        "LayerNorm 0.84–0.96 and 0.23–0.49: in this small model batch 4 costs both norms alike, through "
        "fewer images seen (1,200 against 19,200) and noisier steps, more than BatchNorm's noisy statistics (it "
        "pools each feature over all 16 patches of every image, 64 values at batch 4). BatchNorm's own cost "
        "shows below the curves: its held-out loss in train mode (the batch's statistics) against eval mode "
        "(running statistics).",
        {**_VIT, "norm": "batchnorm", "batch_size": 4}, {**_VIT, "norm": "batchnorm", "batch_size": 64},
        {**_VIT, "norm": "layernorm", "batch_size": 4}, {**_VIT, "norm": "layernorm", "batch_size": 64},
    ),
    "nonorm": _p(
        "Deep and no norm", "digits",
        "12 blocks, AdamW at lr 3e-3: with no norm at all (identity) nothing holds the residual stream and the "
        "run diverges within its first 3 steps (3 of 3 seeds); with LayerNorm (Pre-LN) it does not and learns "
        "(held-out accuracy 0.24–0.72 over 3 seeds); DyT (Zhu et al. 2025, an element-wise tanh with no "
        "statistics) does not diverge either, but at this depth and untuned α it learned on 1 seed of 3 (0.39) "
        "and stayed at chance (0.07–0.08) on the other two.",
        {**_VIT, "depth": 12, "norm": "identity"}, {**_VIT, "depth": 12, "norm": "layernorm"},
        {**_VIT, "depth": 12, "norm": "dyt"},
    ),
    "rmsnorm": _p(
        "RMSNorm vs LayerNorm", "chars",
        "Pre-LN, 4 blocks, AdamW at lr 3e-3: RMSNorm (no centering, Zhang & Sennrich 2019) against LayerNorm. "
        "The curves lie nearly on top of each other (held-out 2.06–2.08 for both, within 0.02 on each of 3 "
        "seeds): the centering buys little here.",
        {"norm": "layernorm"}, {"norm": "rmsnorm"},
    ),
}  # fmt: skip
