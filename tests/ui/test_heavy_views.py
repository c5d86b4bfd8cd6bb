"""ui.heavy: a cached view returns at once; a cold one queues behind the heavy limit and says its place."""

import threading

import pytest
import streamlit as st

import ui.heavy_views as heavy_mod
from normviz.core import jobs


class _Box:
    """Stands in for ``st.empty()``: records what the page would show."""

    def __init__(self, said):
        self.said = said

    def info(self, text, **_):
        self.said.append(text)

    def progress(self, value, text=""):
        self.said.append(f"{value:.0%} {text}")

    def empty(self):
        self.said.append("")


@pytest.fixture
def one_slot(monkeypatch):
    pool = jobs.Pool(workers=1, heavy_limit=1)
    monkeypatch.setattr(jobs, "_POOL", pool)
    said: dict[str, list] = {}
    monkeypatch.setattr(heavy_mod.st, "empty", lambda: _Box(said.setdefault(threading.current_thread().name, [])))
    yield said
    pool.close()


def test_a_second_heavy_view_waits_with_its_place_while_cached_and_light_work_answer(one_slot):
    gate, computed = threading.Event(), []

    @st.cache_data(show_spinner=False)
    def slow(n: int) -> int:
        computed.append(n)
        assert gate.wait(20)
        return n * 10

    @st.cache_data(show_spinner=False)
    def cheap(n: int) -> int:
        return n + 1

    assert cheap(1) == 2 and heavy_mod.is_cached(cheap, 1) and not heavy_mod.is_cached(slow, 1)
    out = {}
    first = threading.Thread(target=lambda: out.update(a=heavy_mod.heavy(slow, 1, label="A")), name="first")
    first.start()
    while not computed:  # the first view holds the only heavy slot
        threading.Event().wait(0.01)
    second = threading.Thread(target=lambda: out.update(b=heavy_mod.heavy(slow, 2, label="B")), name="second")
    second.start()
    for _ in range(200):
        if any("place 1 in the queue" in s for s in one_slot.get("second", [])):
            break
        threading.Event().wait(0.02)
    assert any("B: waiting for a free slot (place 1 in the queue" in s for s in one_slot["second"])
    # meanwhile a cached view answers on the caller's thread, and light work runs in its own lane
    assert heavy_mod.heavy(cheap, 1, label="cheap") == 2
    assert jobs.pool().submit("light", lambda job: "ok").result(timeout=5) == "ok"
    assert computed == [1]
    gate.set()
    first.join(20)
    second.join(20)
    assert out == {"a": 10, "b": 20} and computed == [1, 2]
    assert heavy_mod.is_cached(slow, 2)
    assert heavy_mod.heavy(slow, 2, label="B") == 20 and computed == [1, 2]  # now a hit: not recomputed
    slow.clear()
    cheap.clear()


def test_a_failing_heavy_view_raises_its_value_error(one_slot):
    @st.cache_data(show_spinner=False)
    def bad(n: int) -> int:
        raise ValueError("n must be even: pick 2")

    with pytest.raises(ValueError, match="pick 2"):
        heavy_mod.heavy(bad, 1, label="bad")
