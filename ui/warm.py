"""No dead air: from the app's first open, every page's default view is computed in the background.

Each page is *visited* by a headless session: a real Streamlit session on this server, with no browser behind
it, that runs the page exactly as a first visitor's browser would (no query string, every control at its
default) and is closed when the run finishes. So the warm-up fills the very caches a visitor's run reads —
``st.cache_data``/``st.cache_resource`` entries keyed on the same functions and arguments — without a second
list of defaults that could drift from the pages'. Each visit is one job of the one bounded pool
(``normviz.core.jobs``); a visitor who arrives while a view is being computed waits on Streamlit's per-value
compute lock instead of computing it again.

The sidebar reads :func:`status` and says when every page is ready.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent import futures
from dataclasses import dataclass

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import Runtime

from normviz.core import jobs
from ui import navigation

__all__ = ["Status", "start", "status"]

log = logging.getLogger("normviz.warm")
VISIT_TIMEOUT = 600.0  # s: a page whose default run takes longer is logged and counted as not warmed
_SUCCESS = ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY

_lock = threading.Lock()
_started_at: float | None = None
_jobs: dict[str, jobs.Job] = {}


class _Headless:
    """A SessionClient with no browser: it only listens for the end of the run and for exceptions shown."""

    def __init__(self) -> None:
        self.finished = threading.Event()
        self.exceptions: list[str] = []

    def write_forward_msg(self, msg: ForwardMsg) -> None:
        if msg.HasField("delta") and msg.delta.HasField("new_element"):
            el = msg.delta.new_element
            if el.HasField("exception"):
                self.exceptions.append(f"{el.exception.type}: {el.exception.message}")
        if msg.HasField("script_finished") and msg.script_finished == _SUCCESS:
            self.finished.set()

    @property
    def client_context(self) -> None:
        return None


def _on_loop(runtime: Runtime, fn):
    """Run ``fn()`` on the server's event loop (session management is not thread-safe) and return its value."""
    done: futures.Future = futures.Future()

    def call() -> None:
        try:
            done.set_result(fn())
        except Exception as err:
            done.set_exception(err)

    runtime._get_async_objs().eventloop.call_soon_threadsafe(call)
    return done.result(timeout=30)


def _serving() -> bool:
    """True inside ``streamlit run`` (AppTest's runtime is a stand-in, and NORMVIZ_WARM=0 turns warming off)."""
    return os.environ.get("NORMVIZ_WARM", "1") != "0" and Runtime.exists() and type(Runtime.instance()) is Runtime


def visit(url_path: str, job: jobs.Job | None = None, timeout: float = VISIT_TIMEOUT) -> float:
    """Run the page at ``url_path`` once in a headless session at its defaults; returns the seconds it took."""
    runtime = Runtime.instance()
    client = _Headless()
    t0 = time.perf_counter()
    sid = _on_loop(runtime, lambda: runtime.connect_session(client, user_info={"is_logged_in": False}))
    try:
        session = runtime._session_mgr.get_active_session_info(sid).session
        msg = BackMsg(rerun_script=ClientState(page_name=url_path, query_string=""))
        _on_loop(runtime, lambda: session.handle_backmsg(msg))
        if not client.finished.wait(timeout):
            raise TimeoutError(f"the default view of {url_path or 'home'} took over {timeout:.0f} s")
        if client.exceptions:
            raise RuntimeError(f"{url_path or 'home'} showed {client.exceptions[0]}")
        took = time.perf_counter() - t0
        log.info("warmed %s in %.1f s", url_path or "home", took)
        return took
    except Exception as err:
        log.warning("warming %s failed after %.1f s: %s", url_path or "home", time.perf_counter() - t0, err)
        raise
    finally:
        _on_loop(runtime, lambda: runtime.close_session(sid))


def _pages() -> list[str]:
    return [""] + [p.url_path for p in navigation.PAGES]


_titles = {"": navigation.HOME.title, **{p.url_path: p.title for p in navigation.PAGES}}


def start() -> None:
    """Queue a visit of every page (once per server process); cheap to call on every run."""
    global _started_at
    with _lock:
        if _started_at is not None or not _serving():
            return
        _started_at = time.monotonic()
        pool = jobs.pool()
        for path in _pages():
            _jobs[path] = pool.submit(
                f"warm:{path or 'home'}", lambda job, path=path: visit(path, job), label=f"Preparing {path or 'home'}"
            )
    log.info("warming %d pages in the background", len(_jobs))


@dataclass(frozen=True)
class Status:
    total: int  # pages to warm (0 before start())
    ready: int  # warmed (or given up on: failed pages are logged and counted, so "ready" always arrives)
    seconds: float  # since start(), or the time the last page took when all are ready
    failed: tuple[str, ...]  # pages whose default run failed or timed out
    working: tuple[str, ...] = ()  # titles of the pages being prepared now

    @property
    def done(self) -> bool:
        return self.total > 0 and self.ready == self.total


def status() -> Status:
    with _lock:
        if _started_at is None:
            return Status(0, 0, 0.0, ())
        finished = [j for j in _jobs.values() if j.done()]
        failed = tuple(k for k, j in _jobs.items() if j.state in ("failed", "cancelled"))
        for k in failed:
            if k not in _logged:
                _logged.add(k)
                log.warning("warming %s failed: %s", k or "home", _jobs[k]._error)
        end = max((j.finished or 0.0) for j in finished) if len(finished) == len(_jobs) else time.monotonic()
        working = tuple(_titles.get(k, k) for k, j in _jobs.items() if j.state == "running")
        return Status(len(_jobs), len(finished), end - _started_at, failed, working)


_logged: set[str] = set()
