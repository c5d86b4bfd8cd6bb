"""Identical work is done once: sessions asking at the same moment for the same cold view compute it once.

A page's views are ``st.cache_data`` functions; Streamlit holds a compute lock per argument set, so the
second, third, … caller waits for the first caller's value instead of computing its own. The pool's jobs
(``normviz.core.jobs``, used for the warm-up and heavy work) do the same by key. Both are checked here by
counting calls of the function body from 8 threads started together; so are the figures a page builds
from a view (``ui.figure_cache``).
"""

import threading

import plotly.graph_objects as go
import streamlit as st

from normviz.core import jobs

CALLERS = 8


def _together(fn) -> list:
    start, out = threading.Barrier(CALLERS), [None] * CALLERS

    def call(i):
        start.wait()
        out[i] = fn()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def test_a_cold_cached_view_is_computed_once_for_concurrent_callers():
    calls = []

    @st.cache_data(show_spinner=False)
    def view(n: int) -> list[int]:
        calls.append(n)
        threading.Event().wait(0.3)  # long enough for every other caller to arrive while it computes
        return list(range(n))

    assert _together(lambda: view(5)) == [[0, 1, 2, 3, 4]] * CALLERS
    assert calls == [5]
    view.clear()


def test_the_pool_computes_one_job_per_key_for_concurrent_submitters():
    pool, calls = jobs.Pool(workers=3, heavy_limit=1), []

    def work(job):
        calls.append(job.key)
        threading.Event().wait(0.3)
        return 42

    try:
        assert _together(lambda: pool.submit("same", work).result(timeout=10)) == [42] * CALLERS
        assert calls == ["same"]
    finally:
        pool.close()


def test_a_shared_figure_is_built_once_for_concurrent_sessions():
    from ui import figure_cache

    figure_cache.clear()
    calls = []

    def build():
        calls.append(1)
        threading.Event().wait(0.3)
        return go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))

    figs = _together(lambda: figure_cache.shared_figure(("view", 1), build))
    assert len(calls) == 1
    assert all(f is figs[0] for f in figs)
    figure_cache.clear()
