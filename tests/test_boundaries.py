"""The boundaries in DESIGN.md: the library never imports streamlit; pages never import torch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import importlib, json, pkgutil, sys
import normviz
names = sorted(m.name for m in pkgutil.walk_packages(normviz.__path__, "normviz."))
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "streamlit": sorted(m for m in sys.modules if m.split(".")[0] == "streamlit")}))
"""


def test_normviz_and_all_its_modules_import_without_streamlit():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # the probe really imported the library's modules (a broken discovery would make the check vacuous)
    assert {
        "normviz.core.norms",
        "normviz.core.inputs",
        "normviz.core.geometry",
        "normviz.core.projection",
        "normviz.experiments.hypersphere",
        "normviz.experiments.batch",
        "normviz.figures.scenes",
        "normviz.io.uploads",
    } <= set(report["modules"])
    assert report["streamlit"] == [], f"normviz imported {report['streamlit']}"


def _imported_modules(path: Path) -> set[str]:
    """Top-level names of every module a file imports, anywhere in it (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value.split(".")[0])
    return found


def test_pages_do_not_import_torch():
    pages = sorted((ROOT / "pages").glob("*.py"))
    assert pages, "no pages found: the check below would pass vacuously"
    offenders = [p.name for p in pages if "torch" in _imported_modules(p)]
    assert offenders == [], f"pages importing torch (call normviz instead): {offenders}"


def test_figures_import_no_torch_and_no_maths_modules():
    """Figure builders only draw: no torch, and from normviz only other figure modules."""
    figures = sorted((ROOT / "normviz" / "figures").glob("*.py"))
    assert len(figures) >= 5, "no figure modules found: the check below would pass vacuously"
    for path in figures:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert "torch" not in _imported_modules(path), path.name
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("normviz"):
                assert node.module.startswith("normviz.figures"), f"{path.name} imports {node.module}"


def test_the_import_scanner_sees_torch_imports(tmp_path):
    """The scanner above can fail: it finds every spelling of importing torch."""
    for src in (
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
        "from torch.nn import functional",
        "def f():\n    import torch",
        "import importlib\nimportlib.import_module('torch')",
    ):
        f = tmp_path / "page.py"
        f.write_text(src + "\n", encoding="utf-8")
        assert "torch" in _imported_modules(f), src
    f.write_text("import streamlit as st\nfrom normviz import norms\ntorchlike = 1\n", encoding="utf-8")
    assert "torch" not in _imported_modules(f)
