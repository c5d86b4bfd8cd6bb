"""The two offline tasks' data: Python's reference docs as characters, scikit-learn's digits as patch tokens.

``chars``: the English prose of ``pydoc_data.topics`` (every CPython ships it, ~465,000 characters), topics in
sorted order, each character one of 96 tokens (newline and printable ASCII; anything else is read as ``?``).
The last 10 % of the text is held out. ``digits``: ``sklearn.datasets.load_digits`` (1,797 8 × 8 images,
values 0 … 16, scaled to 0 … 1), shuffled once with a fixed seed; 1,500 train, 297 held out. Each image is
16 tokens, its 2 × 2 patches (4 values each) in reading order.

Batches come from :class:`Batches`, a seeded ``torch.Generator``: the same seed gives the same batches.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

__all__ = ["CONTEXT", "HELD_OUT", "PATCH", "VOCAB", "Batches", "held_out", "split"]

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))  # 96 characters; index = token id
CONTEXT = 64  # characters per training sequence
PATCH = 2  # digits: PATCH × PATCH pixels per token, (8 / PATCH)² tokens per image
HELD_OUT = 32  # chars: held-out sequences of CONTEXT characters in every evaluation
_DIGITS_TRAIN = 1_500


@dataclass(frozen=True)
class Split:
    """One task's data: ``train`` and ``held`` inputs (token ids or patches), and for digits their labels."""

    train: torch.Tensor
    held: torch.Tensor
    train_labels: torch.Tensor | None = None
    held_labels: torch.Tensor | None = None


@lru_cache(maxsize=1)
def text() -> str:
    """The corpus: every topic of ``pydoc_data.topics``, in sorted order, separated by a blank line."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k] for k in sorted(topics))


def encode(s: str) -> torch.Tensor:
    """Token ids (int64) of ``s``: its index in :data:`VOCAB`, ``?`` for any other character."""
    table = np.full(128, VOCAB.index("?"), dtype=np.int64)
    table[[ord(c) for c in VOCAB]] = np.arange(len(VOCAB))
    raw = np.frombuffer(s.encode("ascii", "replace"), dtype=np.uint8)  # non-ASCII -> "?"
    return torch.from_numpy(table[raw])


@lru_cache(maxsize=2)
def split(task: str) -> Split:
    """The task's train and held-out data (computed once per process, read-only)."""
    if task == "chars":
        ids = encode(text())
        cut = int(0.9 * len(ids))
        return Split(ids[:cut], ids[cut:])
    if task == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        order = np.random.default_rng(0).permutation(len(digits.target))
        images = digits.images[order].astype(np.float32) / 16.0  # (N, 8, 8) in 0 … 1
        n, k = len(images), 8 // PATCH
        patches = images.reshape(n, k, PATCH, k, PATCH).transpose(0, 1, 3, 2, 4).reshape(n, k * k, PATCH * PATCH)
        x, y = torch.from_numpy(patches.copy()), torch.from_numpy(digits.target[order].astype(np.int64))
        return Split(x[:_DIGITS_TRAIN], x[_DIGITS_TRAIN:], y[:_DIGITS_TRAIN], y[_DIGITS_TRAIN:])
    raise ValueError(f"Unknown task {task!r}: pick 'chars' or 'digits'.")


class Batches:
    """Training batches drawn with replacement by a ``torch.Generator`` seeded ``seed``: ``next(b) -> (x, y)``.

    chars: x, y = (B, CONTEXT) token ids, y = x shifted by one character; digits: x = (B, 16, 4) patches, y = (B,).
    """

    def __init__(self, task: str, batch_size: int, seed: int) -> None:
        self.task, self.batch_size = task, batch_size
        self.data = split(task)
        self.gen = torch.Generator().manual_seed(10_000 + seed)  # not the model's stream: init and data independent
        self._offsets = torch.arange(CONTEXT + 1)

    def __iter__(self) -> Batches:
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.data
        if self.task == "chars":
            starts = torch.randint(0, len(d.train) - CONTEXT - 1, (self.batch_size,), generator=self.gen)
            seq = d.train[starts[:, None] + self._offsets]  # (B, CONTEXT + 1)
            return seq[:, :-1], seq[:, 1:]
        idx = torch.randint(0, len(d.train), (self.batch_size,), generator=self.gen)
        return d.train[idx], d.train_labels[idx]


def held_out(task: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed held-out set every evaluation uses: chars, HELD_OUT sequences at evenly spaced offsets of the
    held-out text; digits, all 297 held-out images."""
    d = split(task)
    if task == "chars":
        starts = torch.linspace(0, len(d.held) - CONTEXT - 2, HELD_OUT).long()
        seq = d.held[starts[:, None] + torch.arange(CONTEXT + 1)]
        return seq[:, :-1], seq[:, 1:]
    return d.held, d.held_labels
