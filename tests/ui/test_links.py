"""ui/links.py: the bad-link notice comes from app.py's wrapper, also when the page stops early."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page():
    import streamlit as st

    from ui import links

    with links.checked("zz_"):
        st.slider("a", 0, 10, 3, key="zz_a", bind=links.BIND)
        if st.session_state.zz_a == 9:
            st.stop()  # the page ends here: the check still runs
        st.selectbox("b", ["x", "y"], key="zz_b", bind=links.BIND)


def _open(params: dict) -> AppTest:
    at = AppTest.from_function(_page, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def test_good_link_sets_the_controls_and_says_nothing():
    at = _open({"zz_a": "7", "zz_b": "y"})
    assert at.slider(key="zz_a").value == 7 and at.selectbox(key="zz_b").value == "y"
    assert not at.warning


def test_bad_values_and_unknown_names_are_named_once():
    at = _open({"zz_a": "70", "zz_b": "q", "zz_c": "1", "other": "kept"})
    assert len(at.warning) == 1
    text = at.warning[0].value
    assert all(f"`{k}`" in text for k in ("zz_a", "zz_b", "zz_c")) and "other" not in text
    assert at.query_params.get("other") == "kept"  # not this page's parameter: left alone


def test_the_check_runs_when_the_page_stops_early():
    at = _open({"zz_a": "9", "zz_b": "q"})
    assert not at.exception
    assert len(at.warning) == 0 or "zz_a" not in at.warning[0].value  # zz_a=9 was accepted
    # zz_b was never created (the page stopped first): an unknown name is not reported as bad, never a traceback
    assert not any("zz_b" in w.value for w in at.warning)


def test_a_value_that_is_not_an_option_is_reported_even_when_the_page_stops():
    at = _open({"zz_a": "90"})
    assert [w.value.count("`zz_a`") for w in at.warning] == [1]
