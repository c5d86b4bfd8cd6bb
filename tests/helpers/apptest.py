"""AppTest helpers: open a page as a link would, pick its figures by their ``ui.plotly_view`` key.

    at = open_page("batch", {"bt_batch": "16"})  # app.py, the link's parameters, then pages/batch.py
    cloud = figure(at, "bt_cloud")                # the decoded figure drawn with key="bt_cloud"

A page's keys are in its file (``ui.plotly_view(fig, key="bt_cloud", ...)``); ``figure_keys(at)``
lists the ones a run drew, in page order.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

APP = str(Path(__file__).resolve().parents[2] / "app.py")
VIEW = "normviz.plotly_view"


def open_page(page: str | None, params: dict | None = None, *, timeout: float = 180) -> AppTest:
    """Run app.py with the link's query ``params``, then switch to ``pages/<page>.py`` (None: stay home).

    Fails on any exception, of app.py or of the page.
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, at.exception
    return at


def _views(at: AppTest) -> list:
    return [e for e in at.get("bidi_component") if e.proto.component_name == VIEW]


def figure_keys(at: AppTest) -> list[str]:
    """The keys of every ``ui.plotly_view`` the last run drew, in page order."""
    return [e.key for e in _views(at)]


def view_element(at: AppTest, key: str):
    """The ``ui.plotly_view`` element drawn with ``key`` (AppTest ``UnknownElement``)."""
    found = [e for e in _views(at) if e.key == key]
    assert found, f"no figure with key {key!r}; the page drew {figure_keys(at)}"
    assert len(found) == 1, f"{len(found)} figures with key {key!r}"
    return found[0]


def figure(at: AppTest, key: str) -> dict:
    """The decoded figure (numpy arrays for plotly's typed arrays) drawn with ``key``."""
    return component_figure(view_element(at, key))


def raw_figure(at: AppTest, key: str) -> dict:
    """The figure drawn with ``key`` as the browser receives it: plotly JSON, typed arrays still base64."""
    return json.loads(json.loads(view_element(at, key).proto.json)["figure"])


def widget(at: AppTest, label: str):
    """The slider, select slider, selectbox or radio labelled ``label``."""
    found = [w for w in [*at.slider, *at.select_slider, *at.selectbox, *at.radio] if w.label == label]
    assert found, f"no widget labelled {label!r}"
    return found[0]


def check_restored(at: AppTest, restored: dict) -> None:
    """Each ``(widget type, key) -> value`` (or ``key -> value``, read from session state) of ``restored``
    is what that control now holds."""
    for name, value in restored.items():
        if isinstance(name, tuple):
            kind, key = name
            assert getattr(at, kind)(key=key).value == value, key
        else:
            assert at.session_state[name] == value, name


def open_link(page: str, link: dict, restored: dict | None = None, *, csv_files: dict | None = None) -> AppTest:
    """Open ``page`` from a shared ``link``: every control of ``restored`` holds its value, and no notice.

    ``csv_files`` (the fixture): emptied first, so it then holds the CSVs of this page only.
    """
    if csv_files is not None:
        csv_files.clear()
    at = open_page(page, link)
    check_restored(at, restored or {})
    assert not at.warning, [w.value for w in at.warning]
    return at


def open_garbage(page: str, garbage: dict, defaults: dict | None = None, *, named=None) -> AppTest:
    """Open ``page`` from a link of bad values: each control of ``defaults`` is back at its default, and one
    notice names every parameter of ``named`` (default: all of ``garbage``)."""
    at = open_page(page, garbage)
    check_restored(at, defaults or {})
    check_one_notice(at, garbage if named is None else named)
    return at


def check_one_notice(at: AppTest, keys) -> None:
    """Exactly one warning, naming every parameter in ``keys`` (as `code`)."""
    (notice,) = at.warning
    for key in keys:
        assert f"`{key}`" in notice.value, key


def csv_columns(files: dict[str, bytes], name: str) -> dict[str, np.ndarray]:
    """The exported CSV ``name`` (from the ``csv_files`` fixture) as columns: numbers as float64, text as str."""
    header, *rows = csv.reader(io.StringIO(files[name].decode()))
    out = {}
    for j, col in enumerate(header):
        values = [r[j] for r in rows]
        try:
            out[col] = np.array(values, dtype=np.float64)
        except ValueError:
            out[col] = np.array(values)
    return out


def series(fig: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (x, y) of every trace of a line chart, as float64."""
    return {t["name"]: (np.asarray(t["x"], dtype=float), np.asarray(t["y"], dtype=float)) for t in fig["data"]}


def live_slider(at: AppTest, key: str) -> dict:
    """What the live slider keyed ``key`` (``ui.live_slider``) was drawn with: label, labels, index, disabled.
    Its value is ``at.session_state[key]``; set that and run to move it."""
    found = [
        json.loads(e.proto.json)
        for e in at.get("bidi_component")
        if e.proto.component_name == "normviz.live" and json.loads(e.proto.json).get("key") == key
    ]
    assert len(found) == 1, f"{len(found)} live sliders keyed {key!r}"
    return found[0]
