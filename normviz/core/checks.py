"""Argument checks shared by the BatchNorm experiments: every message says how to fix the call."""

from __future__ import annotations

import math

from normviz.core import inputs

__all__ = ["ONE_VALUE", "check_batch_sizes", "check_sizes", "is_int"]

MAX_VALUES = inputs.MAX_ELEMENTS  # 2**26 float32 values (256 MiB) per draw; with temporaries peak RSS < 2 GB

ONE_VALUE = (
    "BatchNorm in training mode needs at least 2 values per feature in a batch: with batch x tokens = 1 "
    "the batch is one token, its variance is 0 and its output would be 0 whatever it is (torch raises "
    "'Expected more than 1 value per channel when training'). Use batch >= 2 or tokens >= 2."
)


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_batch_sizes(batch_sizes) -> list[int]:
    sizes = list(batch_sizes) if isinstance(batch_sizes, (list, tuple, range)) else None
    if not sizes:
        raise ValueError(f"batch_sizes must be a non-empty list of batch sizes such as [2, 4, 8], got {batch_sizes!r}.")
    bad = [b for b in sizes if not is_int(b) or b < 1]
    if bad:
        raise ValueError(f"every batch size must be an integer >= 1 (sequences per batch), got {bad}.")
    return sizes


def check_sizes(kind, *, batch, tokens, dim, batches, seed, eps=1e-5, extra=0, min_batches=2):
    if kind not in inputs.KINDS:
        raise ValueError(f"Unknown input kind {kind!r}. Pick one of {', '.join(inputs.KINDS)}.")
    for label, v in (("batch", batch), ("tokens", tokens), ("dim", dim), ("batches", batches)):
        if not is_int(v) or v < 1:
            raise ValueError(f"{label} must be a positive integer, got {v!r}.")
    if batches < min_batches:
        raise ValueError(f"batches must be at least 2 to compare batches with each other, got {batches}.")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0 (torch's default is 1e-5), got {eps!r}.")
    if batch * tokens < 2:
        raise ValueError(ONE_VALUE)
    values = (batches * batch + extra) * tokens * dim
    if values > MAX_VALUES:
        raise ValueError(
            f"batches x B x tokens x dim = {values:,} values is over the cap of {MAX_VALUES:,} per draw "
            f"(256 MiB, which keeps peak memory under 2 GB). Use fewer batches, a smaller B, fewer tokens "
            f"or a smaller d."
        )
