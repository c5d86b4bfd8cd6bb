"""The one bounded pool for work off Streamlit's script thread.

Every piece of work that should not hold up a page run goes through :func:`pool`: warming each page's default
view when the app first opens, training runs, model capture. A job has a *key*; asking again for a key that is
queued or running returns that same job (single flight), so sessions that want the same cold view wait for one
computation instead of starting their own. Jobs run in two lanes, each with its own threads and its own
first-come-first-served queue that tells each waiting job its place: *heavy* jobs (training, model capture,
Jacobians, sweeps) run at most ``heavy_limit`` at a time; *light* jobs (the warm-up's page visits) on
``workers`` threads of their own, so a queue of heavy work never holds up light work, and a light job may wait
for heavy jobs without a deadlock (heavy jobs must not wait for other heavy jobs).

A job's function takes the :class:`Job` itself: it may call ``job.report(fraction, message)`` to show
progress, and a long job should poll ``job.stop_requested()`` and return early when it is set.

>>> p = Pool(workers=2, heavy_limit=1)
>>> p.submit("two", lambda job: 1 + 1).result(timeout=5)
2
>>> p.close()
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["STATES", "Cancelled", "Job", "Pool", "pool"]

STATES = ("queued", "running", "done", "failed", "cancelled")
_FINISHED_KEPT = 256  # finished jobs remembered (their results with them); older ones are forgotten


class Cancelled(Exception):
    """Raised by :meth:`Job.result` for a job that was cancelled before it ran."""


class Job:
    """One unit of work and what is known about it so far. Read-only for everyone but the pool and the job."""

    def __init__(self, pool: Pool, key: str, fn: Callable[[Job], Any], label: str, heavy: bool) -> None:
        self.key, self.label, self.heavy = key, label, heavy
        self._pool, self._fn = pool, fn
        self.state = "queued"
        self.progress = 0.0
        self.message = ""
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.finished: float | None = None
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._stop = threading.Event()
        self.keep = True  # remembered by the pool once finished

    def __repr__(self) -> str:
        return f"Job({self.key!r}, {self.state}, place={self.place})"

    @property
    def place(self) -> int | None:
        """1-based place in its lane's queue (heavy or light); None once it has started."""
        return self._pool._place(self)

    def report(self, progress: float, message: str = "") -> None:
        """Called by the job: the fraction done (0 … 1) and what it is doing."""
        self.progress = min(1.0, max(0.0, float(progress)))
        self.message = message

    def stop_requested(self) -> bool:
        """True once someone called :meth:`cancel` (or the pool is closing): a running job should return."""
        return self._stop.is_set()

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished (done, failed or cancelled); False if ``timeout`` ran out first."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The job's return value; re-raises its exception; :class:`Cancelled` if it never ran."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.key!r} is still {self.state} after {timeout} s")
        if self._error is not None:
            raise self._error
        if self.state == "cancelled":
            raise Cancelled(f"job {self.key!r} was cancelled before it ran")
        return self._value

    def cancel(self) -> None:
        """A queued job is dropped; a running one is asked to stop (``stop_requested()`` becomes True)."""
        self._pool._cancel(self)


