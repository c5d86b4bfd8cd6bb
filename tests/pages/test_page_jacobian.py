"""AppTest for the Jacobian page: decode the 3D arrows and check the geometry independently (numpy)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/jacobian.py").run()
    assert not at.exception, at.exception
    return at


def _figures(at) -> list[dict]:
    return [component_figure(e) for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view"]


def _arrows(fig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (start, vector) of each arrow's line trace."""
    out = {}
    for t in fig["data"]:
        if t["type"] == "scatter3d" and t.get("legendgroup"):
            p = np.stack([np.asarray(t[a], dtype=float) for a in "xyz"], 1)  # (2, 3)
            out[t["name"].split(",")[0].split(" (")[0]] = (p[0], p[1] - p[0])
    return out


def _u(az, el):
    a, e = math.radians(az), math.radians(el)
    return np.array([math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)])


@pytest.fixture(scope="module")
def jac_app():
    return _app()


def test_default_arrows_are_exact_and_orthogonal(jac_app):
    arrows = _arrows(_figures(jac_app)[0])
    x = arrows["input x"][1]
    np.testing.assert_allclose(x, 2.5 * _u(10, 5), atol=1e-5)
    y = arrows["output y = LayerNorm(x)"][1]
    ref_y = (x - x.mean()) / x.std()
    np.testing.assert_allclose(y, ref_y, atol=1e-5)
    start, grad = arrows["∂loss/∂x = Jᵀg"]
    np.testing.assert_allclose(start, x, atol=1e-6)  # drawn at x
    g = grad / np.linalg.norm(grad)
    assert abs(g.sum()) < 1e-5 and abs(g @ (x - x.mean())) / np.linalg.norm(x - x.mean()) < 1e-5
    assert np.linalg.norm(grad) > 0.5


def test_gradient_shrinks_as_one_over_s():
    at = _app()
    lengths = {}
    for s in (2.5, 6.0):
        at.select_slider(key="jc_scale").set_value(s).run()
        assert not at.exception
        lengths[s] = np.linalg.norm(_arrows(_figures(at)[0])["∂loss/∂x = Jᵀg"][1])
    assert lengths[6.0] / lengths[2.5] == pytest.approx(2.5 / 6.0, rel=1e-4)
    sweep = _figures(at)[1]
    line = next(t for t in sweep["data"] if t["name"] == "‖∂loss/∂x‖")
    sx, sy = np.asarray(line["x"], dtype=float), np.asarray(line["y"], dtype=float)
    assert np.polyfit(np.log(sx), np.log(sy), 1)[0] == pytest.approx(-1.0, abs=1e-4)


def test_rmsnorm_and_directions_that_pass_nothing():
    at = _app()
    at.radio(key="jc_norm").set_value("rmsnorm").run()
    arrows = _arrows(_figures(at)[0])
    x, grad = arrows["input x"][1], arrows["∂loss/∂x = Jᵀg"][1]
    assert abs(grad @ x) / (np.linalg.norm(grad) * np.linalg.norm(x)) < 1e-5
    np.testing.assert_allclose(np.linalg.norm(arrows["output y = RMSNorm(x)"][1]), math.sqrt(3), rtol=1e-5)
    for up in ("radial", "ones"):
        at.radio(key="jc_norm").set_value("layernorm").run()
        at.selectbox(key="jc_up").set_value(up).run()
        assert not at.exception
        assert np.linalg.norm(_arrows(_figures(at)[0])["∂loss/∂x = Jᵀg"][1]) < 1e-5


def test_every_control_to_its_ends():
    at = _app()
    for norm in ("layernorm", "rmsnorm"):
        at.radio(key="jc_norm").set_value(norm).run()
        for key in ("jc_scale", "jc_az", "jc_el"):
            w = at.select_slider(key=key) if key == "jc_scale" else at.slider(key=key)
            ends = (w.options[0], w.options[-1]) if key == "jc_scale" else (w.min, w.max)
            for end in ends:
                w.set_value(float(end) if key == "jc_scale" else end).run()
                assert not at.exception, (norm, key, end, at.exception)
                assert len(_figures(at)) == 2
        for up in ("tangent", "radial", "ones", "e1", "e2", "e3"):
            at.selectbox(key="jc_up").set_value(up).run()
            assert not at.exception
