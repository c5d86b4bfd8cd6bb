"""Presets: configurations that tell one story on the first click (defaults checked over 3 seeds by
benchmarks/bench_training.py)."""

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


_DEEP = {"depth": 8, "width": 64, "heads": 4, "lr": 1e-2, "steps": 200}
PRESETS = {
    "warmup": _p(
        "Post-LN needs warm-up", "chars",
        "At AdamW lr 1e-2, 8 layers: Post-LN without warm-up stalls; Pre-LN trains; Post-LN with warm-up trains.",
        {**_DEEP, "placement": "post"}, {**_DEEP, "placement": "post", "warmup": 100}, {**_DEEP, "placement": "pre"},
    ),
}  # fmt: skip