class Pool:
    """``workers`` threads for light jobs and ``heavy_limit`` threads for heavy ones (first come, first served)."""

    def __init__(self, workers: int = 2, heavy_limit: int = 2, *, name: str = "normviz-jobs") -> None:
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"workers must be a whole number ≥ 1, got {workers!r}")
        if not (isinstance(heavy_limit, int) and heavy_limit >= 1):
            raise ValueError(f"heavy_limit must be a whole number ≥ 1, got {heavy_limit!r}")
        self.workers, self.heavy_limit, self.name = workers, heavy_limit, name
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._active: dict[str, Job] = {}  # queued or running, by key
        self._finished: OrderedDict[str, Job] = OrderedDict()
        self._running_heavy = 0
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(
        self,
        key: str,
        fn: Callable[[Job], Any],
        *,
        label: str = "",
        heavy: bool = False,
        fresh: bool = False,
        keep: bool = True,
    ) -> Job:
        """Queue ``fn(job)`` under ``key``, or return the job already queued or running under it. A finished job
        under the key is returned as it is (its result is kept) unless it failed or was cancelled, or
        ``fresh=True`` asks for a new run. ``keep=False``: forget the job once it has finished (its result is
        kept elsewhere, e.g. in a cache; only those holding the job can read it)."""
        if not isinstance(key, str) or not key:
            raise ValueError("a job needs a non-empty string key (what it computes, e.g. 'warm:batch')")
        with self._cond:
            if self._closed:
                raise ValueError("this pool is closed: make a new Pool")
            if key in self._active:
                return self._active[key]
            old = self._finished.get(key)
            if old is not None and old.state == "done" and not fresh:
                self._finished.move_to_end(key)
                return old
            job = Job(self, key, fn, label or key, heavy)
            job.keep = keep
            self._active[key] = job
            self._queue.append(job)
            self._start_threads()
            self._cond.notify_all()
            return job

    def get(self, key: str) -> Job | None:
        """The queued, running or remembered finished job under ``key``, if any."""
        with self._cond:
            return self._active.get(key) or self._finished.get(key)

    def snapshot(self) -> list[Job]:
        """Queued and running jobs, running first, then in queue order."""
        with self._cond:
            running = [j for j in self._active.values() if j.state == "running"]
            return running + list(self._queue)

    def counts(self) -> dict[str, int]:
        """How many jobs are queued and running now, and how many heavy ones run."""
        with self._cond:
            return {
                "queued": len(self._queue),
                "running": len(self._active) - len(self._queue),
                "heavy_running": self._running_heavy,
            }

    def close(self, timeout: float = 5.0) -> None:
        """Drop queued jobs, ask running ones to stop, and join the threads."""
        with self._cond:
            self._closed = True
            for job in list(self._queue):
                self._drop(job)
            for job in self._active.values():
                job._stop.set()
            self._cond.notify_all()
            threads = list(self._threads)
        for t in threads:
            t.join(timeout)

    # internals; every one of these is called with self._cond held, except _run
    def _start_threads(self) -> None:
        if self._threads:
            return
        for heavy, n in ((False, self.workers), (True, self.heavy_limit)):
            for i in range(n):
                name = f"{self.name}-{'heavy' if heavy else 'light'}-{i}"
                t = threading.Thread(target=self._work, args=(heavy,), name=name, daemon=True)
                self._threads.append(t)
                t.start()

    def _next(self, heavy: bool) -> Job | None:
        return next((job for job in self._queue if job.heavy == heavy), None)

    def _place(self, job: Job) -> int | None:
        with self._cond:
            if job.state != "queued" or job not in self._queue:
                return None
            same = [j for j in self._queue if j.heavy == job.heavy]
            return same.index(job) + 1

    def _drop(self, job: Job) -> None:
        self._queue.remove(job)
        self._active.pop(job.key, None)
        job.state = "cancelled"
        job.finished = time.monotonic()
        job._done.set()

    def _cancel(self, job: Job) -> None:
        with self._cond:
            job._stop.set()
            if job.state == "queued" and job in self._queue:
                self._drop(job)
                self._cond.notify_all()

    def _work(self, heavy: bool) -> None:
        while True:
            with self._cond:
                job = self._next(heavy)
                while job is None:
                    if self._closed:
                        return
                    self._cond.wait()
                    job = self._next(heavy)
                self._queue.remove(job)
                job.state, job.started = "running", time.monotonic()
                self._running_heavy += job.heavy
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            value, error = job._fn(job), None
        except Exception as err:  # the job's own failure: kept on the job, re-raised by result()
            value, error = None, err
        with self._cond:
            self._running_heavy -= job.heavy
            job._value, job._error = value, error
            job.state = "failed" if error is not None else "done"
            job.finished = time.monotonic()
            self._active.pop(job.key, None)
            if job.keep:
                self._finished[job.key] = job
            while len(self._finished) > _FINISHED_KEPT:
                self._finished.popitem(last=False)
            job._done.set()
            self._cond.notify_all()


_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def pool() -> Pool:
    """The process's one pool: ``NORMVIZ_WORKERS`` light threads (default 2) and ``NORMVIZ_HEAVY`` heavy ones
    (default 2, one per core of a 2-core server)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = Pool(_env_int("NORMVIZ_WORKERS", 2), _env_int("NORMVIZ_HEAVY", 2))
        return _POOL
