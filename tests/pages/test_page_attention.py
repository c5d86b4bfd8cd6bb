"""AppTest for the Attention page: decode the charts and the 3D keys, check them against independent maths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog
from streamlit.testing.v1 import AppTest

from tests.helpers.figure_data import component_figure

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/attention.py").run()
    assert not at.exception, at.exception
    return at


def _figures(at) -> list[dict]:
    return [component_figure(e) for e in at.get("bidi_component") if e.proto.component_name == "normviz.plotly_view"]


def _series(fig) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {t["name"]: (np.asarray(t["x"], dtype=float), np.asarray(t["y"], dtype=float)) for t in fig["data"]}


@pytest.fixture(scope="module")
def att_app():
    return _app()


def test_entropy_falls_without_norm_and_is_flat_with_layernorm(att_app):
    entropy, largest, maps = _figures(att_app)[:3]
    e = _series(entropy)
    s, raw = e["no norm"]
    assert raw[0] > 0.95 * math.log(32) and raw[-1] < 0.05
    assert np.all(np.diff(raw[s >= 1]) < 0)
    assert np.ptp(e["LayerNorm first"][1]) < 0.02 and e["LayerNorm first"][1].min() > 1.0
    np.testing.assert_allclose(e["uniform: ln T"][1], math.log(32), rtol=1e-6)
    m = _series(largest)
    assert m["no norm"][1][-1] > 0.98 and m["LayerNorm first"][1].max() < 0.5
    # heatmaps: rows are distributions; at s = 10 the raw one is nearly one-hot
    raw_map, ln_map = (np.asarray(t["z"], dtype=float) for t in maps["data"])
    np.testing.assert_allclose(raw_map.sum(1), 1, atol=1e-5)
    assert raw_map.max(1).mean() > 0.9 > ln_map.max(1).mean()


def _inside(points, i):
    others = np.delete(points, i, axis=0)
    res = linprog(np.zeros(len(others)), A_eq=np.vstack([others.T, np.ones(len(others))]),
                  b_eq=np.append(points[i], 1.0), bounds=(0, None), method="highs")  # fmt: skip
    return res.status == 0


def test_3d_keys_unselectable_markers_are_inside_the_hull(att_app):
    keys = {t["name"]: t for t in _figures(att_app)[4]["data"]}
    pts = {k: np.stack([np.asarray(t[a], dtype=float) for a in "xyz"], 1) for k, t in keys.items()}
    sel = pts["projected x − μ1: selectable"]
    unsel = pts["projected: unselectable (inside the hull)"]
    allp = np.vstack([sel, unsel])
    assert len(allp) == 8 and len(unsel) >= 1
    basis = np.linalg.svd(allp - 0)[2][:2]  # the plane Σk = 0 (the points lie in it)
    np.testing.assert_allclose(allp.sum(1), 0, atol=1e-5)
    flat = allp @ basis.T  # (n, 2)
    ref = [_inside(flat, i) for i in range(len(flat))]
    assert ref == [False] * len(sel) + [True] * len(unsel)
    ln = pts["LayerNorm(x): on the circle, all selectable"]
    np.testing.assert_allclose(np.linalg.norm(ln, axis=1), math.sqrt(3), rtol=1e-5)


def test_fraction_chart(att_app):
    f = _series(_figures(att_app)[3])
    n, ln = f["projection + scaling (LayerNorm): sets with one"]
    np.testing.assert_array_equal(n, [4, 6, 8, 12, 16, 24, 32, 48, 64])
    assert np.all(ln == 0)
    proj = f["projection only (x − μ1): sets with one"][1]
    assert proj[n == 8][0] > 0.8 and proj[-1] == 1.0
    share = f["projection only (x − μ1): share of keys (dotted)"][1]
    assert np.all(np.diff(share) > 0)  # more keys, more of them inside


def test_every_control_to_its_ends():
    at = _app()
    for key in ("at_scale", "at_dim", "at_tokens", "at_n", "at_sets"):
        w = at.select_slider(key=key)
        for end in (w.options[0], w.options[-1]):
            w.set_value(type(w.value)(end)).run()
            assert not at.exception, (key, end, at.exception)
            assert len(_figures(at)) == 5, (key, end, [e.value for e in at.error])
    at.select_slider(key="at_sets").set_value(50).run()
    at.select_slider(key="at_kdim").set_value(6).run()
    at.number_input(key="at_seed").set_value(999).run()
    assert not at.exception and len(_figures(at)) == 5
