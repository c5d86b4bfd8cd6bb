"""Streamlit-side real inputs: a model's residual stream (captured once, cached) or a file this session uploaded.

The pages that offer real activations (Hypersphere, Groups, Real data) read them through here;
normviz.io.capture and normviz.io.uploads do the work and never import Streamlit. A page names its real
input with a ``normviz.io.real_input.RealInput`` (``ModelInput`` or ``UploadInput``), a frozen value its
cached views take as an argument.

An uploaded file belongs to the session that uploaded it: the parsed ``Upload`` lives in that session's
``st.session_state`` (one file per session: a new file, on any page, replaces the old one), never in a store
shared by all sessions, so no other student can see or evict it, and it goes when the session ends. All files
held by all sessions together are capped (``NORMVIZ_UPLOADS_MB``, default 1024 MB): when the server is full, a
new upload is refused with a message and nothing held is touched. Views cached with
``cache_view`` first check that the calling session holds every ``UploadInput`` they are given, so a cache
entry made from another session's file is never served to a session that does not hold the same file.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import weakref
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from normviz.io import capture, uploads
from normviz.io.real_input import ModelInput, RealInput, UploadInput
from ui.controls import guarded
from ui.links import BIND

__all__ = ["ModelInput", "RealInput", "UploadInput", "cache_view", "held", "hold", "real_dim", "real_tokens"]

STORE = "_uploads"  # st.session_state key: {page prefix: _Held}, this session's uploaded files only

GONE = (
    "The uploaded file is not held by this session any more (the page was reloaded, the server restarted, or "
    "another file was uploaded: a session holds one file at a time): upload it again."
)
NOT_CARRIED = (
    "This view shows an uploaded file, and an uploaded file lives only in the memory of the session and the "
    "server that received it: a link, a reload, a restarted server or a move to another server does not carry "
    "it. Upload the file again to see it here."
)
ALL_UPLOADS_MB = int(os.environ.get("NORMVIZ_UPLOADS_MB", "1024"))  # every session's held files together
_held_bytes: dict[int, int] = {}  # id(_Held) -> bytes, while a session holds it (a finalizer forgets it)
_held_lock = threading.Lock()


@st.cache_resource(max_entries=2, show_spinner="Loading the model (once per server)…")
def model(source: str):
    return capture.load_model(source)


@st.cache_data(max_entries=4, show_spinner="Running the model and capturing the input of every norm…")
def captured(source: str, text: str, max_tokens: int) -> capture.Capture:
    m, tokenizer = model(source)
    return capture.capture_text(m, tokenizer, capture.split_sentences(text), max_tokens=max_tokens)


@dataclass(frozen=True)
class _Held:
    file_id: str  # the uploader's id of this file: a rerun with the same file reads nothing again
    spec: UploadInput
    upload: uploads.Upload


def hold(
    state: MutableMapping, prefix: str, file_id: str, name: str, data: bytes, drop_nonfinite: bool
) -> tuple[UploadInput, uploads.Upload]:
    """Read the file once and keep it in this session's ``state`` under ``prefix``, replacing (and releasing)
    the file held there before; raises ValueError with the fix when the file cannot be read."""
    store = state.setdefault(STORE, {})
    old = store.get(prefix)
    if old is not None and old.file_id == file_id and old.spec.drop_nonfinite == drop_nonfinite:
        return old.spec, old.upload
    store.clear()  # one file per session: the old one goes before the new one is read, even if reading fails
    up = uploads.load(name, data, drop_nonfinite=drop_nonfinite)
    spec = UploadInput(hashlib.sha256(data).hexdigest()[:16], drop_nonfinite)
    h = _Held(file_id, spec, up)
    _count(h)
    store[prefix] = h
    return spec, up


def held_mb() -> float:
    """MB of uploaded activations all sessions on this server hold now."""
    with _held_lock:
        return sum(_held_bytes.values()) / 2**20


def _count(h: _Held) -> None:
    """Count ``h`` against the server's cap for as long as it lives; raise ValueError if it does not fit."""
    n = h.upload.x.element_size() * h.upload.x.nelement() + h.upload.mask.nelement()
    with _held_lock:
        total = sum(_held_bytes.values())
        if total + n > ALL_UPLOADS_MB * 2**20:
            raise ValueError(
                f"This server is full: its sessions hold {total / 2**20:.0f} MB of uploaded activations, and this "
                f"file needs {n / 2**20:.0f} MB more than the {ALL_UPLOADS_MB} MB they may hold together. Try again "
                "when other sessions have closed, or upload fewer tokens."
            )
        _held_bytes[id(h)] = n
    weakref.finalize(h, _forget, id(h))


def _forget(key: int) -> None:
    with _held_lock:
        _held_bytes.pop(key, None)


