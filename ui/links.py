"""Shareable links: every control of a page lives in the URL, and a bad link says what it dropped.

Widgets bind themselves with Streamlit's own ``bind="query-params"`` (the key is the parameter name; a
value equal to the default is left out of the URL, an invalid one is dropped silently). app.py wraps
each page run in :func:`checked`, which adds what Streamlit does not: old spellings are read as the new
ones (``labels.LEGACY``), and one notice names the parameters that were dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from ui import labels

BIND = "query-params"


@contextmanager
def checked(prefix: str) -> Iterator[None]:
    """Wrap ``page.run()`` of the page whose controls are keyed ``prefix…``: old link spellings are read as
    new ones, and a notice above the page names every ``prefix…`` parameter of the link that no control
    accepted. The check runs even when the page stops early (st.stop)."""
    _read_legacy_spellings()
    raw = {k: st.query_params.get_all(k) for k in st.query_params if prefix and k.startswith(prefix)}
    slot = st.empty()  # the notice goes above the page
    completed = False
    try:
        yield
        completed = True
    finally:
        rejected = _rejected(raw, unknown_too=completed)
        if rejected:
            names = ", ".join(f"`{k[:40].replace('`', '')}`" for k in rejected)
            slot.warning(
                f"This link had parameters that are not valid here: {names}. They were reset to their defaults.",
                icon=":material/link_off:",
            )


def share_caption() -> None:
    st.caption(
        ":material/link: Every control of this page is in the address bar: copy the link to share this exact view."
    )


def _read_legacy_spellings() -> None:
    for k in list(st.query_params):
        values = st.query_params.get_all(k)
        if any(v in labels.LEGACY for v in values):
            st.query_params[k] = [labels.LEGACY.get(v, v) for v in values]


def _rejected(raw: dict[str, list[str]], *, unknown_too: bool) -> list[str]:
    """The link's parameters that no control took. ``unknown_too``: also those no control of the page has
    (only known once the page ran to its end)."""
    out = []
    for k, values in raw.items():
        if k not in st.session_state:  # no control of this page has that name
            if unknown_too:
                if k in st.query_params:
                    del st.query_params[k]
                out.append(k)
            continue
        if k in st.query_params:
            continue  # accepted and kept in the URL
        if _spells(values, st.session_state[k]):
            continue  # accepted: it was the default value, which the URL leaves out
        out.append(k)
    return out


def _url_forms(value: Any) -> set[str]:
    forms = {str(value)} | labels.url_forms(value)
    if isinstance(value, bool):
        forms.add(str(value).lower())  # toggles and checkboxes: ?key=true
    if isinstance(value, float | int) and not isinstance(value, bool):
        forms |= {f"{value:g}", repr(float(value))}
    return forms


def _spells(values: list[str], value: Any) -> bool:
    """Whether a link's values for one key name the control's value (multi-selects: ?key=A&key=B, any order)."""
    if isinstance(value, list | tuple):
        if not value:
            return values == [""]  # ?key= clears a multi-select
        return len(set(values)) == len(value) and all(any(v in _url_forms(x) for x in value) for v in values)
    return len(values) == 1 and values[0] in _url_forms(value)
