"""Real tokens on the Instance and Coupling pages: a small block of real sequences cut from a token pool.

Both pages take every pool kind (``labels.POOL_KINDS``): MiniLM on the documentation or on your sentences, your
uploaded (B, T, d) file with its mask, patches of two photos or of the digits. The block is
``normviz.experiments.batch_real.real_block``'s: B distinct sequences holding at least T real tokens, cut to their
first T (no padding), and of the pool's features the d of largest variance over all its real tokens (a massive
feature, if any, among them), in index order. Sizes a pool cannot give (T past its sequences' lengths, d past its
features) are lowered to what it holds by :func:`fit`, and the page says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import streamlit as st

from normviz.experiments import batch_real
from normviz.io.real_input import PoolInput, RealInput
from ui import labels, token_pools
from ui.controls import guarded

__all__ = [
    "KINDS",
    "Fitted",
    "fit",
    "groups_for",
    "kind_help",
    "no_padding",
    "pool_ui",
    "probe_for",
    "source_words",
    "wait_for",
]

KINDS = labels.POOL_KINDS


def kind_help(what: str) -> str:
    """The help for a page's input selectbox: the synthetic kinds, then the real pools and ``what`` the page does
    with them."""
    return (
        labels.KIND_HELP + "\n\n" + labels.POOL_KIND_HELP + f"\n\n**On this page**, real pools give {what}; the d "
        "features of largest variance over the pool's tokens (in index order). T and d are lowered to what the pool "
        "holds (digits: 4 patches of 16 pixels)."
    )


def pool_ui(prefix: str, kind: str) -> RealInput | None:
    """The pool's own controls (capture point, text, file) for a real kind; None for a synthetic kind."""
    return token_pools.pool_input_ui(prefix, kind) if kind in KINDS else None


def wait_for(kind: str, spec: RealInput | None) -> None:
    """Stop the page while a real kind has no pool yet: no file uploaded (the uploader says what to upload), or
    the pool being captured (its progress is shown, then the page reruns)."""
    if kind not in KINDS:
        return
    if spec is None:
        st.stop()
    if guarded(token_pools.ready, spec) is None:
        token_pools.wait_and_rerun()


@dataclass(frozen=True)
class Fitted:
    batch: int
    tokens: int
    dim: int
    note: str  # what was lowered and why ("" when nothing was)


def fit(spec: RealInput | None, *, batch: int, tokens: int, dim: int) -> Fitted:
    """The block the pool can give for the asked sizes (unchanged for a synthetic input)."""
    if spec is None:
        return Fitted(batch, tokens, dim, "")
    pool = guarded(token_pools.get, spec)
    B, T, d = batch_real.fit_block(pool, batch=batch, tokens=tokens, dim=dim)
    parts = []
    if B < batch:
        parts.append(f"B = {B} (the pool holds {pool.n_sequences} sequences)")
    if T < tokens:
        parts.append(f"T = {T} (only {T} tokens are held by {B} of its sequences)")
    if d < dim:
        parts.append(f"d = {d} (its tokens have {pool.dim} features)")
    note = ("This pool cannot give the block asked for: shown at " + ", ".join(parts) + ".") if parts else ""
    return Fitted(B, T, d, note)


def groups_for(groups: int, dim: int) -> int:
    """GroupNorm's G for a lowered d: the largest common divisor of the chosen G and d (so G divides d)."""
    return math.gcd(groups, dim)


def probe_for(probe: int, tokens: int, f: Fitted) -> int:
    """The probe token's index ``b·T + t`` in a block whose B or T was lowered: its sequence and position kept,
    or the last ones the block holds."""
    b, t = divmod(probe, tokens)
    return min(b, f.batch - 1) * f.tokens + min(t, f.tokens - 1)


def source_words(spec: RealInput | None, f: Fitted) -> str:
    """One sentence naming the real tokens of the block (empty for a synthetic input)."""
    if spec is None:
        return ""
    pool = token_pools.get(spec)
    what = (
        f"MiniLM's input of capture point {spec.point}, {f.batch} sentences"
        if isinstance(spec, PoolInput) and spec.source in ("docs", "text")
        else f"{pool.source}: {f.batch} sequences"
    )
    return (
        f" Real tokens: {what} with at least {f.tokens} tokens, cut to their first {f.tokens}; the {f.dim} features "
        f"of largest variance over the pool (the norm is taken over those d, not the pool's {pool.dim})."
        + (f" {f.note}" if f.note else "")
    )


def no_padding(spec: RealInput | None) -> bool:
    """True (after saying so) when the pool's sequences all have one length: a padding chart would show nothing."""
    if spec is None:
        return False
    pool = token_pools.get(spec)
    if int(pool.lengths.min()) != int(pool.lengths.max()):
        return False
    st.info(
        f"Every sequence of this pool has {int(pool.lengths[0])} tokens ({pool.source}): none is padded, so "
        "masking changes nothing and there is no padding to show. Pick a pool of sentences (or upload a file with "
        "a mask) to see what counting the pads does.",
        icon=":material/info:",
    )
    return True
