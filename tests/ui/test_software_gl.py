"""ui/plot_view.js labels a 3D view drawn by software WebGL: its pattern, checked against renderer names that
browsers report (WEBGL_debug_renderer_info's UNMASKED_RENDERER_WEBGL). The pattern is plain alternation, which
reads the same in JavaScript and Python. (The browser side, that this GPU-less chromium's view shows the label,
is tests/browser/test_present.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

JS = (Path(__file__).resolve().parents[2] / "ui" / "plot_view.js").read_text()


def _pattern() -> re.Pattern:
    m = re.search(r"const SOFTWARE_GL = /([^/]+)/i;", JS)
    assert m, "SOFTWARE_GL not found in ui/plot_view.js"
    assert re.fullmatch(r"[a-z |]+", m.group(1)), "no longer plain alternation: test it in a JavaScript engine"
    return re.compile(m.group(1), re.I)


@pytest.mark.parametrize(
    "renderer",
    [
        "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)",
        "Google SwiftShader",
        "llvmpipe (LLVM 15.0.7, 256 bits)",
        "Mesa/X.org, llvmpipe (LLVM 12.0.0, 256 bits)",
        "ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)",
        "softpipe",
    ],
)
def test_software_renderers_are_named(renderer):
    assert _pattern().search(renderer)


@pytest.mark.parametrize(
    "renderer",
    [
        "ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 Direct3D11 vs_5_0 ps_5_0, D3D11)",
        "ANGLE (Intel, Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0, D3D11)",
        "Mesa Intel(R) UHD Graphics 620 (KBL GT2)",
        "AMD Radeon Pro 5500M OpenGL Engine",
        "Apple M1",
        "ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)",
        "Adreno (TM) 640",
        "Mali-G78",
    ],
)
def test_hardware_renderers_are_not(renderer):
    assert not _pattern().search(renderer)
