"""The Training page's runs: each session's trainers, and every finished run kept by its settings.

The trainers are stepped off the script thread by the one pool (``normviz.core.jobs``); finished runs are kept
process-wide by their settings, so a link replays them at once.

A session's runs train in one heavy job that steps every configuration and seed in turn, ``CHUNK`` steps at a
time, on one torch thread: all its curves grow together, pause (cancel) answers within a chunk, and at most
the pool's heavy limit (2 on a 2-core server) of sessions train at once while the others wait in the queue.
A Trainer lives in its session's state, so play after pause resumes where it stopped.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

import streamlit as st

from normviz import training
from normviz.core import jobs, threads

CHUNK = 5  # steps per trainer between two looks at the pause request
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
    job: jobs.Job | None = None
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
    """Train every unfinished run of ``runs`` (to its ``steps``, or ``more`` steps further) in one heavy job."""
    sess, done = _session(), finished()
    pause()
    if sess.job is not None:
        sess.job.wait(30)  # the old job returns within one chunk: two jobs never step one trainer
    trainers = []
    for r in runs:
        if done.get(r.key) is not None:
            continue
        if r.key not in sess.trainers:
            sess.trainers[r.key] = training.Trainer(task, **r.settings)
        trainers.append(sess.trainers[r.key])
    sess.shown = True
    if not trainers:
        return
    targets = {t.key: t.settings["steps"] if more is None else t.steps_done + more for t in trainers}
    sess.jobs_started += 1
    key = f"train:{sess.id}:{sess.jobs_started}"
    sess.job = jobs.pool().submit(key, lambda job: _train(job, trainers, targets, done), label="training", heavy=True)


def pause(wait: float = 3.0) -> None:
    """Stop this session's job (a queued one is dropped; a running one stops after its current chunk of steps,
    waited for up to ``wait`` seconds); its trainers keep their state."""
    job = _session().job
    if job is not None and not job.done():
        job.cancel()
        job.wait(wait)


def reset() -> None:
    """Stop, forget this session's trainers, and draw nothing until Play."""
    pause()
    sess = _session()
    sess.trainers.clear()
    sess.shown = False


def current_job() -> jobs.Job | None:
    """This session's queued or running job (None when nothing trains, or once it was asked to stop)."""
    job = _session().job
    return job if job is not None and not job.done() and not job.stop_requested() else None


def _train(job: jobs.Job, trainers: list[training.Trainer], targets: dict[str, int], done: _Finished) -> None:
    total = sum(max(0, targets[t.key] - t.steps_done) for t in trainers) or 1
    left = total
    with threads.one_thread():
        while not job.stop_requested():
            todo = [t for t in trainers if not t.finished and t.steps_done < targets[t.key]]
            if not todo:
                break
            for t in todo:
                if job.stop_requested():
                    return
                before = t.steps_done
                t.step(min(CHUNK, targets[t.key] - before))
                left -= t.steps_done - before
                if t.finished:
                    done.put(t.key, t.history)
                    left -= max(0, targets[t.key] - t.steps_done)  # a diverged run's remaining steps
            slowest = min(t.steps_done for t in trainers)
            job.report(1 - left / total, f"step {slowest} of {max(targets.values())}")
