"""AppTest for the Jacobian page: the 3D arrows decoded and the geometry checked independently (numpy);
its links (every control restored, garbage falls back with a notice) and the CSV of the drawn arrows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.helpers.apptest import csv_columns, figure, figure_keys, live_slider, open_garbage, open_link, open_page


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
    return open_page("jacobian")


def test_default_arrows_are_exact_and_orthogonal(jac_app):
    arrows = _arrows(figure(jac_app, "jc_view"))
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
    at = open_page("jacobian")
    lengths = {}
    for s in (2.5, 6.0):
        at.session_state["jc_scale"] = s  # the live scale slider (ui.live) keeps its value in session state
        at.run()
        assert not at.exception
        lengths[s] = np.linalg.norm(_arrows(figure(at, "jc_view"))["∂loss/∂x = Jᵀg"][1])
    assert lengths[6.0] / lengths[2.5] == pytest.approx(2.5 / 6.0, rel=1e-4)
    sweep = figure(at, "jc_sweep")
    line = next(t for t in sweep["data"] if t["name"] == "‖∂loss/∂x‖")
    sx, sy = np.asarray(line["x"], dtype=float), np.asarray(line["y"], dtype=float)
    assert np.polyfit(np.log(sx), np.log(sy), 1)[0] == pytest.approx(-1.0, abs=1e-4)


def test_rmsnorm_and_directions_that_pass_nothing():
    at = open_page("jacobian")
    at.radio(key="jc_norm").set_value("rmsnorm").run()
    arrows = _arrows(figure(at, "jc_view"))
    x, grad = arrows["input x"][1], arrows["∂loss/∂x = Jᵀg"][1]
    assert abs(grad @ x) / (np.linalg.norm(grad) * np.linalg.norm(x)) < 1e-5
    np.testing.assert_allclose(np.linalg.norm(arrows["output y = RMSNorm(x)"][1]), math.sqrt(3), rtol=1e-5)
    for up in ("radial", "ones"):
        at.radio(key="jc_norm").set_value("layernorm").run()
        at.selectbox(key="jc_up").set_value(up).run()
        assert not at.exception
        assert np.linalg.norm(_arrows(figure(at, "jc_view"))["∂loss/∂x = Jᵀg"][1]) < 1e-5


def _rms_grad_along_1(x):
    """‖∂loss/∂x‖ through RMSNorm for unit g ∥ 1: (1/rms)(g − (y·g/d) y), numpy float64."""
    rms = np.sqrt((x**2).mean())
    y, g = x / rms, np.ones(3) / np.sqrt(3)
    return float(np.linalg.norm((g - (y @ g) / 3 * y) / rms))


@pytest.mark.parametrize(("az", "el", "s"), [(10, 5, 2.5), (-120, 35, 0.4), (170, -60, 10.0)])
def test_the_blocked_directions_sentence_follows_the_norm(az, el, s):
    at = open_page("jacobian", {"jc_az": str(az), "jc_el": str(el), "jc_scale": str(s)})
    for up in ("tangent", "ones", "radial"):
        at.selectbox(key="jc_up").set_value(up).run()
        for norm in ("layernorm", "rmsnorm"):
            at.radio(key="jc_norm").set_value(norm).run()
            assert not at.exception
            text = " ".join(c.value for c in at.caption)
            if norm == "layernorm":
                assert "along y or along 1: nothing flows back through LayerNorm" in text
            else:  # RMSNorm blocks only g along y; along 1 the page shows what flows back
                assert "along 1: nothing flows back" not in text and "along y or along 1" not in text
                assert "along y: nothing flows back through RMSNorm" in text
                x = s * _u(az, el)
                assert f"For g along 1, ‖∂loss/∂x‖ = {_rms_grad_along_1(x):.2f} flows back" in text
                assert _rms_grad_along_1(x) > 0.05
            if up == "ones":  # and the arrow drawn agrees: zero for LayerNorm, not for RMSNorm
                grad = np.linalg.norm(_arrows(figure(at, "jc_view"))["∂loss/∂x = Jᵀg"][1])
                ref = _rms_grad_along_1(x)  # the arrow is drawn shortened where it would leave the ±3 view
                assert (grad == 0) if norm == "layernorm" else grad == pytest.approx(min(ref, 3.0), rel=1e-5)


def test_a_blocked_gradient_is_drawn_as_exactly_0_on_a_linear_axis():
    at = open_page("jacobian")
    for norm, up in (("layernorm", "radial"), ("layernorm", "ones"), ("rmsnorm", "radial")):
        at.radio(key="jc_norm").set_value(norm).run()
        at.selectbox(key="jc_up").set_value(up).run()
        sweep = figure(at, "jc_sweep")
        (line,) = [t for t in sweep["data"] if t["name"] == "‖∂loss/∂x‖"]
        y = np.asarray(line["y"], dtype=float)
        assert len(y) == 21 and (y == 0).all(), y  # float rounding (~1e-15) is not drawn as a zigzag
        assert sweep["layout"]["yaxis"].get("type") != "log"
        assert "0 up to float rounding" in " ".join(c.value for c in at.caption)
    at.radio(key="jc_norm").set_value("rmsnorm").run()
    at.selectbox(key="jc_up").set_value("ones").run()  # not blocked: a real 1/s line on log axes
    sweep = figure(at, "jc_sweep")
    (line,) = [t for t in sweep["data"] if t["name"] == "‖∂loss/∂x‖"]
    assert np.asarray(line["y"], dtype=float).min() > 0 and sweep["layout"]["yaxis"]["type"] == "log"
    assert "0 up to float rounding" not in " ".join(c.value for c in at.caption)


def test_every_control_to_its_ends():
    at = open_page("jacobian")
    for norm in ("layernorm", "rmsnorm"):
        at.radio(key="jc_norm").set_value(norm).run()
        for end in (0.1, 10.0):  # the live scale slider's ends
            assert live_slider(at, "jc_scale")["labels"][0 if end < 1 else -1] == f"{end}"
            at.session_state["jc_scale"] = end
            at.run()
            assert not at.exception, (norm, "jc_scale", end, at.exception)
            assert figure_keys(at) == ["jc_view", "jc_sweep"]
        for key in ("jc_az", "jc_el"):
            w = at.slider(key=key)
            for end in (w.min, w.max):
                w.set_value(end).run()
                assert not at.exception, (norm, key, end, at.exception)
                assert figure_keys(at) == ["jc_view", "jc_sweep"]
        for up in ("tangent", "radial", "ones", "e1", "e2", "e3"):
            at.selectbox(key="jc_up").set_value(up).run()
            assert not at.exception


# --- links ---

JC_LINK = {"jc_norm": "RMSNorm", "jc_up": "axis e₂", "jc_scale": "0.4", "jc_az": "-120", "jc_el": "35"}
JC_RESTORED = {("radio", "jc_norm"): "rmsnorm", ("selectbox", "jc_up"): "e2", "jc_scale": 0.4,
               ("slider", "jc_az"): -120, ("slider", "jc_el"): 35}  # fmt: skip


def test_jacobian_link_restores_every_control(csv_files):
    at = open_link("jacobian", JC_LINK, JC_RESTORED, csv_files=csv_files)
    assert dict(at.query_params) == JC_LINK
    # the input arrow is the link's x = s·u(azimuth, elevation)
    (x,) = [t for t in figure(at, "jc_view")["data"] if t["type"] == "scatter3d" and t["name"] == "input x"]
    a, e = np.radians(-120), np.radians(35)
    u = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    np.testing.assert_allclose([x["x"][1], x["y"][1], x["z"][1]], 0.4 * u, atol=1e-6)
    # the CSV holds every drawn arrow: its tail and tip are the line trace's two points
    cols = csv_columns(csv_files, "normviz-jacobian.csv")
    lines = {t["name"]: t for t in figure(at, "jc_view")["data"] if t.get("legendgroup") and t["type"] == "scatter3d"}
    assert list(cols["arrow"]) == list(lines)
    for i, t in enumerate(lines.values()):
        for a, axis in enumerate("xyz"):
            assert np.float32(cols[f"tail_x{a + 1}"][i]) == t[axis][0]
            assert np.float32(cols[f"tip_x{a + 1}"][i]) == t[axis][1]


def test_jacobian_garbage_falls_back_with_a_notice():
    garbage = {"jc_norm": "layernorm", "jc_up": "e4", "jc_scale": "0", "jc_az": "181", "jc_el": "abc"}
    at = open_garbage("jacobian", garbage, {("radio", "jc_norm"): "layernorm", ("selectbox", "jc_up"): "tangent",
                                            "jc_scale": 2.5, ("slider", "jc_az"): 10,
                                            ("slider", "jc_el"): 5},
                      named=[k for k in garbage if k != "jc_norm"])  # fmt: skip
    assert not at.error


def test_jacobian_default_values_in_the_link_are_not_called_invalid():
    at = open_page("jacobian", {"jc_norm": "LayerNorm", "jc_scale": "2.5", "jc_az": "10"})
    assert not at.warning
