"""AppTest for the home page: it runs, opens with a LayerNorm picture, links to the hypersphere."""

from __future__ import annotations

import numpy as np

from tests.helpers.apptest import figure, figure_keys, open_page


def _points(fig, scene: str) -> np.ndarray:
    """The token markers drawn in one scene, as (n, 3)."""
    (t, *_) = [
        t
        for t in fig["data"]
        if t.get("scene", "scene") == scene
        and t.get("type") == "scatter3d"
        and t.get("mode") == "markers"
        and "only possible output" not in str(t.get("hovertemplate"))
    ]
    return np.stack([t["x"], t["y"], t["z"]], axis=1).astype(np.float64)


def test_home_page_runs_and_links_to_the_hypersphere():
    at = open_page(None)
    assert "normviz" in at.title[0].value
    assert any("Computing on" in c.value for c in at.sidebar.caption)
    assert figure_keys(at)[0] == "home_hero"  # the picture comes first
    assert any("LayerNorm puts every token on a sphere" in m.value for m in at.markdown)
    assert r"\mathrm{LayerNorm}(x)" in at.latex[0].value  # the formula is still there, folded


def test_the_hero_is_layernorm_of_its_inputs():
    fig = figure(open_page(None), "home_hero")
    before, after = _points(fig, "scene"), _points(fig, "scene2")
    assert 200 <= len(after) <= 1000 and before.shape == after.shape
    d = 3
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), np.sqrt(d), rtol=1e-3)  # on the sphere of radius √3
    np.testing.assert_allclose(after.sum(axis=1), 0.0, atol=1e-4)  # in the plane Σy = 0
    # exact coordinates: the output is LayerNorm (γ = 1, β = 0, ε = 1e-12) of the drawn inputs themselves
    mu, var = before.mean(axis=1, keepdims=True), before.var(axis=1, keepdims=True)
    np.testing.assert_allclose(after, (before - mu) / np.sqrt(var + 1e-12), atol=1e-4)
    assert np.std(np.linalg.norm(before, axis=1)) > 0.1  # the inputs are not on a sphere already
