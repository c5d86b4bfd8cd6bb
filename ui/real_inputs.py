"""Streamlit-side real inputs: a model's residual stream (captured once, cached) or an uploaded file.

The pages that offer real activations (Hypersphere, Groups, Real data) read them through here;
normviz.capture and normviz.uploads do the work and never import Streamlit.
"""

from __future__ import annotations

import hashlib
from typing import Any

import streamlit as st

from normviz.io import capture, uploads
from ui.controls import guarded
from ui.links import BIND


@st.cache_resource(max_entries=2, show_spinner="Loading the model (once per server)…")
def model(source: str):
    return capture.load_model(source)


@st.cache_data(max_entries=4, show_spinner="Running the model and capturing the input of every norm…")
def captured(source: str, text: str, max_tokens: int) -> capture.Capture:
    m, tokenizer = model(source)
    return capture.capture_text(m, tokenizer, capture.split_sentences(text), max_tokens=max_tokens)


@st.cache_resource(show_spinner=False)
def _uploads() -> dict[str, uploads.Upload]:
    return {}  # digest -> Upload, so cached views can take a plain string instead of a tensor


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def _read_upload(name: str, data: bytes, drop_nonfinite: bool) -> uploads.Upload:
    return uploads.load(name, data, drop_nonfinite=drop_nonfinite)


def upload_ui(prefix: str) -> tuple[str, uploads.Upload] | None:
    """File uploader + 'drop NaN/Inf tokens'; returns ``(digest, Upload)`` or None (st.error shown)."""
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
        st.info(uploads.ACCEPTED, icon=":material/upload_file:")
        return None
    data = file.getvalue()
    up = guarded(_read_upload, file.name, data, drop, stop=False)
    if up is None:
        return None
    digest = hashlib.sha256(data).hexdigest()[:16] + ("-dropped" if drop else "")
    store = _uploads()
    store.pop(digest, None)
    store[digest] = up  # newest last
    while len(store) > 8:  # shared by all sessions: keep the 8 most recent files
        store.pop(next(iter(store)))
    dropped = f"; {up.dropped:,} tokens with NaN/Inf dropped." if up.dropped else "."
    st.caption(f"Read **{file.name}**: {up.note}{dropped}")
    return digest, up


def real_input_ui(prefix: str, kind: str) -> tuple | None:
    """Extra controls for the real input kinds ("real": MiniLM and its text, "upload": a file); the plain
    spec ``real_tokens`` reads, ``("upload", "")`` while no file is uploaded, None for synthetic kinds."""
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
        return ("model", capture.MINILM, text, point, 64)
    if kind == "upload":
        got = upload_ui(prefix)
        return ("upload", got[0]) if got else ("upload", "")
    return None


def real_dim(spec: tuple) -> int:
    """The feature count d of the real tokens ``spec`` names (controls that depend on d need it first)."""
    return int(real_tokens(spec).shape[-1])


def real_tokens(spec: tuple) -> Any:
    """``(1, N, d)`` real tokens for a plain, hashable ``spec``: ``("model", source, text, point, max_tokens)``
    or ``("upload", digest)``; raises ValueError with the fix when they are not available."""
    if spec[0] == "model":
        _, source, text, point, max_tokens = spec
        cap = captured(source, text, max_tokens)
        if not 0 <= point < len(cap):
            raise ValueError(f"Capture point {point} does not exist: this model has {len(cap)} (0 … {len(cap) - 1}).")
        return cap.real(point)[None]  # (1, N, d)
    up = _uploads().get(spec[1])
    if up is None:
        raise ValueError("The uploaded file is no longer in memory: upload it again.")
    return up.real()[None]  # (1, N, d)
