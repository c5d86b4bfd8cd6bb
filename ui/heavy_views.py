"""Heavy views through the one pool: at most ``NORMVIZ_HEAVY`` heavy computations run at once on this server.

A page calls ``ui.heavy(cached_fn, *args, label=...)`` instead of ``cached_fn(*args)`` for a view that costs
seconds (the exact Jacobian of every norm, sweeps over B, model capture). A view already in the cache is
returned at once, on the page's own thread. A cold one becomes a heavy job of ``normviz.core.jobs``' pool, keyed
on the function and its arguments, so two sessions asking for it share one computation; while it waits for a
free slot the page says its place in the queue, and while it runs, its progress. Either way the value comes from
the same ``st.cache_data`` function, which keeps it for the next visitor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit.runtime.caching import cache_utils

from normviz.core import jobs
from normviz.io.real_input import UploadInput

__all__ = ["heavy", "is_cached"]

POLL = 0.25  # s between updates of the waiting message


class _PoolThreadsHaveNoSession(logging.Filter):
    """A pool thread runs cached functions without a session on purpose: drop Streamlit's warning about it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.args and record.args[0]).startswith("normviz-jobs") and "ScriptRunContext" in record.msg)


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_PoolThreadsHaveNoSession())


def _cached_func(fn: Callable) -> Any:
    """The ``st.cache_data`` callable behind ``fn`` (``real_inputs.cache_view`` wraps one)."""
    return getattr(fn, "__normviz_cached__", fn)


def _value_key(fn: Callable, args: tuple, kwargs: dict) -> str:
    cf = _cached_func(fn)
    return cache_utils._make_value_key(
        cache_type=cf._info.cache_type, func=cf._info.func, func_args=args, func_kwargs=kwargs,
        hash_funcs=cf._info.hash_funcs,
    )  # fmt: skip


def is_cached(fn: Callable, *args: Any, **kwargs: Any) -> bool:
    """True if ``fn(*args, **kwargs)`` would be a cache hit now (read without counting a lookup)."""
    try:
        cf = _cached_func(fn)
        cf._info.get_function_cache(cf._function_key).read_result(_value_key(fn, args, kwargs))
        return True
    except Exception:  # a miss (CacheKeyNotFoundError), or not a cached function: compute it
        return False


def _say(box, job: jobs.Job, label: str) -> None:
    if job.state == "queued" and job.place is not None:
        box.info(
            f"{label}: waiting for a free slot (place {job.place} in the queue; this server computes "
            f"{jobs.pool().heavy_limit} heavy views at once).",
            icon=":material/hourglass_top:",
        )
    elif job.state == "running" and (job.progress or job.message):  # the job reports how far it has got
        box.progress(job.progress, text=f"{label}: {job.message}" if job.message else label)
    elif job.state == "running":
        box.info(f"{label}…", icon=":material/hourglass_top:")


def heavy(fn: Callable, *args: Any, label: str, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` for a cached heavy view: at once if cached, else as a heavy job of the pool,
    with its place in the queue and then its progress shown meanwhile. Re-raises the job's ValueError.
    A view of an uploaded file runs on the page's thread: the file lives in this session only."""
    if is_cached(fn, *args, **kwargs) or any(isinstance(a, UploadInput) for a in (*args, *kwargs.values())):
        return fn(*args, **kwargs)
    name = f"{fn.__module__}.{fn.__qualname__}"
    try:
        key = f"heavy:{name}:{_value_key(fn, args, kwargs)}"
    except Exception:  # arguments Streamlit cannot hash: no sharing, still bounded by the heavy lane
        key = f"heavy:{name}:{id(args)}:{time.monotonic_ns()}"
    job = jobs.pool().submit(key, lambda job: _cached_func(fn)(*args, **kwargs), label=label, heavy=True, keep=False)
    box = st.empty()
    while not job.wait(POLL):
        _say(box, job, label)
    box.empty()
    return job.result()