def release(state: MutableMapping, prefix: str) -> None:
    """Forget the file held under ``prefix`` (the uploader was emptied or the page shows another input)."""
    state.get(STORE, {}).pop(prefix, None)


def held(spec: UploadInput, state: MutableMapping | None = None) -> uploads.Upload:
    """The ``Upload`` that ``spec`` names, if this session (``state``, default ``st.session_state``) holds it;
    raises ValueError "upload it again" otherwise."""
    state = st.session_state if state is None else state
    for h in state.get(STORE, {}).values():
        if h.spec == spec:
            return h.upload
    raise ValueError(GONE)


def cache_view(**cache_kwargs: Any) -> Callable[[Callable], Callable]:
    """``st.cache_data(**cache_kwargs)`` for a view that takes ``RealInput`` arguments: before the cache is
    consulted, every ``UploadInput`` argument must be held by the calling session (else ValueError)."""

    def wrap(fn: Callable) -> Callable:
        cached = st.cache_data(**cache_kwargs)(fn)

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            for arg in (*args, *kwargs.values()):
                if isinstance(arg, UploadInput):
                    held(arg)
            return cached(*args, **kwargs)

        checked.clear = cached.clear
        checked.__normviz_cached__ = cached  # ui.heavy reads the cache behind the check
        return checked

    return wrap


def upload_ui(prefix: str) -> tuple[UploadInput, uploads.Upload] | None:
    """File uploader + 'drop NaN/Inf tokens'; returns ``(UploadInput, Upload)``, or None with a message shown
    (what to upload, or why the file was refused)."""
    file = st.file_uploader(
        "Activations file",
        type=list(uploads.EXTENSIONS),
        key=f"{prefix}upload",
        help=uploads.ACCEPTED + " Files are read with np.load(allow_pickle=False) / "
        "torch.load(weights_only=True): pickled objects are refused, never run.",
    )
    drop = st.checkbox(
        "Drop tokens with NaN/Inf",
        key=f"{prefix}dropnan",
        help="Keep only the tokens whose values are all finite (the others are masked out).",
    )
    if file is None:
        if STORE not in st.session_state:  # a new session opened on an upload view: a link, a reload, a new server
            st.warning(NOT_CARRIED, icon=":material/cloud_off:")
        release(st.session_state, prefix)
        st.session_state.setdefault(STORE, {})
        st.info(uploads.ACCEPTED, icon=":material/upload_file:")
        return None
    got = guarded(hold, st.session_state, prefix, file.file_id, file.name, file.getvalue(), drop, stop=False)
    if got is None:
        return None
    up = got[1]
    dropped = f"; {up.dropped:,} tokens with NaN/Inf dropped." if up.dropped else "."
    st.caption(f"Read **{file.name}**: {up.note}{dropped}")
    return got


def real_input_ui(prefix: str, kind: str) -> RealInput | None:
    """Extra controls for the real input kinds ("real": MiniLM and its text, "upload": a file); returns the
    ``RealInput`` that ``real_tokens`` reads, or None: for synthetic kinds, and for "upload" while no
    readable file is uploaded (the uploader then says what to upload)."""
    if kind != "upload":
        release(st.session_state, prefix)
    if kind == "real":
        cols = st.columns([3, 1])
        text = cols[0].text_area(
            "Text for MiniLM", capture.DEFAULT_TEXT, height=100, key=f"{prefix}text", bind=BIND,
            help="One sequence per sentence; every real token (no padding) is one point.",
        )  # fmt: skip
        point = cols[1].slider(
            "Capture point", 0, 12, 2, key=f"{prefix}point", bind=BIND,
            help="Which of MiniLM's 13 LayerNorms' input: 0 = embeddings, then two per layer "
            "(attention output, feed-forward output). The Real data page names them all.",
        )  # fmt: skip
        return ModelInput(capture.MINILM, text, point, 64)
    if kind == "upload":
        got = upload_ui(prefix)
        return got[0] if got else None
    return None


def real_dim(spec: RealInput) -> int:
    """The feature count d of the real tokens ``spec`` names (controls that depend on d need it first)."""
    return int(real_tokens(spec).shape[-1])


def real_tokens(spec: RealInput) -> Any:
    """``(1, N, d)`` real tokens for ``spec``; raises ValueError with the fix when they are not available
    (an ``UploadInput`` this session does not hold: "upload it again")."""
    if isinstance(spec, ModelInput):
        cap = captured(spec.source, spec.text, spec.max_tokens)
        if not 0 <= spec.point < len(cap):
            raise ValueError(
                f"Capture point {spec.point} does not exist: this model has {len(cap)} (0 … {len(cap) - 1})."
            )
        return cap.real(spec.point)[None]  # (1, N, d)
    if isinstance(spec, UploadInput):
        return held(spec).real()[None]  # (1, N, d)
    raise ValueError(f"Unknown real input {spec!r}: pass a ModelInput or an UploadInput.")
