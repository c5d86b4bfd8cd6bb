"""The app's own plotly.js bundle (assets/plotly): the python plotly package's plotly.js version, and every
trace type a figure builder uses registered in it and drawing."""

from __future__ import annotations

import ast
from pathlib import Path

import plotly.offline
import pytest
from plotly.validator_cache import ValidatorCache

from ui import startup

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = startup.PLOTLY_JS / startup.PLOTLY_BUNDLE
ALL_TYPES = set(ValidatorCache.get_validator("", "data").class_strs_map)  # every plotly trace type


def used_trace_types() -> set[str]:
    """Trace types named in the code that builds figures: a string equal to a plotly trace type ({"type":
    "scatter3d"}) or a ``go.<Trace>`` constructor, in normviz/figures, ui and pages."""
    files = [*(ROOT / "normviz" / "figures").rglob("*.py"), *(ROOT / "ui").glob("*.py"), *(ROOT / "pages").glob("*.py")]
    used = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in ALL_TYPES:
                used.add(node.value)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "go":
                used |= {node.attr.lower()} & ALL_TYPES
    return used


@pytest.fixture
def loaded(page):
    page.set_content("<html><body><div id='v' style='width:600px;height:400px'></div></body></html>")
    page.add_script_tag(path=str(BUNDLE))
    return page


def test_the_scan_finds_the_figures_trace_types():
    assert {"scatter", "scatter3d", "mesh3d", "cone", "heatmap", "bar", "scattergl"} <= used_trace_types()


def test_bundle_is_the_python_packages_plotly_js_version(loaded):
    assert loaded.evaluate("Plotly.version") == plotly.offline.get_plotlyjs_version()


def test_every_trace_type_the_figures_use_is_registered_and_draws(loaded):
    registered = set(loaded.evaluate("Object.keys(Plotly.PlotSchema.get().traces)"))
    used = used_trace_types()
    assert used <= registered, f"add {sorted(used - registered)} to assets/plotly/entry.js and run build.sh"
    xyz = "x: [0, 1, 0], y: [0, 0, 1], z: [0, 1, 1]"
    traces = {
        "scatter": "{type: 'scatter', x: [0, 1], y: [1, 2]}",
        "scattergl": "{type: 'scattergl', x: [0, 1], y: [1, 2]}",
        "bar": "{type: 'bar', x: ['a', 'b'], y: [1, 2]}",
        "heatmap": "{type: 'heatmap', z: [[1, 2], [3, 4]]}",
        "scatter3d": f"{{type: 'scatter3d', mode: 'markers', {xyz}}}",
        "mesh3d": f"{{type: 'mesh3d', {xyz}, i: [0], j: [1], k: [2]}}",
        "cone": f"{{type: 'cone', {xyz}, u: [1, 0, 0], v: [0, 1, 0], w: [0, 0, 1]}}",
    }
    assert used <= set(traces), f"add a drawing of {sorted(used - set(traces))} here"
    for name in sorted(used):
        drawn = loaded.evaluate(
            f"() => Plotly.newPlot('v', [{traces[name]}]).then(d => d._fullData.map(t => t.type + ':' + t.visible))"
        )
        assert drawn == [f"{name}:true"], name
