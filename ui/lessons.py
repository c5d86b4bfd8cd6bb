"""Lessons in the sidebar: pick one, step through its views with Previous/Next, or make your own.

A step opens its view exactly: the page, and that page's controls restored from the step's query
parameters (the page's own widget state is dropped first, so a control the step leaves out is back at
its default). ``present`` is kept when it is in the URL; a shipped lesson's step is also in the URL
(``?lesson=<name>&step=<k>``), so the link opens that step. Lesson state lives in ``st.session_state``
under ``ls_…`` keys, per session (``ls_lesson``: the lesson's name; ``ls_step``: 0-based).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from normviz.io import lessons
from normviz.io.lessons import Lesson, Step
from ui import navigation

FOLDER = Path(__file__).resolve().parents[1] / "lessons"
PAGES = {"home": "", **{p.url_path: p.prefix for p in navigation.PAGES}}  # url path -> control prefix
_INFO = {"home": navigation.HOME, **{p.url_path: p for p in navigation.PAGES}}
CUSTOM = "custom"  # the lesson a lecturer builds or opens in this session
EDITOR = "ls_editor"  # the "Make your own lesson" expander: its open state (the editor is drawn only while open)
_EDITOR_OPEN = "_ls_editor_open"  # that state, kept across page switches
KEEP = ("present",)  # URL parameters a step carries over from the current URL, never stores


@st.cache_data(show_spinner=False)
def shipped() -> dict[str, Lesson]:
    """The lessons under lessons/, by file name."""
    return lessons.load_dir(FOLDER, PAGES)


def page_of(url_path: str) -> str:
    """The lesson name of the page at ``url_path`` (the default page's url path is "")."""
    return url_path or "home"


def current() -> tuple[str, Lesson | None]:
    """The picked lesson's name and the lesson (None when none is picked)."""
    name = st.session_state.get("ls_lesson") or ""
    if name == CUSTOM:
        custom = st.session_state.get("ls_custom")
        return name, custom if custom and custom.steps else None
    return name, shipped().get(name)


def view_params(url_path: str) -> dict[str, str | list[str]]:
    """The current URL's parameters of the page at ``url_path``: its controls, as its link carries them."""
    prefix = PAGES.get(page_of(url_path), "")
    if not prefix:
        return {}
    out: dict[str, str | list[str]] = {}
    for k in st.query_params:
        if k.startswith(prefix):
            values = st.query_params.get_all(k)
            out[k] = values[0] if len(values) == 1 else values
    return out


def go(name: str, lesson: Lesson, k: int, url_path: str) -> None:
    """Open step ``k`` (0-based) of ``lesson``: switch to its page with its controls (ends this run)."""
    step = lesson.steps[k]
    st.session_state.ls_step = k
    prefixes = {p for p in (PAGES[step.page], PAGES.get(page_of(url_path), "")) if p}
    keys = [str(k_) for k_ in st.session_state if any(str(k_).startswith(p) for p in prefixes)]
    shown = _release(keys)  # the controls on screen now: key -> default
    for key in keys:
        del st.session_state[key]  # the controls start afresh, from the step's URL
    for key, default in shown.items():
        if key not in step.params:
            st.session_state[key] = default  # the browser keeps a shown widget's value unless told
    query = step.query()
    query |= {k_: st.query_params.get_all(k_) for k_ in KEEP if k_ in st.query_params}
    if name != CUSTOM:
        query |= {"lesson": name, "step": str(k + 1)}
    st.switch_page(_INFO[step.page].path, query_params=query)


def _release(keys: list[str]) -> dict[str, Any]:
    """Release the URL parameters ``keys`` from the widgets bound to them; the default of each such widget.

    Streamlit refuses to set a bound parameter ("Cannot directly set query parameter … bound to a widget"),
    also through ``st.switch_page(query_params=…)`` onto the page already shown; each widget binds itself
    again when it is drawn. A widget that stays on screen keeps its value in the browser unless the server
    sets it, so a step that leaves it out must set its default. Streamlit 1.67 has no public call for
    either, hence its QueryParams and widget metadata (a missing piece only skips that reset).
    """
    ctx = get_script_run_ctx()
    if ctx is None:
        return {}
    state = getattr(ctx.session_state, "_state", None)
    defaults: dict[str, Any] = {}
    with ctx.session_state.query_params() as qp:
        for key in keys:
            binding = qp.get_binding_for_param(key)
            if binding is None:
                continue
            qp.unbind_widget(binding.widget_id)
            try:
                meta = state._new_widget_state.widget_metadata[binding.widget_id]
                defaults[key] = meta.deserializer(None)
            except (AttributeError, KeyError, TypeError, ValueError):
                pass
    return defaults


def sidebar(url_path: str) -> None:
    """The lesson picker, Step k of n with Previous/Next, and the lesson editor (app.py, under the pages)."""
    with st.sidebar:
        _follow_link(url_path)
        if st.session_state.pop("ls_opened", False):
            st.session_state.ls_lesson, st.session_state.ls_step, st.session_state.ls_go = CUSTOM, 0, True
            st.session_state.ls_title = _custom().title
        names = ["", *shipped()]
        if st.session_state.get("ls_custom") and st.session_state.ls_custom.steps:
            names.append(CUSTOM)
        picked = st.session_state.get("ls_lesson") or ""
        st.session_state.ls_pick = picked if picked in names else ""  # the widget forgets it on a page switch
        st.selectbox("Lesson", names, format_func=_title, key="ls_pick", on_change=_picked)
        name, lesson = current()
        if st.session_state.pop("ls_go", None) is not None and lesson:
            go(name, lesson, 0, url_path)
        if lesson:
            _stepper(name, lesson, url_path)
        # drawn only while open: its text fields and file uploader would otherwise cost every page's first visit
        # (the browser fetches and renders them hidden); opening it reruns the page once
        st.session_state[EDITOR] = st.session_state.get(_EDITOR_OPEN, False)  # the widget forgets it on a page switch
        editor = st.expander("Make your own lesson", icon=":material/edit_note:", key=EDITOR, on_change=_toggled)
        if editor.open:
            with editor:
                _editor(url_path)


def _toggled() -> None:
    st.session_state[_EDITOR_OPEN] = bool(st.session_state[EDITOR])


# While a step is shown its banner heads the page: it names the page and says the point, so the page's own title and
# the line of why under it give way, and the controls and the figure stay on the first screen under the banner (at
# 125% zoom and in presentation mode the three pushed the figure's top to 457-619 px). Only a caption or Markdown
# line right under the title goes (st.caption and st.markdown are both stMarkdown), never a control or an alert.
# The banner starts below Streamlit's header bar, which would cover its top edge.
_HEAD = '.stMain [data-testid="stElementContainer"]:has([data-testid="stHeading"] h1)'
_STEP_CSS = (
    f"<style>{_HEAD}, {_HEAD} + [data-testid='stElementContainer']:has(> [data-testid='stMarkdown'])"
    " { display: none; }"
    " .stMain [data-testid='stMainBlockContainer'] { padding-top: 3.75rem; }</style>"
)


def banner(url_path: str) -> None:
    """The step's number, page, takeaway and thing to try, heading the page while it is the step's page (the page's
    own title and line of why hidden: ``_STEP_CSS``)."""
    _, lesson = current()
    if not lesson:
        return
    k = _index(lesson)
    step = lesson.steps[k]
    if step.page != page_of(url_path):
        return
    text = f"**Step {k + 1} of {len(lesson.steps)}** · **{_INFO[step.page].title}** · {step.takeaway}"
    if step.try_:
        text += f" **Try:** {step.try_}"  # one paragraph: every line this box takes pushes the figure down
    st.info(text, icon=":material/school:")
    st.html(_STEP_CSS)


def _title(name: str) -> str:
    if not name:
        return "None"
    if name == CUSTOM:
        return f"Yours: {st.session_state.ls_custom.title}"
    return shipped()[name].title


def _picked() -> None:
    st.session_state.ls_lesson = st.session_state.ls_pick
    st.session_state.ls_step = 0
    st.session_state.ls_go = True
    for k in ("lesson", "step"):
        if k in st.query_params:
            del st.query_params[k]


def _index(lesson: Lesson) -> int:
    return min(max(int(st.session_state.get("ls_step", 0)), 0), len(lesson.steps) - 1)


def _follow_link(url_path: str) -> None:
    """``?lesson=<name>&step=<k>``: pick that lesson at that step, and open its view if this is another page."""
    name, raw = st.query_params.get("lesson"), st.query_params.get("step", "1")
    if not name:
        return
    lesson = shipped().get(name)
    if lesson is None or not raw.isdigit() or not 1 <= int(raw) <= len(lesson.steps):
        st.warning(f"This link names a lesson step that does not exist: {name[:40]!r}, step {raw[:6]!r}.")
        return
    k = int(raw) - 1
    if (st.session_state.get("ls_lesson"), st.session_state.get("ls_step")) == (name, k):
        return
    st.session_state.ls_lesson, st.session_state.ls_step = name, k
    if lesson.steps[k].page != page_of(url_path):
        go(name, lesson, k, url_path)


def _stepper(name: str, lesson: Lesson, url_path: str) -> None:
    k, n = _index(lesson), len(lesson.steps)
    st.markdown(f"**Step {k + 1} of {n}**")
    prev, nxt = st.columns(2)
    if prev.button("Previous", key="ls_prev", disabled=k == 0, icon=":material/arrow_back:", width="stretch"):
        go(name, lesson, k - 1, url_path)
    if nxt.button("Next", key="ls_next", disabled=k == n - 1, icon=":material/arrow_forward:", width="stretch"):
        go(name, lesson, k + 1, url_path)
    step = lesson.steps[k]
    if step.page != page_of(url_path):
        st.caption(f"This step is on the {_INFO[step.page].title} page.")
    if st.button("Open this step's view", key="ls_open", icon=":material/replay:", width="stretch",
                 help="The step's page with its controls as the step set them."):  # fmt: skip
        go(name, lesson, k, url_path)


def _custom() -> Lesson:
    return st.session_state.get("ls_custom") or Lesson("My lesson", ())


def _set_custom(steps: list[Step] | tuple[Step, ...], title: str | None = None) -> None:
    st.session_state.ls_custom = Lesson(title if title is not None else _custom().title, tuple(steps))


def _add(url_path: str) -> None:
    step = Step(page_of(url_path), view_params(url_path), st.session_state.ls_takeaway, st.session_state.ls_try)
    new = Lesson(_custom().title, (*_custom().steps, step))
    try:
        lessons.parse(lessons.dumps(new), PAGES)  # what the downloaded file will hold must open again
    except ValueError as err:
        st.session_state.ls_problem = str(err)
        return
    st.session_state.ls_custom = new
    st.session_state.ls_takeaway = st.session_state.ls_try = ""


def _move(i: int, j: int) -> None:
    steps = list(_custom().steps)
    if 0 <= j < len(steps):
        steps[i], steps[j] = steps[j], steps[i]
        _set_custom(steps)


def _delete(i: int) -> None:
    steps = list(_custom().steps)
    del steps[i]
    _set_custom(steps)


def _retitle() -> None:
    _set_custom(_custom().steps, st.session_state.ls_title[: lessons.MAX_TEXT] or "My lesson")


def _editor(url_path: str) -> None:
    custom = _custom()
    st.session_state.setdefault("ls_title", custom.title)
    st.text_input("Title", key="ls_title", on_change=_retitle, max_chars=lessons.MAX_TEXT)
    st.text_area("Takeaway of this view", key="ls_takeaway", max_chars=lessons.MAX_TEXT, height=80)
    st.text_input("Something to try", key="ls_try", max_chars=lessons.MAX_TEXT)
    full = len(custom.steps) >= lessons.MAX_STEPS
    st.button(
        "Add this view as a step", key="ls_add", on_click=_add, args=(url_path,), disabled=full,
        icon=":material/add:", help="This page and its controls as they are now (the address bar's parameters).",
    )  # fmt: skip
    if problem := st.session_state.pop("ls_problem", None):
        st.error(problem, icon=":material/error:")
    for i, step in enumerate(custom.steps):
        st.caption(f"{i + 1}. **{_INFO[step.page].title}**: {step.takeaway[:60] or '(no takeaway)'}")
        up, down, drop = st.columns(3)
        up.button("↑", key=f"ls_up_{i}", on_click=_move, args=(i, i - 1), disabled=i == 0, help="Move up")
        down.button("↓", key=f"ls_dn_{i}", on_click=_move, args=(i, i + 1), disabled=i == len(custom.steps) - 1,
                    help="Move down")  # fmt: skip
        drop.button("✕", key=f"ls_rm_{i}", on_click=_delete, args=(i,), help="Delete this step")
    if custom.steps:
        st.download_button(
            "Download the lesson file", lessons.dumps(custom), file_name="lesson.json", mime="application/json",
            key="ls_download", icon=":material/download:", on_click="ignore",
        )  # fmt: skip
    up = st.file_uploader("Open a lesson file", type=["json"], key="ls_upload", max_upload_size=1)
    if up is not None and up.file_id != st.session_state.get("ls_upload_id"):
        try:
            opened = lessons.parse(up.getvalue(), PAGES)
        except ValueError as err:
            st.error(f"{up.name[:60]}: {err}", icon=":material/error:")
            return
        st.session_state.ls_upload_id = up.file_id
        _set_custom(opened.steps, opened.title)
        st.session_state.ls_opened = True  # picked before the selectbox is drawn, on the rerun
        st.rerun()
