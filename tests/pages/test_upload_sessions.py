"""An uploaded file belongs to the session that uploaded it: two sessions (two fake session states, then two
AppTest sessions sharing one process and so one st.cache_data) never see, evict or read each other's file."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from normviz.io import uploads
from normviz.io.real_input import ModelInput, UploadInput
from ui import real_inputs


def _npy(seed: int, shape=(5, 4)) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.random.default_rng(seed).standard_normal(shape).astype(np.float32))
    return buf.getvalue()


def _array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)  # the independent reference: numpy's own reader


def test_specs_are_frozen_hashable_and_kinds_never_equal():
    a, b = UploadInput("abc", False), UploadInput("abc", False)
    assert a == b and hash(a) == hash(b) and a != UploadInput("abc", True)
    assert ModelInput("m", "t", 2, 64).kind == "model" and a.kind == "upload"
    with pytest.raises(AttributeError):
        a.digest = "other"  # frozen: a cached view's key cannot change under it


def test_each_session_holds_only_its_own_file():
    alice, bob = {}, {}
    data_a, data_b = _npy(0), _npy(1)
    spec_a, _ = real_inputs.hold(alice, "hs_", "file-a", "a.npy", data_a, False)
    spec_b, _ = real_inputs.hold(bob, "hs_", "file-b", "b.npy", data_b, False)
    assert spec_a.digest == hashlib.sha256(data_a).hexdigest()[:16] and spec_a != spec_b
    np.testing.assert_array_equal(real_inputs.held(spec_a, alice).real().numpy(), _array(data_a))
    np.testing.assert_array_equal(real_inputs.held(spec_b, bob).real().numpy(), _array(data_b))
    with pytest.raises(ValueError, match="upload it again"):
        real_inputs.held(spec_a, bob)  # Bob knows Alice's digest, not her data
    with pytest.raises(ValueError, match="upload it again"):
        real_inputs.held(spec_b, alice)


def test_the_same_bytes_in_two_sessions_are_two_independent_copies():
    alice, bob = {}, {}
    data = _npy(2)
    spec_a, up_a = real_inputs.hold(alice, "gn_", "f1", "a.npy", data, False)
    spec_b, up_b = real_inputs.hold(bob, "gn_", "f2", "a.npy", data, False)
    assert spec_a == spec_b and up_a is not up_b  # the same key for cached views, and the same data under it
    real_inputs.release(alice, "gn_")
    with pytest.raises(ValueError, match="upload it again"):
        real_inputs.held(spec_a, alice)
    np.testing.assert_array_equal(real_inputs.held(spec_b, bob).real().numpy(), _array(data))


def test_no_number_of_other_sessions_evicts_a_file():
    alice = {}
    spec, _ = real_inputs.hold(alice, "rd_", "f", "a.npy", _npy(3), False)
    others = [{} for _ in range(20)]  # the old shared store kept the 8 most recent files of all sessions
    for i, state in enumerate(others):
        real_inputs.hold(state, "rd_", f"g{i}", "b.npy", _npy(100 + i), False)
    assert real_inputs.held(spec, alice) is alice[real_inputs.STORE]["rd_"].upload


def test_replacing_a_file_drops_the_old_one_even_when_the_new_one_is_refused():
    alice = {}
    old, _ = real_inputs.hold(alice, "hs_", "f1", "a.npy", _npy(4), False)
    new, _ = real_inputs.hold(alice, "hs_", "f2", "b.npy", _npy(5), False)
    assert list(alice[real_inputs.STORE]) == ["hs_"]  # one file per page prefix
    with pytest.raises(ValueError, match="upload it again"):
        real_inputs.held(old, alice)
    with pytest.raises(ValueError, match="not supported"):
        real_inputs.hold(alice, "hs_", "f3", "c.txt", b"1,2", False)
    with pytest.raises(ValueError, match="upload it again"):
        real_inputs.held(new, alice)  # the uploader shows the refused file, not the one before it


def test_one_file_per_session_an_upload_on_another_page_replaces_it():
    alice = {}
    hs, _ = real_inputs.hold(alice, "hs_", "f1", "a.npy", _npy(6), False)
    gn, up = real_inputs.hold(alice, "gn_", "f2", "b.npy", _npy(7), False)
    assert real_inputs.held(gn, alice) is up
    with pytest.raises(ValueError, match="a session holds one file at a time"):
        real_inputs.held(hs, alice)


def test_all_sessions_uploads_are_capped_and_released_when_sessions_end(monkeypatch):
    import gc

    base = real_inputs.held_mb()
    big = io.BytesIO()
    np.save(big, np.random.default_rng(0).standard_normal((4096, 64)).astype(np.float32))  # 1 MB as float32
    monkeypatch.setattr(real_inputs, "ALL_UPLOADS_MB", base + 2.5)  # room for two of these files
    sessions = [{}, {}]
    for i, state in enumerate(sessions):
        real_inputs.hold(state, "hs_", f"f{i}", "a.npy", big.getvalue(), False)
    assert real_inputs.held_mb() - base == pytest.approx(2.0, abs=0.01)
    late = {}
    with pytest.raises(ValueError, match="This server is full"):
        real_inputs.hold(late, "hs_", "g", "a.npy", big.getvalue(), False)
    assert late["_uploads"] == {} and all(len(s["_uploads"]) == 1 for s in sessions)  # nothing else touched
    del state
    sessions.clear()  # the sessions end: their files are released
    gc.collect()
    assert real_inputs.held_mb() == pytest.approx(base, abs=0.01)
    real_inputs.hold(late, "hs_", "g", "a.npy", big.getvalue(), False)  # and there is room again


def test_a_rerun_with_the_same_file_reads_nothing_again(monkeypatch):
    calls = []
    real_load = uploads.load
    monkeypatch.setattr(uploads, "load", lambda *a, **k: calls.append(a[0]) or real_load(*a, **k))
    alice, data = {}, _npy(8)
    first = real_inputs.hold(alice, "hs_", "f1", "a.npy", data, False)
    assert real_inputs.hold(alice, "hs_", "f1", "a.npy", data, False) == first and calls == ["a.npy"]
    dropped, _ = real_inputs.hold(alice, "hs_", "f1", "a.npy", data, True)  # the NaN option changes the reading
    assert dropped.drop_nonfinite and calls == ["a.npy", "a.npy"]


def _session(mode: str, data: bytes) -> None:
    """One browser session: "upload" holds ``data`` and shows the cached views of it; "forge" holds nothing
    and asks for the same digest; "same" uploads the same bytes itself."""
    import hashlib

    import streamlit as st

    from normviz.io.real_input import UploadInput
    from ui import real_inputs

    @real_inputs.cache_view(show_spinner=False)
    def total(spec):
        return float(real_inputs.real_tokens(spec).sum())

    @st.cache_data(show_spinner=False)
    def unchecked_total(spec):  # what a page would have with plain st.cache_data: served to any session
        return float(real_inputs.real_tokens(spec).sum())

    if mode in ("upload", "same"):
        spec, _ = real_inputs.hold(st.session_state, "t_", f"file-{mode}", "a.npy", data, False)
    else:
        spec = UploadInput(hashlib.sha256(data).hexdigest()[:16], False)
    st.text(f"unchecked {unchecked_total(spec)!r}" if mode != "same" else "")
    try:
        st.text(f"checked {total(spec)!r}")
    except ValueError as err:
        st.error(str(err))


def _run(mode: str, data: bytes) -> AppTest:
    at = AppTest.from_function(_session, kwargs={"mode": mode, "data": data}, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_cached_view_is_never_served_to_a_session_without_the_file():
    data = _npy(9, (3, 7))
    expected = float(_array(data).astype(np.float64).sum())
    alice = _run("upload", data)
    texts = [t.value for t in alice.text]
    assert texts[1].startswith("checked ") and float(texts[1].split()[1]) == pytest.approx(expected, rel=1e-5)
    mallory = _run("forge", data)
    # the cache is shared by sessions: the unchecked view hands Alice's result to a session without her file …
    assert mallory.text[0].value == texts[0]
    # … the checked one refuses before it looks in the cache
    assert [e.value for e in mallory.error] == [real_inputs.GONE]
    assert not [t for t in mallory.text if t.value.startswith("checked")]
    bob = _run("same", data)  # the same bytes, uploaded by Bob himself: the shared entry is his data too
    assert not bob.error and bob.text[1].value == texts[1]
