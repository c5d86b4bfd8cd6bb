"""training.Shared: a session's runs trained by two workers together, as the Training page's two jobs train them."""

from __future__ import annotations

import threading

import pytest

from normviz import training
from normviz.core import threads

TINY = {"depth": 1, "width": 16, "heads": 2, "batch_size": 4}


def _trainers(n: int, steps: int) -> list[training.Trainer]:
    return [training.Trainer("chars", **TINY, steps=steps, seed=s) for s in range(n)]


def _watch(trainers: list[training.Trainer]) -> dict:
    """Wrap each trainer's step to record who steps what at once, and the steps every trainer had at each call."""
    seen = {"now": 0, "most": 0, "same": 0, "order": []}
    lock, busy = threading.Lock(), set()
    for t in trainers:
        inner = t.step

        def step(n: int = 1, t=t, inner=inner) -> None:
            with lock:
                seen["same"] += t.key in busy  # a second worker on a run already being stepped
                busy.add(t.key)
                seen["now"] += 1
                seen["most"] = max(seen["most"], seen["now"])
                seen["order"].append((t.key, [u.steps_done for u in trainers]))
            try:
                inner(n)
            finally:
                with lock:
                    busy.discard(t.key)
                    seen["now"] -= 1

        t.step = step
    return seen


def _work(shared: training.Shared, workers: int, stop=lambda: False) -> None:
    def lane() -> None:
        with threads.one_thread():
            shared.work(stop)

    pool = [threading.Thread(target=lane) for _ in range(workers)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(120)


def test_two_workers_train_every_run_as_one_run_alone_and_never_step_one_run_twice_at_once():
    trainers = _trainers(3, 17)
    shared = training.Shared(trainers, {t.key: 17 for t in trainers}, chunk=5)
    seen = _watch(trainers)
    _work(shared, 2)
    assert shared.done and shared.progress() == (1.0, 17)
    assert seen["same"] == 0 and seen["most"] <= 2
    with threads.one_thread():
        for t in trainers:  # bitwise the run trained alone on one thread
            assert t.history.train_loss == training.run("chars", **t.settings).train_loss
    for key, before in seen["order"]:  # each chunk went to a least-trained run free at the time
        i = [t.key for t in trainers].index(key)
        assert before[i] <= min(before) + 2 * 5


def test_a_stop_request_ends_the_work_within_a_chunk_and_the_rest_resumes():
    trainers = _trainers(2, 40)
    shared = training.Shared(trainers, {t.key: 40 for t in trainers}, chunk=5)
    _watch(trainers)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 3  # three chunks, then stop

    with threads.one_thread():
        shared.work(stop)
    assert sum(t.steps_done for t in trainers) == 15 and not shared.done
    fraction, slowest = shared.progress()
    assert fraction == pytest.approx(15 / 80) and slowest == 5
    _work(training.Shared(trainers, {t.key: 40 for t in trainers}), 2)  # play again: on to the end
    assert [t.steps_done for t in trainers] == [40, 40]


def test_a_diverged_run_counts_as_done_and_bad_arguments_say_how_to_fix_them():
    bad = training.Trainer("chars", **TINY, steps=30, placement="post", norm="identity", lr=10.0, optimizer="sgd")
    shared = training.Shared([bad], {bad.key: 30})
    finished = []
    with threads.one_thread():
        shared.work(on_finished=finished.append)
    assert bad.history.diverged_at is not None and shared.done and shared.progress()[0] == 1.0
    assert finished == [bad]
    with pytest.raises(ValueError, match="chunk must be"):
        training.Shared([bad], {bad.key: 30}, chunk=0)
    with pytest.raises(ValueError, match="one per trainer"):
        training.Shared([bad], {})
