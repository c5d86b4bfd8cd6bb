"""Pools of real sequences for the pages that draw batches: captured once per server, in the background.

Captured off the script thread through the one background pool (``normviz.core.jobs``), with progress while they
are queued or running.

A pool of MiniLM tokens over 2,000 sentences holds ~84 MB (one capture point); at most ``KEEP`` pools stay in
memory (≤ 3 × 84 MB, plus the model's 90 MB), the least recently used going first. The job stores its pool here
and returns nothing, so the job pool's memory of finished jobs holds no tensors. An uploaded file's pool is built
from the file this session holds (``ui.real_inputs``): it never enters the shared store.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict

import streamlit as st

from normviz.core import jobs
from normviz.io import capture, patches, token_pool
from normviz.io.real_input import PoolInput, RealInput, UploadInput
from ui import real_inputs
from ui.links import BIND

__all__ = ["KEEP", "MIN_SENTENCES", "SENTENCES", "get", "pool_input_ui", "ready", "submit"]

KEEP = 3

MIN_SENTENCES = 32  # a pool of your sentences: B = 2 and 4 (B ≤ S/8), so the spread has a slope

# sentences of the "docs" pool: tests lower it for speed (AppTest sets this name; the browser tests' server is
# started with NORMVIZ_POOL_SENTENCES)
SENTENCES = int(os.environ.get("NORMVIZ_POOL_SENTENCES", token_pool.DOC_SENTENCES))

_WAITING = "_pool_waits"  # st.session_state key: keys of the pools this session waits for
_LOCK = threading.RLock()  # ready() holds it while get() takes it again
_POOLS: OrderedDict[str, token_pool.TokenPool] = OrderedDict()


def _build(spec: PoolInput, job: jobs.Job) -> None:
    if spec.source in patches.IMAGE_SOURCES:
        job.report(0.1, "cutting the images into patches")
        pool = patches.image_pool(spec.source)
    else:
        job.report(0.0, "loading MiniLM")
        model, tokenizer = real_inputs.model(capture.MINILM)
        sentences = token_pool.doc_sentences(spec.sentences) if spec.source == "docs" else _sentences(spec.text)
        pool = token_pool.capture_pool(
            model, tokenizer, sentences, spec.point, progress=job.report, stop=job.stop_requested
        )
    with _LOCK:
        _POOLS[spec.key] = pool
        _POOLS.move_to_end(spec.key)
        while len(_POOLS) > KEEP:
            _POOLS.popitem(last=False)


def _sentences(text: str) -> list[str]:
    s = list(dict.fromkeys(capture.split_sentences(text)))  # distinct sentences: a batch holds distinct ones
    if len(s) < MIN_SENTENCES:
        raise ValueError(
            f"The text holds {len(s)} distinct sentences; batches from a pool need B ≤ S/8, and the spread against B "
            f"needs two batch sizes (B = 2 and 4), so paste at least {MIN_SENTENCES} sentences (or pick the "
            "documentation's 2,000)."
        )
    return s


def submit(spec: PoolInput) -> jobs.Job:
    """The job that captures ``spec``'s pool (the one already queued or running, if any)."""
    if spec.source not in ("docs", "text", *patches.IMAGE_SOURCES):
        raise ValueError(f"Unknown pool source {spec.source!r}: docs, text, photos or digits.")
    if spec.source == "text":
        _sentences(spec.text)  # too few sentences: say so now, not from a job that would fail on every rerun
    p = jobs.pool()
    job = p.get(spec.key)
    fresh = job is not None and job.done() and spec.key not in _POOLS  # done, but its pool was let go since
    return p.submit(spec.key, lambda j: _build(spec, j), label=f"Capturing the {spec.source} pool", heavy=True,
                    fresh=fresh)  # fmt: skip


def get(spec: RealInput) -> token_pool.TokenPool:
    """The pool ``spec`` names, if it is ready; ValueError otherwise (the caller shows :func:`ready` first)."""
    if isinstance(spec, UploadInput):
        up = real_inputs.held(spec)
        return token_pool.from_padded(up.x, up.mask, "your uploaded file")
    with _LOCK:
        pool = _POOLS.get(spec.key)
        if pool is not None:
            _POOLS.move_to_end(spec.key)
            return pool
    raise ValueError("The token pool is not captured yet: wait for the progress bar to finish.")


def ready(spec: RealInput) -> token_pool.TokenPool | None:
    """The pool, or None after showing its job's progress (its place in the queue while it waits) or its error.
    A page that gets None should call :func:`wait_and_rerun`."""
    if isinstance(spec, UploadInput):
        return get(spec)
    with _LOCK:
        if spec.key in _POOLS:
            return get(spec)
    waiting = st.session_state.setdefault(_WAITING, set())  # pools this session is showing the progress of
    old = jobs.pool().get(spec.key)
    if old is not None and old.state == "failed" and spec.key in waiting:
        waiting.discard(spec.key)  # shown once: the next run (a changed control, a reload) tries again
        _raise(old)
    job = submit(spec)
    if job.state == "failed":
        _raise(job)
    waiting.add(spec.key)
    if job.state == "done" and spec.key in _POOLS:
        return get(spec)
    place = job.place
    where = f"queued, place {place} among the waiting heavy jobs" if place else job.message or "starting"
    st.progress(job.progress, text=f"Capturing real tokens (once per server): {where}…")
    return None


def _raise(job: jobs.Job) -> None:
    """Re-raise a failed capture as the ValueError ``ui.guarded`` shows (its own, or one naming the failure)."""
    try:
        job.result()
    except ValueError:
        raise
    except Exception as err:
        raise ValueError(f"The capture failed ({type(err).__name__}: {str(err)[:200]}). Reload to try again.") from err


def wait_and_rerun(seconds: float = 0.5) -> None:
    """Let the capture run a little, then rerun the page (the progress bar moves; the view appears when done)."""
    time.sleep(seconds)
    st.rerun()


def pool_input_ui(prefix: str, kind: str, container=None) -> RealInput | None:
    """Controls for a pool kind ("docs", "text", "upload", "photos", "digits"); the spec, or None while no
    readable file is uploaded."""
    c = container or st
    if kind != "upload":
        real_inputs.release(st.session_state, prefix)
    if kind in patches.IMAGE_SOURCES:
        return PoolInput(kind)
    if kind == "upload":
        got = real_inputs.upload_ui(prefix)
        return got[0] if got else None
    point = c.slider(
        "Capture point", 0, 12, 2, key=f"{prefix}point", bind=BIND,
        help="The input of which of MiniLM's 13 LayerNorms: 0 = embeddings, then two per layer (attention "
        "output, feed-forward output). At 2 and 6 the [CLS] tokens carry a massive feature.",
    )  # fmt: skip
    if kind == "docs":
        return PoolInput("docs", point, sentences=SENTENCES)
    text = c.text_area(
        f"Text for MiniLM (one sequence per sentence, at least {MIN_SENTENCES})",
        " ".join(token_pool.doc_sentences(64)),
        height=100, key=f"{prefix}pooltext", bind=BIND,
        help="Every distinct sentence is one sequence of the pool; batches draw B of them (B ≤ sentences / 8).",
    )  # fmt: skip
    return PoolInput("text", point, text=text)
