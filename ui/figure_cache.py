"""Figures built and serialized once per server for a view: a class opening the same link shares them.

A page's views come from ``st.cache_data``, but the figure built from a view and its JSON (plotly's validation
and ``to_dict`` cost more than the cached view's look-up) were made again in every session's run: twelve
students opening one link built and serialized the same three figures twelve times
(benchmarks/bench_server_cost.py measures what a session costs the server). :func:`shared_figure` builds the
figure once per ``key`` (callers arriving while it is built wait for it, as ``st.cache_data`` callers do), and
``ui.plot_view`` keeps the JSON of a shared figure beside it (:func:`spec_json`), so the next session's run sends
the same string without building anything.

The key must name everything the figure shows, as a cached function's arguments do: the page's control values
(an upload is named by the digest of its bytes, and a page reaches its figure only after its cached view
checked that the session holds that upload). A shared figure is read, never changed: ``plotly_view`` puts its
per-call settings into the serialized copy, not into the figure.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import plotly.graph_objects as go

MAX_FIGURES = 96  # per server: ~32 views of a page × its three figures; a 3D view's JSON is ~0.3 MB


class _Entry:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fig: go.Figure | None = None
        self.json: dict[Hashable, str] = {}  # (present, link_cameras) -> the spec plotly_view sends


_lock = threading.Lock()
_entries: OrderedDict[Hashable, _Entry] = OrderedDict()
_by_figure: dict[int, _Entry] = {}  # id(fig) -> its entry, while the entry is held


def shared_figure(key: Hashable, build: Callable[[], go.Figure]) -> go.Figure:
    """The figure for ``key``: ``build()`` once per server, the same object for every later caller.

    Concurrent callers with one cold key wait for the first one's figure; a ``build`` that raises leaves nothing
    behind (the next caller builds again). At most :data:`MAX_FIGURES` figures are kept, least recently used out.
    """
    with _lock:
        entry = _entries.get(key)
        if entry is None:
            entry = _entries[key] = _Entry()
        _entries.move_to_end(key)
        while len(_entries) > MAX_FIGURES:
            _, old = _entries.popitem(last=False)
            if old.fig is not None:
                _by_figure.pop(id(old.fig), None)
    with entry.lock:
        if entry.fig is None:
            entry.fig = build()
            with _lock:
                if _entries.get(key) is entry:  # not evicted while it was built
                    _by_figure[id(entry.fig)] = entry
        return entry.fig


def spec_json(fig: go.Figure, settings: Hashable, make: Callable[[], str]) -> str:
    """``make()``, the JSON ``ui.plot_view`` sends for ``fig`` drawn with ``settings``; made once per shared
    figure and settings, every time for a figure not from :func:`shared_figure`."""
    with _lock:
        entry = _by_figure.get(id(fig))
    if entry is None or entry.fig is not fig:
        return make()
    with entry.lock:
        if settings not in entry.json:
            entry.json[settings] = make()
        return entry.json[settings]


def clear() -> None:
    """Forget every shared figure (tests)."""
    with _lock:
        _entries.clear()
        _by_figure.clear()
