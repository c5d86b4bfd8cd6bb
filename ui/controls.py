"""Small Streamlit helpers every page uses: a 1-based index slider, errors shown as messages, cached samples."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from normviz.core import device, inputs
from ui.links import BIND


@st.cache_resource(max_entries=4, show_spinner="Drawing token vectors…")
def sample(kind: str, batch: int, tokens: int, dim: int, seed: int):
    """One shared, read-only sample per argument set: moving eps or gamma never redraws it."""
    return inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed).to(device.device())


def index_slider(container, label: str, n: int, default: int, *, key: str, help: str) -> int:
    """Pick one of 1 … n (1-based, as a class counts). A select_slider, so n = 1 works (st.slider needs
    min < max); the key carries n, so shrinking n starts this slider afresh instead of out of range."""
    return container.select_slider(
        label, options=list(range(1, n + 1)), value=min(default, n), key=f"{key}_{n}", bind=BIND, help=help
    )


def select_sliders(cols, specs) -> list:
    """One ``select_slider`` per column from a table of ``(label, options, value, key, help)`` rows, all in the
    URL (``bind``); returns their values in the table's order."""
    return [
        col.select_slider(label, options, value=value, key=key, bind=BIND, help=help)
        for col, (label, options, value, key, help) in zip(cols, specs, strict=True)
    ]


def guarded(fn: Callable[..., Any], *args: Any, stop: bool = True, **kwargs: Any) -> Any:
    """Call a normviz function; a ValueError becomes st.error with its fix, never a traceback.

    ``stop=True`` ends the page run there (the rest depends on the result); ``stop=False``
    returns None so the page can skip just that section and keep the others.
    """
    try:
        return fn(*args, **kwargs)
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        if stop:
            st.stop()
        return None
