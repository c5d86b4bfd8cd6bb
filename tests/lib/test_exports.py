"""Exports: the HTML file carries the figure's data and plotly.js itself (no network); CSV and NPZ
round-trip to the points drawn; PNG through kaleido where a browser exists, a clear error where not."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import plotly
import pytest
import torch

from normviz.experiments import real_data
from normviz.figures import charts, scenes
from normviz.io import exports


@pytest.fixture(scope="module")
def view():
    x = torch.randn(400, 12, generator=torch.Generator().manual_seed(0)) + 0.5
    return real_data.real_view(x, eps=1e-5, max_points=150)


def _newplot_data(html: str) -> list[dict]:
    """The trace list passed to Plotly.newPlot in the exported page."""
    start = html.index("Plotly.newPlot(")
    rest = html[start + len("Plotly.newPlot(") :]
    rest = rest[rest.index(",") + 1 :].lstrip()  # skip the div id
    data, _ = json.JSONDecoder().raw_decode(rest)
    return data


def _decode(v):
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def test_html_holds_the_figure_data_and_plotly_js_inline(view):
    fig = scenes.real_pair_figure(view, "LayerNorm")
    html = exports.figure_html(fig)
    assert not re.search(r"<script[^>]*\bsrc\s*=", html), "plotly.js must be inlined, not fetched"
    assert f"plotly.js v{plotly.offline.get_plotlyjs_version()}" in html
    data = _newplot_data(html)
    for trace, pts in zip(data[:2], (view.before, view.after), strict=True):
        for axis, col in zip("xyz", pts.T, strict=True):
            np.testing.assert_array_equal(_decode(trace[axis]), col)


def test_csv_round_trips_to_the_drawn_points(view):
    table = {"token": view.shown, **{f"y_axis{i + 1}": view.after[:, i] for i in range(3)}}
    text = exports.table_csv(table)
    header, *rows = text.splitlines()
    assert header == "token,y_axis1,y_axis2,y_axis3"
    back = np.loadtxt(io.StringIO("\n".join(rows)), delimiter=",", ndmin=2)
    np.testing.assert_array_equal(back[:, 0].astype(np.int64), view.shown)
    np.testing.assert_array_equal(back[:, 1:].astype(np.float32), view.after)  # exact: repr of each float


def test_npz_round_trips_without_pickles(view):
    table = {"x_axis1": view.before[:, 0], "token": view.shown}
    with np.load(io.BytesIO(exports.table_npz(table)), allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["x_axis1"], view.before[:, 0])
        np.testing.assert_array_equal(npz["token"], view.shown)


def test_tables_refuse_ragged_or_empty_columns():
    with pytest.raises(ValueError, match="same length"):
        exports.table_csv({"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ValueError, match="at least one"):
        exports.table_csv({})


def test_png_without_a_browser_says_what_to_do(monkeypatch, view):
    monkeypatch.setattr(exports, "png_browser", lambda: None)
    with pytest.raises(ValueError, match="Chromium"):
        exports.figure_png(charts.massive_figure(np.ones(4), np.array([1]), 2.0))


def test_png_through_kaleido():
    if exports.png_browser() is None:
        pytest.skip("no Chromium-based browser for kaleido on this machine (apt-get install chromium)")
    png = exports.figure_png(charts.massive_figure(np.arange(1.0, 9.0), np.array([7]), 5.0), width=300,
                             height=200, scale=1)  # fmt: skip
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
