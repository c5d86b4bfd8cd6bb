"""Presentation mode: ``style.presentation`` raises every font of a figure, the toggle lives in the URL
(?present=1) across pages, figures are sent with large type and no fixed width, and the PNG is 1920 × 1080."""

from __future__ import annotations

import copy
import importlib
import struct

import numpy as np
import plotly.graph_objects as go
import pytest

from normviz.figures import style
from normviz.io import exports
from tests.helpers.apptest import open_page, raw_figure

export_buttons = importlib.import_module("ui.export_buttons")  # the module (ui re-exports its function)


def font_sizes(node, path: str = "") -> dict[str, float]:
    """Every explicit font size in a figure dict (layout and traces; not the template), by where it is."""
    out = {}
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "template":
                continue
            where = f"{path}.{k}" if path else k
            if k.endswith("font") and isinstance(v, dict) and isinstance(v.get("size"), int | float):
                out[where] = v["size"]
            out |= font_sizes(v, where)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out |= font_sizes(v, f"{path}[{i}]")
    return out


def check_large(fig: dict) -> None:
    layout = fig["layout"]
    assert layout["font"]["size"] >= style.PRESENT_FONT  # what every unsized font inherits
    assert layout["title"]["font"]["size"] >= style.PRESENT_TITLE
    small = {k: v for k, v in font_sizes(fig).items() if v < style.PRESENT_FONT}
    assert not small, small
    assert "width" not in layout and layout["autosize"] is True


def small_figure() -> dict:
    """Every kind of font a figure of ours sets, all small."""
    return {
        "data": [
            {"type": "heatmap", "z": np.arange(6.0).reshape(2, 3),
             "colorbar": {"tickfont": {"size": 9}, "title": {"text": "v", "font": {"size": 10}}}},
            {"type": "bar", "x": [1, 2], "y": [3, 4], "textfont": {"size": 11}, "text": ["a", "b"]},
            {"type": "scatter3d", "x": [0], "y": [0], "z": [0], "scene": "scene2"},
        ],
        "layout": {
            "height": 400, "width": 940, "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
            "font": {"size": 11, "color": "#123456"}, "title": {"text": "T", "font": {"size": 15}},
            "legend": {"font": {"size": 10}},
            "xaxis": {"tickfont": {"size": 10}, "title": {"text": "x", "font": {"size": 12}}},
            "yaxis2": {"tickfont": {"size": 10}},
            "scene2": {ax: {"tickfont": {"size": 9}, "title": {"text": ax, "font": {"size": 10}}}
                       for ax in ("xaxis", "yaxis", "zaxis")},
            "annotations": [style.panel_title("panel", (0, 0.5)), {"text": "note", "font": {"size": 28}}],
            "coloraxis": {"colorbar": {"tickfont": {"size": 8}}},
            "hoverlabel": {"font": {"size": 10}},
        },
    }  # fmt: skip


def test_presentation_raises_every_font_and_keeps_the_hierarchy():
    fig = small_figure()
    before = copy.deepcopy(fig)
    out = style.presentation(fig)
    check_large(out)
    lay = out["layout"]
    assert lay["font"]["color"] == "#123456"  # only the size changes
    assert lay["scene2"]["zaxis"]["tickfont"]["size"] >= 16 and out["data"][0]["colorbar"]["tickfont"]["size"] >= 16
    panel, note = lay["annotations"]
    assert panel["font"]["size"] > 16 and note["font"]["size"] > panel["font"]["size"]  # larger stays larger
    assert lay["height"] > 400 and lay["margin"]["l"] > 60
    assert lay["xaxis"]["automargin"] and lay["yaxis2"]["automargin"]  # room for the larger ticks
    # pure: the input is left as it was, and the data arrays are shared, not copied
    assert fig["layout"] == before["layout"] and fig["data"][0]["colorbar"] == before["data"][0]["colorbar"]
    assert out["data"][0]["z"] is fig["data"][0]["z"]


def test_presentation_of_a_bare_figure_and_of_a_plotly_dict():
    check_large(style.presentation({"data": [], "layout": {}}))
    fig = go.Figure(go.Scatter3d(x=[0, 1], y=[0, 1], z=[0, 1]), layout={"scene": {"xaxis": {"tickfont": {"size": 8}}}})
    out = style.presentation(fig.to_dict())
    check_large(out)
    go.Figure(out)  # still a valid figure


def test_present_link_draws_every_figure_large_and_stays_in_the_url():
    at = open_page("hypersphere", {"present": "1"})
    assert at.toggle(key="present").value is True
    assert at.query_params.get("present") in ("1", ["1"])
    for key in ("hs_view", "hs_hist"):
        fig = raw_figure(at, key)
        check_large(fig)
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params
    fig = raw_figure(at, "hs_view")
    assert fig["layout"].get("font", {}).get("size") is None and "width" not in fig["layout"]


def test_without_the_link_presentation_mode_is_off():
    at = open_page(None)
    assert at.toggle(key="present").value is False and "present" not in at.query_params


def test_png_in_presentation_mode_is_full_hd_with_the_large_type(monkeypatch):
    calls = []
    monkeypatch.setattr(exports, "figure_png", lambda fig, **kw: calls.append((fig, kw)) or b"png")
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"height": 300, "xaxis": {"tickfont": {"size": 9}}})
    export_buttons.png(fig, present=True)
    export_buttons.png(fig, present=False)
    (big, kw), (plain, kw_plain) = calls
    assert kw == {"width": 1920, "height": 1080, "scale": 1} and kw_plain == {}
    check_large(big.to_dict())
    assert plain is fig and fig.layout.xaxis.tickfont.size == 9  # the page's figure is left as it was


@pytest.mark.skipif(exports.png_browser() is None, reason="PNG export needs kaleido and chromium")
def test_the_presentation_png_really_is_1920_by_1080():
    data = export_buttons.png(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), present=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1920, 1080)
