"""AppTest for the Training page: Play trains through the job pool and the curves are the library's; Pause
keeps each run where it is and Play resumes bitwise; Step trains ten steps; Reset forgets; a link replays a
finished run at once; a full pool shows the queue place; a bad link says so."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from normviz import training
from normviz.core import jobs, threads
from tests.helpers.apptest import csv_columns, figure, open_page


@pytest.fixture(autouse=True, scope="module")
def _no_job_left_running():
    yield
    for job in jobs.pool().snapshot():  # nothing of these tests trains on after them
        job.cancel()
        job.wait(60)


TINY = {"depth": 1, "width": 16, "heads": 2, "batch_size": 4}


def _link(steps: int, *norms: str, lr: float = 3e-3) -> tuple[dict, list[dict]]:
    configs = [training.check("chars", **TINY, norm=n, steps=steps, lr=lr) for n in norms]
    return {"tr_cfg": training.encode(configs)}, configs


def _ref(config: dict) -> list[float]:
    """The library's own run, on one thread as the page's job trains (the curve is bitwise per thread count)."""
    with threads.one_thread():
        return training.run("chars", **config).train_loss


def _train_curves(at) -> dict[str, np.ndarray]:
    fig = figure(at, "tr_curves")
    return {t["name"]: np.asarray(t["y"], dtype=np.float64) for t in fig["data"] if t["name"].endswith("(train)")}


def _wait(at, done, timeout: float = 300.0):
    """Rerun the page (as the live view does every second) until ``done(at)``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        time.sleep(0.3)
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
    raise AssertionError("the page did not get there in time")


def _idle(at) -> bool:
    return at.button(key="tr_play").label == "Play"


def test_play_trains_every_configuration_and_draws_the_library_s_curves(csv_files):
    link, configs = _link(9, "layernorm", "batchnorm", lr=4e-3)
    at = open_page("training", link)
    assert _train_curves(at) == {}  # nothing trained yet (these settings are new)
    at.button(key="tr_play").click().run()
    _wait(at, lambda a: _idle(a) and all(len(v) == 9 for v in _train_curves(a).values()))
    curves = _train_curves(at)
    assert len(curves) == 2
    for (name, y), c in zip(sorted(curves.items()), configs, strict=True):
        assert name.startswith(("A:", "B:"))
        np.testing.assert_array_equal(y, np.float32(_ref(c)))  # the figure holds float32
    assert at.query_params["tr_cfg"] == link["tr_cfg"]  # the configurations stay in the link
    table = csv_columns(csv_files, "normviz-training.csv")
    assert len(table["step"]) == 18 and set(table["step"]) == set(range(1, 10))
    np.testing.assert_array_equal(table["train_loss"][table["config"] == sorted(curves)[0].removesuffix(" (train)")],
                                  _ref(configs[0]))  # fmt: skip


def test_pause_keeps_each_run_and_play_resumes_it_bitwise():
    # 600 steps: the tiny model trains 150 in 0.6-1.2 s here, about as long as the first poll after Play may take,
    # so with 150 the run could end before Pause is pressed
    link, configs = _link(600, "rmsnorm")
    at = open_page("training", link)
    at.button(key="tr_play").click().run()
    _wait(at, lambda a: any(len(v) >= 10 for v in _train_curves(a).values()))
    at.button(key="tr_play").click().run()  # Pause
    assert _idle(at)
    (paused,) = _train_curves(at).values()
    assert 10 <= len(paused) < 600
    time.sleep(1.0)
    at.run()
    (still,) = _train_curves(at).values()
    assert len(still) == len(paused)  # nothing trains while paused
    at.button(key="tr_play").click().run()  # Play resumes where it stopped
    _wait(at, lambda a: _idle(a) and len(next(iter(_train_curves(a).values()))) == 600)
    (full,) = _train_curves(at).values()
    np.testing.assert_array_equal(full[: len(paused)], paused)
    np.testing.assert_array_equal(full, np.float32(_ref(configs[0])))


def test_step_trains_ten_steps_and_reset_forgets():
    link, _ = _link(50, "dyt", "instancenorm")
    at = open_page("training", link)
    at.button(key="tr_step").click().run()
    _wait(at, lambda a: _idle(a) and _train_curves(a) and all(len(v) == 10 for v in _train_curves(a).values()))
    at.button(key="tr_step").click().run()
    _wait(at, lambda a: _idle(a) and all(len(v) == 20 for v in _train_curves(a).values()))
    at.button(key="tr_reset").click().run()
    assert _train_curves(at) == {}
    assert any("Press **Play**" in c.value for c in at.caption)


