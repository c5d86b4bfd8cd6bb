"""The Training page's runs: each session's trainers, and every finished run kept by its settings.

The trainers are stepped off the script thread by the one pool (``normviz.core.jobs``); finished runs are kept
process-wide by their settings, so a link replays them at once.

A session's runs train in up to ``LANES`` heavy jobs (two, as many as the pool runs at once on a 2-core server)
sharing one :class:`training.Shared`: each job, on one torch thread, trains the least-trained run nobody else
holds, ``CHUNK`` steps at a time, so all its curves grow together and a preset's first click uses both cores;
pause (cancel) answers within a chunk. The pool runs at most its heavy limit of jobs at once, whichever
sessions they belong to: at most two runs train at once, and other sessions wait in the queue with their
place shown. A Trainer lives in its session's state, so play after pause resumes where it stopped.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import streamlit as st

from normviz import training
from normviz.core import jobs, threads

CHUNK = training.CHUNK  # steps per trainer between two looks at the pause request
LANES = 2  # jobs one session's runs train in (never more than the pool's heavy limit)
STEP = 10  # steps the Step button trains
_KEPT = 128  # finished runs remembered by the process (a 200-step run of 8 layers holds ~50 kB of curves)


class _Finished:
    """Finished runs by run key, least recently used forgotten first; shared by every session (no user data:
    a run is a deterministic function of its settings)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: OrderedDict[str, training.Run] = OrderedDict()

    def get(self, key: str) -> training.Run | None:
        with self.lock:
            run = self.runs.get(key)
            if run is not None:
                self.runs.move_to_end(key)
            return run

    def put(self, key: str, run: training.Run) -> None:
        with self.lock:
            self.runs[key] = run
            self.runs.move_to_end(key)
            while len(self.runs) > _KEPT:
                self.runs.popitem(last=False)


@st.cache_resource(show_spinner=False)
def finished() -> _Finished:
    return _Finished()


@dataclass
class _Session:
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    trainers: dict[str, training.Trainer] = field(default_factory=dict)
    jobs: list[jobs.Job] = field(default_factory=list)
    shared: training.Shared | None = None
    shown: bool = True  # False after Reset: nothing drawn until Play
    jobs_started: int = 0


def _session() -> _Session:
    if "_tr_session" not in st.session_state:
        st.session_state["_tr_session"] = _Session()
    return st.session_state["_tr_session"]


@dataclass(frozen=True)
class Slot:
    """One run the page draws: configuration ``index`` (0-based), its ``seed``, the settings and the run key."""

    index: int
    seed: int
    settings: dict
    key: str


def slots(task: str, configs: list[dict], seeds: int) -> list[Slot]:
    """Every (configuration, seed) run: seeds ``seed``, ``seed + 1``, … of each configuration."""
    out = []
    for i, c in enumerate(configs):
        for k in range(seeds):
            s = training.check(task, **{**c, "seed": c["seed"] + k})
            out.append(Slot(i, s["seed"], s, training.key(task, s)))
    return out


def histories(task: str, runs: list[Slot]) -> dict[str, training.Run | None]:
    """What is known of each run: the finished one (any session's), else this session's trainer so far."""
    sess, done = _session(), finished()
    if not sess.shown:
        return dict.fromkeys((r.key for r in runs), None)
    out = {}
    for r in runs:
        run = done.get(r.key)
        if run is None and r.key in sess.trainers:
            run = sess.trainers[r.key].history
        out[r.key] = run
    return out


def play(task: str, runs: list[Slot], *, more: int | None = None) -> None:
    """Train every unfinished run of ``runs`` (to its ``steps``, or ``more`` steps further) in up to ``LANES``
    heavy jobs sharing the work."""
    sess, done = _session(), finished()
    pause()
    for job in sess.jobs:
        job.wait(30)  # old jobs return within one chunk: two jobs never step one trainer
    trainers = []
    for r in runs:
        if done.get(r.key) is not None:
            continue
        if r.key not in sess.trainers:
            sess.trainers[r.key] = training.Trainer(task, **r.settings)
        trainers.append(sess.trainers[r.key])
    sess.shown = True
    sess.jobs, sess.shared = [], None
    if not trainers:
        return
    targets = {t.key: t.settings["steps"] if more is None else t.steps_done + more for t in trainers}
    sess.shared = shared = training.Shared(trainers, targets, chunk=CHUNK)
    pool = jobs.pool()
    sess.jobs_started += 1
    for lane in range(min(LANES, pool.heavy_limit, len(trainers))):
        key = f"train:{sess.id}:{sess.jobs_started}:{lane}"
        work = lambda job: _train(job, shared, done)  # noqa: E731
        sess.jobs.append(pool.submit(key, work, label="training", heavy=True))


def pause(wait: float = 3.0) -> None:
    """Stop this session's jobs (a queued one is dropped; a running one stops after its current chunk of steps,
    waited for up to ``wait`` seconds); its trainers keep their state."""
    live = [job for job in _session().jobs if not job.done()]
    for job in live:
        job.cancel()
    for job in live:
        job.wait(wait)


def reset() -> None:
    """Stop, forget this session's trainers, and draw nothing until Play."""
    pause()
    sess = _session()
    sess.trainers.clear()
    sess.shown = False


@dataclass(frozen=True)
class Status:
    """What this session's training is doing: ``state`` "running" (some job trains) or "queued" (all wait, the
    first at ``place`` in the queue); ``progress`` and ``message`` as the jobs last reported."""

    state: str
    place: int | None
    progress: float
    message: str


def current_job() -> Status | None:
    """This session's training while it is queued or running (None when nothing trains, or once asked to stop)."""
    sess = _session()
    live = [j for j in sess.jobs if not j.done() and not j.stop_requested()]
    if live and sess.shared is not None and sess.shared.done:
        for j in live:  # a lane still queued after the other lane trained everything: nothing left for it
            j.cancel()
        return None
    if not live:
        return None
    running = [j for j in live if j.state == "running"]
    if running:
        lead = max(running, key=lambda j: j.progress)
        return Status("running", None, lead.progress, lead.message)
    places = [j.place for j in live if j.place is not None]
    return Status("queued", min(places, default=None), 0.0, "")


def _train(job: jobs.Job, shared: training.Shared, done: _Finished) -> None:
    """One lane: train the shared runs, a chunk at a time, until none is left or the job is asked to stop."""

    def report() -> None:
        fraction, slowest = shared.progress()
        job.report(fraction, f"step {slowest} of {max(shared.targets.values())}")

    with threads.one_thread():
        shared.work(job.stop_requested, lambda t: done.put(t.key, t.history), report)
