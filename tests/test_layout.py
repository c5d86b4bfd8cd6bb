"""The layout a newcomer reads (README's table): names other code relies on, one line atop every module,
files small enough to read, one label table per kind of value."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), *(ROOT / "normviz").rglob("*.py")]
)


def test_names_other_code_relies_on_stay_importable():
    import normviz
    import normviz.batch
    import normviz.dynamics
    import normviz.inputs
    import normviz.norms
    from normviz.core import inputs, norms
    from normviz.experiments import batch, gradient_flow

    assert normviz.norms is norms and normviz.inputs is inputs
    assert normviz.batch.probe_spread is batch.probe_spread
    assert normviz.dynamics.gradient_norms is gradient_flow.gradient_norms
    assert importlib.import_module("normviz.norms").NORMS == norms.NORMS


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_opens_with_one_line_saying_what_it_holds(path):
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert doc, f"{path.name} has no docstring"
    first = doc.splitlines()[0]
    assert 10 <= len(first) <= 120 and first.rstrip().endswith((".", ":", ")")), first


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_grows_past_one_job(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 420, "split it by concept (DESIGN.md)"


def test_the_sources_list_is_not_empty():
    assert len(SOURCES) > 40 and any(p.parent.name == "experiments" for p in SOURCES)


def test_pages_define_no_label_table():
    """A page's display names come from ui/labels.py: no dict of string → string literals in a page."""
    for path in sorted((ROOT / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and len(node.keys) >= 2:
                literal = all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys)
                labels = all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.values)
                assert not (literal and labels), f"{path.name}:{node.lineno} defines a label table"