def test_a_link_replays_a_finished_run_at_once():
    link, configs = _link(7, "groupnorm")
    first = open_page("training", link)
    first.button(key="tr_play").click().run()
    _wait(first, lambda a: _idle(a) and len(next(iter(_train_curves(a).values()), [])) == 7)
    other = open_page("training", link)  # another session opens the shared link: drawn with no Play
    (y,) = _train_curves(other).values()
    np.testing.assert_array_equal(y, np.float32(_ref(configs[0])))
    assert {"tr_grads", "tr_updates", "tr_resid"} <= {k for k in ("tr_grads", "tr_updates", "tr_resid")
                                                      if figure(other, k)}  # fmt: skip


def test_a_full_pool_shows_the_place_in_the_queue():
    pool, release = jobs.pool(), threading.Event()
    blockers = [
        pool.submit(f"test-block-{i}", lambda job: release.wait(60), heavy=True) for i in range(pool.heavy_limit)
    ]
    try:
        link, _ = _link(5, "layernorm")
        at = open_page("training", {**link, "tr_seeds": "2"})
        at.button(key="tr_play").click().run()
        assert any("place 1 in the queue" in i.value for i in at.info), [i.value for i in at.info]
    finally:
        release.set()
    for b in blockers:
        b.wait(10)
    _wait(at, lambda a: _idle(a) and len(_train_curves(a)) == 1)


def test_the_causal_leak_chart_is_the_library_s():
    at = open_page("training")
    bars = figure(at, "tr_leak")["data"]
    ref = training.leak_table(placement=training.PRESETS["warmup"].configs[0]["placement"])
    np.testing.assert_allclose(bars[0]["customdata"], [k.within for k in ref], rtol=1e-6)
    np.testing.assert_allclose(bars[1]["customdata"], [k.across for k in ref], rtol=1e-6)
    assert [v == 0 for v in bars[0]["customdata"]] == [not k.leaks for k in ref]


@pytest.mark.parametrize("bad", ["nonsense", "layernorm:pre:1:1:16:2:4:0.003:0:12:adamw", "x" * 5000])
def test_a_bad_link_says_so_and_falls_back_to_the_preset(bad):
    at = open_page("training", {"tr_cfg": bad})
    (notice,) = at.warning
    assert "`tr_cfg`" in notice.value
    assert "tr_cfg" not in at.query_params


def test_picking_a_preset_starts_training_it_and_reset_stops_it():
    at = open_page("training")
    at.selectbox(key="tr_preset").set_value("rmsnorm").run()
    assert not at.exception, at.exception
    assert at.button(key="tr_play").label == "Pause"  # its first click trains
    assert "tr_cfg" not in at.query_params  # the preset's own configurations: the preset names them
    at.button(key="tr_reset").click().run()
    assert _idle(at) and _train_curves(at) == {}


def test_a_session_s_unfinished_run_stays_its_own():
    link, _ = _link(300, "layernorm", lr=2e-3)
    a = open_page("training", link)
    a.button(key="tr_play").click().run()
    _wait(a, lambda s: any(len(v) >= 5 for v in _train_curves(s).values()))
    b = open_page("training", link)  # a second session, same settings, while the first one trains
    assert _train_curves(b) == {} and b.button(key="tr_play").label == "Play"
    a.button(key="tr_play").click().run()  # Pause
    assert _idle(a)


def test_a_class_pressing_play_trains_two_runs_at_once_and_the_others_see_their_place(monkeypatch):
    """Four sessions press Play on two configurations each (8 runs, 8 jobs): while the first session's two runs
    train (held at a gate), the others wait with their place in the queue shown; then every run trains to the end
    and at no time did more than two runs train at once."""
    gate, lock, count = threading.Event(), threading.Lock(), {"now": 0, "most": 0}
    inner = training.Trainer.step

    def step(self, n: int = 1) -> None:
        with lock:
            count["now"] += 1
            count["most"] = max(count["most"], count["now"])
        try:
            gate.wait(120)
            inner(self, n)
        finally:
            with lock:
                count["now"] -= 1

    monkeypatch.setattr(training.Trainer, "step", step)
    sessions = []
    try:
        for i in range(4):
            configs = [training.check("chars", **TINY, norm=n, steps=6, seed=500 + i) for n in ("layernorm", "dyt")]
            at = open_page("training", {"tr_cfg": training.encode(configs)})
            at.button(key="tr_play").click().run()
            sessions.append(at)
            end = time.monotonic() + 60
            while count["now"] < 2 and time.monotonic() < end:  # the first session's two runs hold the pool
                time.sleep(0.05)
        assert count["now"] == 2
        for at in sessions:
            at.run()
        places = [[i.value for i in at.info if "in the queue" in i.value] for at in sessions]
        assert places[0] == [] and sessions[0].button(key="tr_play").label == "Pause"  # training: no place shown
        for got, want in zip(places[1:], (1, 3, 5), strict=True):  # each earlier session holds two places
            assert any(f"place {want} in the queue" in p for p in got), places
    finally:
        gate.set()
    for at in sessions:
        _wait(
            at,
            lambda a: _idle(a) and len(_train_curves(a)) == 2 and all(len(v) == 6 for v in _train_curves(a).values()),
        )
    assert count["most"] == 2
