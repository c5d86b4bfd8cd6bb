"""ui/plot_view.js draws Cividis points on the dark theme with Cividis' lighter part: its constants, checked
against plotly's own Cividis and against the contrast they are there for. (The browser side, that a dark page's
figure uses them and a light page's does not, is tests/browser/test_theme.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import plotly.colors as pc
import pytest

JS = (Path(__file__).resolve().parents[2] / "ui" / "plot_view.js").read_text()
DARK_BACKGROUND = (14, 17, 23)  # Streamlit's dark theme, #0e1117


def _constant(name: str) -> object:
    m = re.search(rf"const {name} = (\[.*?\]);\n", JS, re.S)
    assert m, f"{name} not found in ui/plot_view.js"
    return json.loads(re.sub(r",\s*\]$", "]", m.group(1).replace("\n", " ")))


def _rgb(colour: str) -> tuple[int, ...]:
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(round(float(v)) for v in colour[colour.index("(") + 1 : -1].split(","))


def _luminance(rgb) -> float:  # WCAG 2 relative luminance
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a, b) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_dark_themes_cividis_is_plotlys_cividis_from_0_35_to_1():
    stops = _constant("CIVIDIS_ON_DARK")
    assert [s[0] for s in stops] == pytest.approx([k / 8 for k in range(9)])
    expected = pc.sample_colorscale("Cividis", [0.35 + 0.65 * k / 8 for k in range(9)])
    for (_, got), want in zip(stops, expected, strict=True):
        assert max(abs(g - w) for g, w in zip(_rgb(got), _rgb(want), strict=True)) <= 1, (got, want)


def test_its_low_end_reads_on_the_dark_background_where_plain_cividis_does_not():
    low = _rgb(_constant("CIVIDIS_ON_DARK")[0][1])
    assert _contrast(low, DARK_BACKGROUND) >= 3.0  # WCAG's contrast for graphics
    navy = _rgb(pc.get_colorscale("Cividis")[0][1])
    assert _contrast(navy, DARK_BACKGROUND) < 1.5


def test_the_colour_it_recognizes_cividis_by_is_plotlys_first_cividis_stop():
    m = re.search(r'const CIVIDIS_LOW = "(#[0-9a-f]{6})";', JS)
    assert m and m.group(1) == pc.get_colorscale("Cividis")[0][1].lower()
