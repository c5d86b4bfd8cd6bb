"""A pool of real token sequences that pages draw batches from: MiniLM, an uploaded file, or image patches.

MiniLM's residual stream over real sentences, an uploaded (B, T, d) file with its mask, or image patches
(``normviz.io.patches``).

A pool holds S sequences of variable length packed end to end, with no padding stored: ``x: (N, d)`` float32 is
every real token, sequence s is ``x[offsets[s] : offsets[s + 1]]``. :meth:`TokenPool.batch` pads a chosen set of
sequences to a common length T and returns ``(x: (B, T, d), mask: (B, T))``, True = real token, pads filled with
``pad_value`` (0 by default: what a zero-padded activations tensor holds; a real model's pad positions hold
whatever its layers computed there, which the mask excludes anyway).

The default text is the English prose of Python's reference documentation (``pydoc_data.topics``, shipped with
Python), split into sentences by :func:`doc_sentences`: about 2,100 distinct sentences of 5 … 64 MiniLM tokens.
Capturing one capture point of MiniLM over 2,000 of them holds ~55,000 real tokens × 384 features × 4 bytes ≈
84 MB; all 13 points at once would need 1.1 GB, so a pool holds one point, and the forward pass stops at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from normviz.io import capture

__all__ = ["DOC_SENTENCES", "MAX_POOL", "TokenPool", "capture_pool", "doc_sentences", "from_padded"]

DOC_SENTENCES = 2000  # the default pool: this many sentences of pydoc_data.topics

MAX_POOL = 4096  # sentences a pool may capture (the 256-sentence cap of capture_text does not apply here)

_CHUNK = 64  # sentences per forward pass (sorted by length, so each chunk pads little)


@dataclass(frozen=True)
class TokenPool:
    """S real sequences packed end to end: ``x[offsets[s]:offsets[s+1]]`` is sequence s, ``(lengths[s], d)``."""

    x: torch.Tensor  # (N, d) float32, every real token, no padding
    lengths: np.ndarray  # (S,) int64 real tokens per sequence, each >= 1
    source: str  # what the tokens are, for captions: "MiniLM, input of encoder.layer.0.output.LayerNorm"
    texts: tuple[str, ...] = ()  # each sequence's sentence (empty for uploads and images)
    tokens: tuple[tuple[str, ...], ...] = ()  # token strings per sequence (empty where unknown)

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or int(self.lengths.sum()) != self.x.shape[0] or (self.lengths < 1).any():
            raise ValueError(
                f"a pool needs x: (N, d) with N = sum(lengths) and every length >= 1; got x {tuple(self.x.shape)}, "
                f"sum(lengths) = {int(self.lengths.sum())}."
            )

    @property
    def offsets(self) -> np.ndarray:
        """``(S + 1,)`` int64: where each sequence starts in ``x`` (and where the last one ends)."""
        return np.concatenate([[0], np.cumsum(self.lengths)])

    @property
    def n_sequences(self) -> int:
        return int(self.lengths.size)

    @property
    def dim(self) -> int:
        return int(self.x.shape[1])

    @property
    def nbytes(self) -> int:
        """Bytes the token values hold (the pool's memory, apart from its few strings)."""
        return self.x.element_size() * self.x.numel() + self.lengths.nbytes

    def sequence(self, s: int) -> torch.Tensor:
        """The real tokens of sequence ``s``, ``(lengths[s], d)``."""
        off = self.offsets
        return self.x[off[s] : off[s + 1]]

    def batch(self, index: Sequence[int], *, pad_value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
        """Sequences ``index`` padded to their longest: ``x: (B, T, d)`` float32 and ``mask: (B, T)`` bool.

        >>> p = TokenPool(torch.arange(10.0).reshape(5, 2), np.array([2, 3]), "demo")
        >>> x, mask = p.batch([0, 1]); mask.tolist()
        [[True, True, False], [True, True, True]]
        >>> x[0, 2].tolist(), x[1, 0].tolist()
        ([0.0, 0.0], [4.0, 5.0])
        """
        idx = [int(i) for i in index]
        if not idx or min(idx) < 0 or max(idx) >= self.n_sequences:
            raise ValueError(f"index must pick sequences 0 … {self.n_sequences - 1} of this pool, got {index!r}.")
        lens = self.lengths[idx]  # (B,)
        T = int(lens.max())
        mask = torch.arange(T)[None, :] < torch.as_tensor(lens)[:, None]  # (B, T)
        x = torch.full((len(idx), T, self.dim), float(pad_value), dtype=torch.float32)  # (B, T, d)
        x[mask] = torch.cat([self.sequence(s) for s in idx])  # row-major order: sequence by sequence
        return x, mask


def from_padded(x: torch.Tensor, mask: torch.Tensor, source: str) -> TokenPool:
    """A pool from padded sequences ``x: (B, T, d)`` and ``mask: (B, T)`` (True = real token). A sequence's real
    tokens need not be contiguous (a mask may drop NaN tokens anywhere): they are kept in order; a sequence with
    no real token is left out.

    >>> p = from_padded(torch.ones(2, 3, 4), torch.tensor([[True, False, True], [False, False, False]]), "x")
    >>> p.lengths.tolist(), tuple(p.x.shape)
    ([2], (2, 4))
    """
    if x.ndim != 3 or mask.shape != x.shape[:2] or mask.dtype != torch.bool:
        raise ValueError(
            f"from_padded needs x: (B, T, d) and a bool mask: (B, T); got {tuple(x.shape)} and "
            f"{mask.dtype} {tuple(mask.shape)}."
        )
    lengths = mask.sum(1).numpy().astype(np.int64)  # (B,)
    keep = lengths > 0
    if not keep.any():
        raise ValueError("The mask marks no token as real: nothing to pool. True = real token.")
    return TokenPool(x[mask].float().contiguous(), lengths[keep], source)  # x[mask]: (N, d) in row-major order


def doc_sentences(n: int = DOC_SENTENCES) -> list[str]:
    """The first ``n`` distinct English sentences of Python's reference documentation (``pydoc_data.topics``).

    Topics in sorted order; paragraphs joined across line breaks; code paragraphs (interactive ``>>>`` sessions,
    indented lines that do not start a sentence) skipped; a sentence is kept when it starts with a capital, ends
    with ``. ! ? :``, has 16 … 500 characters and at least 80 % letters, spaces, commas and full stops.

    >>> s = doc_sentences(3); len(s), all(t[0].isupper() for t in s)
    (3, True)
    """
    from pydoc_data import topics

    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_POOL:
        raise ValueError(f"n must be a whole number of sentences between 1 and {MAX_POOL}, got {n!r}.")
    seen: dict[str, None] = {}
    for key in sorted(topics.topics):
        for para in re.split(r"\n\s*\n", topics.topics[key]):
            lines = para.split("\n")
            if para.startswith("   ") and not para.strip()[:1].isupper():
                continue
            if any(ln.strip().startswith((">>>", "...")) for ln in lines):
                continue
            text = " ".join(ln.strip() for ln in lines)
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"(])", text):
                s = s.strip()
                prose = sum(c.isalpha() or c in " ,." for c in s) / max(len(s), 1)
                if 16 <= len(s) <= 500 and s[0].isupper() and s[-1] in ".!?:" and prose > 0.8:
                    seen.setdefault(s, None)
            if len(seen) >= n:
                return list(seen)[:n]
    if len(seen) < n:
        raise ValueError(f"pydoc_data.topics holds {len(seen)} such sentences; ask for at most that many.")
    return list(seen)[:n]


class _Reached(Exception):
    """Raised by the capture hook once the chosen norm's input is recorded: the rest of the forward is skipped."""


def capture_pool(
    model: nn.Module,
    tokenizer,
    sentences: Sequence[str],
    point: int,
    *,
    max_tokens: int = 64,
    progress: Callable[[float, str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> TokenPool:
    """The input of norm call number ``point`` for every sentence (one sequence each, cut to ``max_tokens``).

    Sentences go through the model in chunks of 64, sorted by length so that a chunk pads little; each chunk's
    forward pass stops at the chosen norm (a pre-hook records its input and raises). Only real tokens are kept,
    in the sentences' own order. ``progress(fraction, message)`` is called after each chunk; ``stop()`` returning
    True ends the capture early with ValueError.
    """
    sentences = [s for s in sentences if isinstance(s, str) and s.strip()]
    if not sentences:
        raise ValueError("Give at least one non-empty sentence to capture.")
    if len(sentences) > MAX_POOL:
        raise ValueError(f"{len(sentences)} sentences is over the pool's cap of {MAX_POOL}: use fewer.")
    if not 2 <= max_tokens <= capture.MAX_TOKENS:
        raise ValueError(f"max_tokens must be between 2 and {capture.MAX_TOKENS}, got {max_tokens}.")
    mods = capture.norm_modules(model)
    if not 0 <= point < len(mods):
        raise ValueError(f"Capture point {point} does not exist: this model has {len(mods)} (0 … {len(mods) - 1}).")
    name, module = mods[point]
    enc = tokenizer(sentences, truncation=True, max_length=max_tokens)
    lengths = np.array([len(ids) for ids in enc["input_ids"]], dtype=np.int64)  # (S,)
    order = np.argsort(lengths, kind="stable")
    got: list[torch.Tensor] = []

    def hook(mod, args, kwargs):
        got.append((args[0] if args else next(iter(kwargs.values()))).detach().float().cpu())
        raise _Reached

    where = next(model.parameters(), torch.empty(0)).device
    rows: dict[int, torch.Tensor] = {}
    handle = module.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        for start in range(0, len(sentences), _CHUNK):
            if stop is not None and stop():
                raise ValueError("The capture was cancelled.")
            idx = order[start : start + _CHUNK]
            batch = tokenizer([sentences[i] for i in idx], padding=True, truncation=True, max_length=max_tokens,
                              return_tensors="pt")  # fmt: skip
            got.clear()
            try:
                with torch.inference_mode():
                    model(**{k: v.to(where) for k, v in batch.items()})
            except _Reached:
                pass
            x = got[0]  # (b, T, d)
            mask = batch["attention_mask"].bool()  # (b, T)
            for row, i in enumerate(idx):
                rows[int(i)] = x[row][mask[row]].clone()  # (len_i, d) real tokens only
            if progress is not None:
                done = min(start + _CHUNK, len(sentences))
                progress(done / len(sentences), f"{done:,} of {len(sentences):,} sentences")
    finally:
        handle.remove()
    x = torch.cat([rows[i] for i in range(len(sentences))])  # (N, d)
    toks = tuple(tuple(tokenizer.convert_ids_to_tokens(ids)) for ids in enc["input_ids"])
    return TokenPool(x, lengths, f"MiniLM, input of {name}", tuple(sentences), toks)
