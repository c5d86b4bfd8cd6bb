"""ui/lessons.py in AppTest: every shipped step opens its exact view, a lesson made in the app opens again,
and a hostile lesson file or link gets a message, never a traceback."""

from __future__ import annotations

import json

import pytest

from normviz.io import lessons
from tests.helpers.apptest import open_page
from ui import lessons as ui_lessons
from ui import links, navigation

TOUR = "normalization-tour"
SHIPPED = lessons.load_dir(ui_lessons.FOLDER, ui_lessons.PAGES)
STEPS = [(name, i, step) for name, lesson in SHIPPED.items() for i, step in enumerate(lesson.steps)]


def test_the_tour_ships_and_follows_the_sidebar_order():
    tour = SHIPPED[TOUR]
    order = [p.url_path for p in navigation.PAGES]
    pages = [s.page for s in tour.steps]
    assert pages == sorted(pages, key=order.index), "the steps go through the pages in the sidebar's order"
    assert {"hypersphere", "cube", "batch", "instance", "coupling", "gradient-flow", "training", "attention"} <= set(
        pages
    )
    assert pages[-1] == "real-data"
    assert all(s.takeaway and s.try_ for s in tour.steps)


@pytest.mark.parametrize(("name", "i", "step"), STEPS, ids=[f"{n}-{i + 1}-{s.page}" for n, i, s in STEPS])
def test_every_shipped_step_opens_with_its_controls_set(name, i, step):
    at = open_page(step.page, step.params)
    assert not at.warning, [w.value for w in at.warning]  # no bad-link notice: every parameter was taken
    for key, value in step.params.items():
        assert key in at.session_state, f"{key}: no control of {step.page} has this key"
        values = value if isinstance(value, list) else [value]
        assert links._spells(values, at.session_state[key]), (key, value, at.session_state[key])


def _step_text(at) -> list[str]:
    return [i.value for i in at.info if i.value.startswith("**Step ")]


def test_a_lesson_link_opens_its_step_and_shows_the_takeaway():
    tour = SHIPPED[TOUR]
    at = open_page(None, {"lesson": TOUR, "step": "2", "present": "1"})  # from the home page
    assert at.session_state["hs_norm"] == "rmsnorm"  # switched to the step's page, with its controls
    assert at.query_params["present"] == "1" and at.query_params["step"] == "2"
    (banner,) = _step_text(at)
    head = f"**Step 2 of {len(tour.steps)}**"
    assert banner.startswith(head) and tour.steps[1].takeaway in banner and tour.steps[1].try_ in banner
    assert "**Hypersphere**" in banner  # it names the page: the page's own title is hidden under it
    assert any(m.value == head for m in at.markdown)
    at.switch_page("pages/cube.py").run()  # away through the sidebar: the lesson stays picked, at its step
    assert at.selectbox(key="ls_pick").value == TOUR and at.session_state["ls_step"] == 1
    assert not _step_text(at) and any("on the Hypersphere page" in c.value for c in at.caption)


def test_a_bad_lesson_link_says_so():
    at = open_page(None, {"lesson": "no-such-lesson", "step": "99"})
    assert any("does not exist" in w.value for w in at.warning)


def _open_editor(at):
    """Open "Make your own lesson" as a click does: the expander's state set and its callback run, one rerun."""
    at.session_state[ui_lessons.EDITOR] = True
    at.session_state[ui_lessons._EDITOR_OPEN] = True  # what its on_change callback records
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_editor_is_drawn_only_while_its_expander_is_open():
    at = open_page("cube")
    (box,) = [e for e in at.expander if e.label == "Make your own lesson"]
    assert not box.children and not [t for t in at.text_area if t.key == "ls_takeaway"]
    assert not [u for u in at.get("file_uploader") if u.key == "ls_upload"]
    _open_editor(at)
    assert at.text_area(key="ls_takeaway") and at.file_uploader(key="ls_upload")
    at.switch_page("pages/instance.py").run()  # it stays open across a page switch
    assert at.text_area(key="ls_takeaway")


