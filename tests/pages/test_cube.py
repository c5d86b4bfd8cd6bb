"""AppTest for the Statistics cube page: which cells share the chosen cell's statistics, under each norm; its links.

Each test decodes the figure data the page sent and checks it against maths done here independently
(torch functional ops, numpy float64), then drives controls to their ends looking for tracebacks.
"""

from __future__ import annotations

import numpy as np

from tests.helpers.apptest import figure, figure_keys, open_garbage, open_link, open_page, widget


def _cells(trace) -> np.ndarray:
    """Integer (j, t, b) positions of the cubes in a mesh3d trace (8 vertices per cube)."""
    v = np.stack([trace["x"], trace["y"], trace["z"]], 1).reshape(-1, 8, 3)
    return np.floor(v.min(1)).astype(int)


def test_cube_lights_exactly_the_cells_sharing_the_chosen_cells_statistics():
    at = open_page("cube")
    fig = figure(at, "cb_cube")
    B, T, d, G = 3, 6, 8, 4  # the page's defaults
    b, t, j = 1, 2, 4  # cell (2, 3, 5), 0-based
    expected = {  # independent: the semantics table, as sets of (j, t, b)
        "scene": {(jj, t, b) for jj in range(d)},  # LayerNorm: the token's features
        "scene2": {(jj, t, b) for jj in range(d) if jj // (d // G) == j // (d // G)},  # GroupNorm's group
        "scene3": {(j, tt, b) for tt in range(T)},  # InstanceNorm: feature j over the sequence
        "scene4": {(j, tt, bb) for tt in range(T) for bb in range(B)},  # BatchNorm: feature j, whole batch
    }
    for scene, want in expected.items():
        traces = [tr for tr in fig["data"] if tr.get("scene", "scene") == scene and tr["type"] == "mesh3d"]
        assert any(tr["name"] == "cell edges" for tr in fig["data"] if tr.get("scene", "scene") == scene)
        by_name = {tr["name"]: {tuple(c) for c in _cells(tr)} for tr in traces}
        assert by_name["the chosen cell"] == {(j, t, b)}
        assert by_name.get("share its statistics", set()) | by_name["the chosen cell"] == want, scene
        assert len(by_name["other cells"]) == B * T * d - len(want)
    assert sum("exactly the highlighted set" in m.value for m in at.markdown) == 4


def test_cube_follows_the_cell_sliders_and_survives_every_end():
    at = open_page("cube")
    at.session_state["cb_j_8"] = 8  # the live Feature j slider (ui.live) keeps its value in session state
    at.run()
    fig = figure(at, "cb_cube")
    chosen = next(tr for tr in fig["data"] if tr["name"] == "the chosen cell")
    assert {tuple(c) for c in _cells(chosen)} == {(7, 2, 1)}
    at.button_group(key="cb_norms").set_value(["rmsnorm", "dyt"]).run()
    assert not at.exception
    assert {tr.get("scene", "scene") for tr in figure(at, "cb_cube")["data"]} == {"scene", "scene2"}
    for label in ["Sequences B", "Tokens T", "Features d"]:
        for end in (widget(at, label).min, widget(at, label).max):
            widget(at, label).set_value(end).run()
            assert not at.exception, (label, end)
    at.button_group(key="cb_norms").set_value([]).run()
    assert not at.exception and any("Pick at least one norm" in i.value for i in at.info)


LINK = {"cb_norms": ["BatchNorm", "DyT"], "cb_B": "2", "cb_T": "3", "cb_d": "4", "cb_j_4": "4"}
RESTORED = {"cb_norms": ["batchnorm", "dyt"], "cb_B": 2, "cb_T": 3, "cb_d": 4, "cb_j_4": 4}


def test_a_link_restores_every_control():
    open_link("cube", LINK, RESTORED)


def test_garbage_falls_back_with_one_notice():
    garbage = {"cb_norms": ["garbage"], "cb_B": "-3", "zz_unknown": "1", "cb_nope": "x"}
    at = open_garbage("cube", garbage, named=[k for k in garbage if k.startswith("cb_")])
    assert figure_keys(at), "the page still draws its views"


def test_cube_states_the_wu_and_he_mapping_and_both_meanings_of_g_equal_d():
    at = open_page("cube")
    (mapping,) = [m.value for m in at.markdown if "Wu & He drew an image batch" in m.value]
    assert "treat each token as a *sample* (N ↔ B·T tokens" in mapping
    assert "treat the tokens as the *pooled positions* (N ↔ B sequences, H·W ↔ T" in mapping
    assert "G = C *is* InstanceNorm" in mapping and "G = d sends every value to 0" in mapping
    assert not [i for i in at.info if "G = d" in i.value]  # the default G = 4 of d = 8
    at.select_slider(key="cb_G_8").set_value(8).run()
    (note,) = [i.value for i in at.info if "G = d = 8" in i.value]
    assert "sends every value to 0" in note and "G = C is InstanceNorm" in note
    assert any("GroupNorm: no output changed" in m.value or "no output changed" in m.value for m in at.markdown)
