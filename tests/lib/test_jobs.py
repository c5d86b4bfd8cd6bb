"""normviz.core.jobs: single flight, the heavy limit with places in the queue, light work beside heavy work."""

import threading

import pytest

from normviz.core import jobs


@pytest.fixture
def pool():
    p = jobs.Pool(workers=2, heavy_limit=1)
    yield p
    p.close()


def _blocker():
    """A job function that runs until the returned event is set, counting its calls."""
    gate, calls = threading.Event(), []

    def fn(job):
        calls.append(job.key)
        assert gate.wait(10)
        return len(calls)

    return fn, gate, calls


def test_same_key_is_computed_once(pool):
    fn, gate, calls = _blocker()
    first = pool.submit("view", fn)
    again = [pool.submit("view", fn) for _ in range(5)]
    gate.set()
    assert all(j is first for j in again)
    assert first.result(timeout=10) == 1
    assert pool.submit("view", fn).result(timeout=10) == 1  # finished: kept, not recomputed
    assert calls == ["view"]


def test_heavy_jobs_wait_their_turn_and_say_their_place(pool):
    fn, gate, _ = _blocker()
    running = pool.submit("train-a", fn, heavy=True)
    second = pool.submit("train-b", fn, heavy=True)
    third = pool.submit("train-c", fn, heavy=True)
    for _ in range(100):
        if running.state == "running":
            break
        threading.Event().wait(0.02)
    assert running.state == "running" and running.place is None
    assert (second.state, second.place) == ("queued", 1)
    assert (third.state, third.place) == ("queued", 2)
    # a light job still runs (its lane has its own threads) while the heavy ones wait
    assert pool.submit("cheap", lambda job: "fast").result(timeout=10) == "fast"
    assert second.state == "queued"
    assert pool.counts() == {"queued": 2, "running": 1, "heavy_running": 1}
    gate.set()
    assert [j.result(timeout=10) for j in (running, second, third)] == [1, 2, 3]


def test_a_failure_is_reraised_and_can_be_retried(pool):
    def boom(job):
        raise ValueError("bad settings")

    job = pool.submit("x", boom)
    with pytest.raises(ValueError, match="bad settings"):
        job.result(timeout=10)
    assert job.state == "failed"
    assert pool.submit("x", lambda job: 3).result(timeout=10) == 3


def test_cancel_drops_a_queued_job_and_stops_a_running_one(pool):
    def until_stopped(job):
        while not job.stop_requested():
            job.report(0.5, "working")
            threading.Event().wait(0.01)
        return "stopped"

    started = threading.Event()

    def until_stopped_a(job):
        started.set()
        return until_stopped(job)

    running = pool.submit("a", until_stopped_a, heavy=True)
    queued = pool.submit("b", until_stopped, heavy=True)
    assert started.wait(10), "the first heavy job never started"
    assert running.state == "running"
    queued.cancel()
    with pytest.raises(jobs.Cancelled):
        queued.result(timeout=10)
    running.cancel()
    assert running.result(timeout=10) == "stopped"
    assert (running.progress, running.message) == (0.5, "working")


def test_a_light_job_may_wait_for_heavy_work_without_a_deadlock():
    p = jobs.Pool(workers=1, heavy_limit=1)
    try:
        outer = p.submit("visit", lambda job: p.submit("heavy-view", lambda j: 7, heavy=True).result(timeout=10) + 1)
        assert outer.result(timeout=10) == 8
    finally:
        p.close()


def test_progress_is_clamped(pool):
    job = pool.submit("p", lambda job: job.report(7, "over") or job.progress)
    assert job.result(timeout=10) == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"workers": 0}, "workers"), ({"workers": 2, "heavy_limit": 0}, "heavy_limit"), ({"workers": 1.5}, "workers")],
)
def test_bad_pool_sizes_say_how_to_fix_them(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jobs.Pool(**kwargs)


def test_bad_key_and_closed_pool(pool):
    with pytest.raises(ValueError, match="non-empty string key"):
        pool.submit("", lambda job: 1)
    pool.close()
    with pytest.raises(ValueError, match="closed"):
        pool.submit("late", lambda job: 1)


def test_environment_sizes_the_process_pool(monkeypatch):
    monkeypatch.setattr(jobs, "_POOL", None)
    monkeypatch.setenv("NORMVIZ_WORKERS", "4")
    monkeypatch.setenv("NORMVIZ_HEAVY", "1")
    p = jobs.pool()
    assert (p.workers, p.heavy_limit) == (4, 1)
    assert jobs.pool() is p
    monkeypatch.setattr(jobs, "_POOL", None)
    monkeypatch.setenv("NORMVIZ_WORKERS", "many")
    with pytest.raises(ValueError, match="NORMVIZ_WORKERS must be a whole number"):
        jobs.pool()