def _add(at, takeaway: str, try_: str = ""):
    at.text_area(key="ls_takeaway").input(takeaway)
    at.text_input(key="ls_try").input(try_)
    at.button(key="ls_add").click().run()
    assert not at.exception, at.exception


def test_a_lesson_made_in_the_app_downloads_and_opens_again():
    at = _open_editor(open_page("cube", {"cb_B": "2", "cb_norms": ["LayerNorm", "BatchNorm"]}))
    _add(at, 'Who shares "one" mean', "Move the cell.")
    at.switch_page("pages/instance.py").run()
    _add(at, "Instance at its defaults")
    made = at.session_state["ls_custom"]
    assert [(s.page, s.params) for s in made.steps] == [
        ("cube", {"cb_B": "2", "cb_norms": ["LayerNorm", "BatchNorm"]}),
        ("instance", {}),
    ]
    at.button(key="ls_dn_0").click().run()  # reorder: the cube step goes second
    assert [s.page for s in at.session_state["ls_custom"].steps] == ["instance", "cube"]
    at.button(key="ls_rm_0").click().run()
    assert [s.page for s in at.session_state["ls_custom"].steps] == ["cube"]

    text = lessons.dumps(at.session_state["ls_custom"])  # what the download button offers
    again = _open_editor(open_page(None))
    again.file_uploader(key="ls_upload").set_value(("lesson.json", text.encode(), "application/json")).run()
    assert not again.exception and not again.error, [e.value for e in again.error]
    assert again.session_state["ls_lesson"] == ui_lessons.CUSTOM
    assert again.session_state["cb_B"] == 2  # opened at its first step
    assert again.session_state["cb_norms"] == ["layernorm", "batchnorm"]
    (banner,) = _step_text(again)
    assert 'Who shares "one" mean' in banner


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not UTF-8"),
        (json.dumps({"title": "T", "steps": [{"page": "cube", "params": {"hs_norm": "x"}}]}).encode(), "Step 1:"),
        (json.dumps({"title": "T", "steps": [{"page": "cube"}, {"page": "../app"}]}).encode(), "Step 2: there is"),
        (b"[" * 50_000 + b"]" * 50_000, "at most 64 KB"),
    ],
)
def test_a_hostile_lesson_file_gets_a_message_naming_the_problem(data, match):
    at = _open_editor(open_page(None))
    at.file_uploader(key="ls_upload").set_value(("evil.json", data, "application/json")).run()
    assert not at.exception
    assert any(match in e.value for e in at.error), [e.value for e in at.error]
    assert "ls_custom" not in at.session_state


def test_an_unknown_control_of_the_right_page_is_reported_by_the_link_check():
    """The file names a cb_… control the cube page does not have: the step opens, and the page's bad-link
    notice names it (the parser checks the prefix; links.checked knows the page's real controls)."""
    data = json.dumps({"title": "T", "steps": [{"page": "cube", "params": {"cb_B": "2", "cb_nope": "1"}}]})
    at = _open_editor(open_page(None))
    at.file_uploader(key="ls_upload").set_value(("mine.json", data.encode(), "application/json")).run()
    assert not at.exception and at.session_state["cb_B"] == 2
    assert any("`cb_nope`" in w.value for w in at.warning), [w.value for w in at.warning]


def test_streamlit_still_has_the_private_query_param_bindings_lessons_release():
    """ui/lessons.py's _release uses Streamlit 1.67's private QueryParams bindings: fail loudly if they go."""
    from streamlit.runtime.state.query_params import QueryParams

    assert callable(getattr(QueryParams, "get_binding_for_param", None)), "ui/lessons.py _release needs a new way"
    assert callable(getattr(QueryParams, "unbind_widget", None)), "ui/lessons.py _release needs a new way"
