"""A training run's settings: their defaults, their checks (ValueError saying how to fix them) and the link form."""

from __future__ import annotations

import math

from normviz.core import norms

__all__ = [
    "DEFAULTS",
    "FIELDS",
    "NORMS",
    "OPTIMIZERS",
    "OPTIMIZER_LABELS",
    "PLACEMENTS",
    "TASKS",
    "TASK_LABELS",
    "check",
    "decode",
    "encode",
    "key",
]

TASKS = ("chars", "digits")
NORMS = norms.NORMS  # every norm of the registry makes sense in a block; "identity" is no norm
PLACEMENTS = ("post", "pre", "peri")
OPTIMIZERS = ("adamw", "sgd")
DEFAULTS = {
    "norm": "layernorm", "placement": "pre", "groups": 1, "depth": 4, "width": 64, "heads": 4, "batch_size": 32,
    "lr": 3e-3, "warmup": 0, "steps": 200, "optimizer": "adamw", "seed": 0,
}  # fmt: skip
FIELDS = tuple(DEFAULTS)  # the order of a configuration's fields in a link
TOKENS = {"chars": 64, "digits": 16}  # tokens per sequence: data.CONTEXT characters; (8 / data.PATCH)² patches
MAX_RUN_MB = 500  # one run's memory, the bound: a bigger model is refused, not swapped to disk
_LIMITS = {"depth": (1, 24), "width": (8, 256), "heads": (1, 16), "batch_size": (2, 256), "warmup": (0, 5_000),
           "steps": (1, 5_000), "seed": (0, 10**6), "groups": (1, 256)}  # fmt: skip


def check(task: str, **kw) -> dict:
    """The full settings of one run (defaults filled in), or a ValueError naming the bad one and its fix."""
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}: pick one of {', '.join(TASKS)}.")
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown setting(s) {sorted(unknown)}: the settings are {', '.join(FIELDS)}.")
    s = {**DEFAULTS, **kw}
    for name, choices in (("norm", NORMS), ("placement", PLACEMENTS), ("optimizer", OPTIMIZERS)):
        if s[name] not in choices:
            raise ValueError(f"Unknown {name} {s[name]!r}: pick one of {', '.join(choices)}.")
    for name, (lo, hi) in _LIMITS.items():
        v = s[name]
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise ValueError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}.")
    lr = s["lr"]
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not (math.isfinite(lr) and 0 < lr <= 10):
        raise ValueError(f"lr must be a number > 0 and at most 10 (try 1e-3 … 1e-2 for AdamW), got {lr!r}.")
    s["lr"] = float(lr)
    if s["width"] % s["heads"]:
        raise ValueError(f"heads={s['heads']} must divide width={s['width']}: each head gets width / heads features.")
    if s["norm"] == "groupnorm" and s["width"] % s["groups"]:
        div = norms.divisors(s["width"])
        raise ValueError(f"groups={s['groups']} must divide width={s['width']}: pick one of {div}.")
    need = run_mb(task, s)
    if need > MAX_RUN_MB:
        raise ValueError(
            f"This run would need about {need:.0f} MB (batch_size × width × depth × {TOKENS[task]} tokens is "
            f"{_activations(task, s) / 1e6:.1f} million activations per layer stack); one run is capped at "
            f"{MAX_RUN_MB} MB so that a class can share the server: lower batch_size, width or depth."
        )
    if s["norm"] != "groupnorm":
        s["groups"] = 1  # only GroupNorm reads G: other norms share one run per setting
    return s


def _activations(task: str, s: dict) -> int:
    return s["batch_size"] * TOKENS[task] * s["width"] * s["depth"]


def run_mb(task: str, s: dict) -> float:
    """One run's memory in MB, estimated from batch × tokens × width × depth: a fit to peak RSS measured in fresh
    processes (``benchmarks/bench_training.py --memory``; 141–873 MiB over seven configurations, heads barely
    matter), rounded up: 90 MB plus 100 MB per million activations.

    >>> round(run_mb("chars", DEFAULTS))
    142
    """
    return 90 + 100 * _activations(task, s) / 1e6


def key(task: str, settings: dict) -> str:
    """One run's cache key: the task and every setting, in the link's form."""
    return f"{task}|{encode([settings])}"


def encode(configs: list[dict]) -> str:
    """Configurations in one URL parameter: fields joined by ``:`` in :data:`FIELDS` order, configurations by ``,``.

    >>> encode([{**DEFAULTS, "norm": "rmsnorm"}])
    'rmsnorm:pre:1:4:64:4:32:0.003:0:200:adamw:0'
    """
    return ",".join(":".join(_text(c[f]) for f in FIELDS) for c in configs)


def decode(task: str, text: str, *, most: int = 4) -> list[dict]:
    """The configurations a link's parameter holds (each checked), or a ValueError saying what is wrong."""
    parts = [p for p in str(text).split(",") if p]
    if not 1 <= len(parts) <= most:
        raise ValueError(f"A link holds 1 to {most} configurations, got {len(parts)}.")
    out = []
    for p in parts:
        values = p.split(":")
        if len(values) != len(FIELDS):
            raise ValueError(f"A configuration has {len(FIELDS)} fields ({':'.join(FIELDS)}), got {p[:80]!r}.")
        raw = dict(zip(FIELDS, values, strict=True))
        try:
            typed = {f: (v if isinstance(DEFAULTS[f], str) else type(DEFAULTS[f])(v)) for f, v in raw.items()}
        except ValueError:
            raise ValueError(f"A configuration's numbers do not read as numbers: {p[:80]!r}.") from None
        out.append(check(task, **typed))
    return out


def _text(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


TASK_LABELS = {"chars": "Characters: Python's docs (causal LM)", "digits": "Digits: 8 × 8 images (ViT)"}
OPTIMIZER_LABELS = {"adamw": "AdamW", "sgd": "SGD + momentum"}
