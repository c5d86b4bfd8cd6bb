"""The shared figure builders: what each trace carries is what the arguments said, decoded from the JSON."""

import json

import numpy as np
import pytest

from normviz.core import fits
from normviz.figures import charts, heatmaps
from normviz.figures.style import PALETTE, SERIES_CYCLE
from tests.helpers.figure_data import decode


def _decoded(fig) -> dict:
    return decode(json.loads(fig.to_json()))


def _traces(fig) -> dict[str, dict]:
    return {t["name"]: t for t in _decoded(fig)["data"]}


X = np.array([2.0, 4.0, 8.0, 16.0])


def test_lines_dashes_and_colours_come_from_the_arguments_not_the_names():
    fig = charts.lines_figure(
        X,
        [
            charts.Series("variance", X**-0.5),  # a word that used to make a line dotted
            charts.Series("mean (dotted)", X**-1.0),  # and another
            charts.Series("asked for", X, dash="dot", colour=PALETTE["purple"]),
            charts.reference("c/√B", X**-0.5, dash="dashdot"),
        ],
    )
    t = _traces(fig)
    assert t["variance"]["line"]["dash"] == "solid" and t["mean (dotted)"]["line"]["dash"] == "solid"
    assert t["asked for"]["line"]["dash"] == "dot" and t["asked for"]["line"]["color"] == PALETTE["purple"]
    # unnamed colours follow the cycle by position; a reference is grey, a plain line without markers
    assert [t[n]["line"]["color"] for n in ("variance", "mean (dotted)")] == SERIES_CYCLE[:2]
    ref = t["c/√B"]
    assert (ref["line"]["color"], ref["line"]["dash"], ref["mode"]) == (PALETTE["grey"], "dashdot", "lines")
    assert t["variance"]["mode"] == "lines+markers"


def test_lines_data_equal_the_input_with_own_x_and_error_bars():
    y = np.array([1.0, 0.5, 0.25, 0.125])
    low, high = y - 0.01, y + np.array([0.02, 0.03, 0.04, 0.05])
    fig = charts.lines_figure(
        X,
        [charts.Series("with bars", y, low=low, high=high), charts.Series("one point", [0.3], x=[5.0])],
        xlabel="B",
        ylabel="spread",
        log_x=True,
        log_y=True,
    )
    t = _traces(fig)
    np.testing.assert_array_equal(t["with bars"]["x"], X.astype(np.float32))
    np.testing.assert_array_equal(t["with bars"]["y"], y.astype(np.float32))
    np.testing.assert_allclose(t["with bars"]["error_y"]["array"], high - y, rtol=1e-6)
    np.testing.assert_allclose(t["with bars"]["error_y"]["arrayminus"], y - low, rtol=1e-5)
    np.testing.assert_array_equal(t["one point"]["x"], [5.0])
    assert "error_y" not in t["one point"]
    layout = _decoded(fig)["layout"]
    assert layout["xaxis"]["type"] == "log" and layout["yaxis"]["type"] == "log"
    assert layout["xaxis"]["ticktext"] == ["2", "4", "8", "16"]  # a short log axis is ticked at the data
    assert layout["xaxis"]["title"]["text"] == "B" and layout["yaxis"]["title"]["text"] == "spread"


def test_one_heatmap_builder_linear_and_shared_or_log_and_blank_zeros():
    a = np.array([[0.25, 0.75], [1.0, 0.0]])
    shared = _decoded(
        heatmaps.heatmaps_figure(
            [heatmaps.Heatmap("A", a, ylabel="query"), heatmaps.Heatmap("B", a.T)], zrange=(0, 1), colourbar="w"
        )
    )
    first, second = shared["data"]
    np.testing.assert_array_equal(first["z"], a.astype(np.float32))
    np.testing.assert_array_equal(second["z"], a.T.astype(np.float32))
    assert (first["zmin"], first["zmax"]) == (0, 1) and [t["showscale"] for t in shared["data"]] == [False, True]
    np.testing.assert_array_equal(first["x"], [1, 2])  # rows and columns numbered from 1
    assert [n["text"] for n in shared["layout"]["annotations"]] == ["A", "B"]
    assert shared["layout"]["yaxis"]["title"]["text"] == "query" and shared["layout"]["yaxis2"]["title"]["text"] == ""

    z = np.array([[1.0, 0.0, 0.0], [0.0, 100.0, 0.0]])
    logged = _decoded(heatmaps.heatmaps_figure([heatmaps.Heatmap("J", z, bounds=[1])], log_colour=True))
    (t,) = logged["data"]
    np.testing.assert_array_equal(np.isnan(t["z"]), z == 0)  # exact zeros blank
    np.testing.assert_allclose(t["z"][z > 0], [0.0, 2.0])  # log10 of the rest
    np.testing.assert_array_equal(t["customdata"], z)  # the values themselves, for the hover
    assert (t["zmin"], t["zmax"]) == (0.0, 2.0) and t["showscale"]
    assert len(logged["layout"]["shapes"]) == 2  # one separator across, one down, after row/column 1


def test_heatmap_panels_with_their_own_scales_linear_from_0_and_log():
    a = np.array([[0.4, 0.0], [0.0, 0.75]])
    b = np.array([[0.01, 0.0], [0.0, 2.0]])
    fig = _decoded(
        heatmaps.heatmaps_figure(
            [
                heatmaps.Heatmap("lin", a, log=False, zrange=(0.0, 0.75), colourbar="size", blank_zeros=True),
                heatmaps.Heatmap("log", b, log=True, zrange=(-2.0, 0.301), colourbar="log₁₀"),
            ]
        )
    )
    lin, log = fig["data"]
    np.testing.assert_array_equal(np.isnan(lin["z"]), a == 0)  # zeros blank on the linear scale too
    np.testing.assert_allclose(lin["z"][a > 0], [0.4, 0.75], rtol=1e-6)
    assert (lin["zmin"], lin["zmax"]) == (0.0, 0.75) and lin["colorbar"]["title"]["text"] == "size"
    np.testing.assert_allclose(log["z"][b > 0], [-2.0, np.log10(2.0)], rtol=1e-6)
    assert (log["zmin"], log["zmax"]) == (-2.0, 0.301) and log["colorbar"]["title"]["text"] == "log₁₀"
    assert lin["showscale"] and log["showscale"]  # each panel its own colour bar, beside it
    assert lin["colorbar"]["x"] < log["colorbar"]["x"]


@pytest.mark.parametrize("power", [0.0, -0.5, 1.0])
def test_fits_slope_and_a_theory_line_through_the_data(power):
    x = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    y = 3.0 * x**power * np.array([1.1, 0.9, 1.05, 0.95, 1.0])
    c = fits.power_through(x, y, power)
    np.testing.assert_allclose(np.exp(np.mean(np.log(c * x**power))), np.exp(np.mean(np.log(y))), rtol=1e-12)
    assert fits.slope(x, 3.0 * x**power) == pytest.approx(power, abs=1e-12)


def test_linear_bars_start_at_zero_so_a_one_percent_gap_looks_like_one():
    fig = charts.bars_figure(["1", "2"], [("a", np.array([0.995, 1.01]), "blue")], ylabel="y", reference=("1", 1.0))
    lo, hi = fig.layout.yaxis.range
    assert lo == 0 and 1.01 < hi < 1.2
    neg = charts.bars_figure(["1"], [("a", np.array([-2.0]), "blue")], ylabel="y").layout.yaxis.range
    assert neg[0] < -2 and neg[1] == 0
    assert (
        charts.bars_figure(["1"], [("a", np.array([5.0]), "blue")], ylabel="y", log_y=True).layout.yaxis.range is None
    )


def test_categories_are_discrete_colours_with_a_legend_never_a_colour_bar():
    from normviz.figures import scenes

    pts = np.arange(24, dtype=np.float32).reshape(8, 3)
    cats = np.array([1, 1, 2, 2, 3, 3, 8, 8])
    fig = scenes.sphere_pair_figure(pts, pts, categories=cats, category_label="sequence").to_dict()
    points = fig["data"][0]["marker"]
    assert "colorscale" not in points and not points.get("showscale")
    colours = points["color"]
    assert len(set(colours)) == 4 and colours[0] == colours[1] and colours[1] != colours[2]
    names = [t["name"] for t in fig["data"] if t.get("x") == (None,) or t.get("x") == [None]]
    assert names == ["sequence 1", "sequence 2", "sequence 3", "sequence 8"] and fig["layout"]["showlegend"]
    many = scenes.sphere_pair_figure(pts, pts, categories=np.arange(8)).to_dict()["data"][0]["marker"]
    assert len({(c, s) for c, s in zip(many["color"], many["symbol"], strict=True)}) == 8  # colour x symbol unique


def test_paired_measures_each_have_their_own_colour_and_marker():
    labels = list(charts.PAIRED_COLOURS)
    series = [
        charts.Series(f"{label}: {what}", np.ones(3), dash=dash, symbol=symbol,
                      colour=(charts.PAIRED_COLOURS if i else charts.SERIES_COLOURS)[label])
        for label in labels
        for i, what, dash, symbol in ((0, "sets", "solid", "circle"), (1, "keys", "dot", "square"))
    ]  # fmt: skip
    traces = _decoded(charts.lines_figure(np.arange(3.0), series))["data"]
    colours = [t["line"]["color"] for t in traces]
    assert len(set(colours)) == len(traces) == 6 and set(colours) <= set(PALETTE.values())
    assert [t["marker"]["symbol"] for t in traces] == ["circle", "square"] * 3
    assert [t["line"]["dash"] for t in traces] == ["solid", "dot"] * 3


@pytest.mark.parametrize("lo, hi", [(-1.62, 1.62), (0.0, 37.0), (-35.0, 35.0), (-0.05, 0.05), (2.0, 2.5), (-3, 9)])
def test_3d_ticks_stay_off_the_ends_of_each_axis(lo, hi):
    from normviz.figures.style import inset_ticks

    t = inset_ticks(lo, hi)
    vals = np.array(t["tickvals"])
    span = hi - lo
    assert 2 <= len(vals) <= 4
    assert vals.min() >= lo + 0.12 * span - 1e-9 and vals.max() <= hi - 0.12 * span + 1e-9
    steps = np.diff(vals)
    assert np.allclose(steps, steps[0])  # evenly spaced
    assert [float(s.replace("−", "-")) for s in t["ticktext"]] == pytest.approx(list(vals))


@pytest.mark.parametrize("lo, hi", [(-0.3, 1.7), (-0.5, 2.5), (-4.0, 20.0), (-0.02, 0.09), (-30.0, 170.0)])
def test_a_3d_tick_at_zero_reads_0_not_minus_0(lo, hi):
    # a range whose lowest inner tick is the step 0 · nice: np.ceil of a negative fraction is -0.0
    from normviz.figures.style import inset_ticks

    t = inset_ticks(lo, hi)
    assert 0.0 in t["tickvals"]
    assert "0" in t["ticktext"] and "−0" not in t["ticktext"]
    assert all(np.copysign(1.0, v) == 1.0 for v in t["tickvals"] if v == 0.0)


def test_every_3d_scene_builder_uses_inset_ticks():
    from normviz.figures import scenes, vectors

    pts = np.random.default_rng(0).normal(size=(20, 3))
    figs = [
        scenes.sphere_pair_figure(pts, pts * 3),
        scenes.cloud_figure(pts, pts[0], axis_labels=("a", "b", "c"), ranges=np.array([[-1, 2], [-3, 3], [0, 5]])),
        vectors.keys_figure(pts, pts, np.zeros(20, bool), pts[:4], pts[:5]),
        vectors.jacobian_figure([("x", np.zeros(3), np.ones(3), PALETTE["blue"])]),
    ]
    for fig in figs:
        layout = fig.to_dict()["layout"]
        for scene in [k for k in layout if k.startswith("scene")]:
            for ax in ("xaxis", "yaxis", "zaxis"):
                a = layout[scene][ax]
                lo, hi = a["range"]
                assert all(lo + 0.1 * (hi - lo) < v < hi - 0.1 * (hi - lo) for v in a["tickvals"]), (scene, ax)


def test_the_cube_draws_every_cells_edges_in_a_mid_grey():
    from normviz.figures import cube

    shared = np.zeros((2, 3, 4), bool)
    shared[0, 0] = True
    fig = _decoded(cube.cube_figure([{"title": "LN", "shared": shared, "cell": (0, 0, 1)}]))
    edges = next(t for t in fig["data"] if t["name"] == "cell edges")
    x = np.asarray(edges["x"], dtype=float)
    assert np.isnan(x).sum() == 2 * 3 * 4 * 12 - 1  # 12 edges per cell, a gap between consecutive edges
    grey = int(cube.LATTICE[1:3], 16)
    assert 0x70 <= grey <= 0xA0  # reads on white (#FFFFFF) and on Streamlit's dark #0E1117
    scene = fig["layout"]["scene"]
    for ax, n in (("xaxis", 4), ("yaxis", 3), ("zaxis", 2)):
        lo, hi = scene[ax]["range"]
        assert lo < 0 and hi > n  # room between the box's corners and the first and last ticks


def test_a_long_scene_title_goes_on_two_lines():
    """Two long titles side by side overlapped in a 660 px figure (Real data at 125%, sidebar open)."""
    from normviz.figures import scenes

    pts = np.zeros((3, 3))
    long = ("residual stream x (axes keep 87% of Σ‖x‖²)", "output layernorm(x) (axes keep 91% of Σ‖y‖²)")
    fig = scenes.sphere_pair_figure(pts, pts, titles=long).to_dict()
    assert [a["text"] for a in fig["layout"]["annotations"]] == [
        "residual stream x<br>(axes keep 87% of Σ‖x‖²)",
        "output layernorm(x)<br>(axes keep 91% of Σ‖y‖²)",
    ]
    plain = scenes.sphere_pair_figure(pts, pts, titles=("input: each feature of each sequence, over its T tokens", "y"))
    assert (
        plain.to_dict()["layout"]["annotations"][0]["text"]
        == "input: each feature of each<br>sequence, over its T tokens"
    )
    short = scenes.sphere_pair_figure(pts, pts, titles=("input x (exact coordinates)", "output RMSNorm(x)"))
    assert [a["text"] for a in short.to_dict()["layout"]["annotations"]] == [
        "input x (exact coordinates)",
        "output RMSNorm(x)",
    ]


def test_every_cube_cell_is_a_cube_and_the_block_fills_its_scene_as_a_unit_cube():
    """The block 8 × 6 × 3 drawn with its longest side 1 sat small in its scene, its tick labels crowded."""
    from normviz.figures import cube

    shared = np.zeros((3, 6, 8), dtype=bool)
    fig = _decoded(cube.cube_figure([{"title": "LN", "shared": shared, "cell": (0, 0, 0)}]))
    scene = fig["layout"]["scene"]
    ratio = scene["aspectratio"]
    spans = {ax: np.diff(scene[f"{ax}axis"]["range"])[0] for ax in "xyz"}  # the range each axis draws
    per_unit = {ax: ratio[ax] / spans[ax] for ax in "xyz"}  # drawn length of one cell along each axis
    assert per_unit["x"] == pytest.approx(per_unit["y"]) == pytest.approx(per_unit["z"])
    assert sum(ratio.values()) == pytest.approx(2.7)  # near plotly's own cube (1 + 1 + 1), its labels inside


def test_a_reference_surface_is_drawn_as_lines_on_its_own_grid():
    """The ellipsoid (or ball) and the plane Σy = 0 are wireframes: every drawn point is a point of the library's
    grid, rows and columns of the grid both drawn, and no surface trace (a surface redraws 100-250 ms slower)."""
    from normviz.core import projection
    from normviz.experiments.hypersphere import Reference
    from normviz.figures import scenes

    mesh = projection.sphere_mesh(np.array([0.5, 0.0, -1.0]), np.array([1.0, 2.0, 3.0]))
    plane = tuple(np.asarray(a, dtype=np.float64) for a in np.meshgrid([-2.0, 2.0], [-1.0, 1.0]))
    plane = (plane[0], plane[1], np.zeros((2, 2)))
    pts = np.zeros((4, 3), dtype=np.float32)
    for ref, grid, kind in [(Reference("ellipsoid", mesh=mesh), mesh, "ellipsoid"),
                            (Reference("circle", plane=plane), plane, "plane Σy = 0")]:  # fmt: skip
        data = _decoded(scenes.sphere_pair_figure(pts, pts, reference=ref))["data"]
        assert not [t for t in data if t["type"] in ("surface", "mesh3d")]
        (wire,) = [t for t in data if t.get("name") == kind]
        assert wire["type"] == "scatter3d" and wire["mode"] == "lines" and wire["scene"] == "scene2"
        drawn = np.stack([wire["x"], wire["y"], wire["z"]], axis=1)
        drawn = drawn[~np.isnan(drawn).any(axis=1)]
        on_grid = np.stack([np.ravel(a) for a in grid], axis=1)
        gaps = np.linalg.norm(drawn[:, None, :] - on_grid[None, :, :], axis=2).min(axis=1)
        assert gaps.max() < 1e-5  # float32 of the grid's own points
        rows, cols = np.asarray(grid[0]).shape
        # a full row and a full column of the grid appear as runs of the line
        assert any(
            np.allclose(drawn[i : i + cols], np.stack([a[0] for a in grid], 1), atol=1e-5) for i in range(len(drawn))
        )
        assert any(
            np.allclose(drawn[i : i + rows], np.stack([a[:, 0] for a in grid], 1), atol=1e-5) for i in range(len(drawn))
        )


@pytest.mark.parametrize("n", range(1, 13))
def test_a_cube_axis_labels_at_most_four_cells_evenly_from_the_first(n):
    """All 8 of 8 feature labels ran into each other at the box's far end in presentation mode and at 125% zoom."""
    from normviz.figures import cube

    shared = np.zeros((2, n, n), dtype=bool)
    fig = _decoded(cube.cube_figure([{"title": "LN", "shared": shared, "cell": (0, 0, 0)}]))
    for ax in ("xaxis", "yaxis"):
        a = fig["layout"]["scene"][ax]
        labels = [int(t) for t in a["ticktext"]]
        assert 1 <= len(labels) <= min(4, n) and labels[0] == 1
        gaps = set(np.diff(labels)) or {1}
        assert len(gaps) == 1  # evenly spaced, as a ruler
        (gap,) = gaps
        assert n - labels[-1] < gap  # the labels run to the far end: no unlabelled stretch longer than a gap
        np.testing.assert_allclose(a["tickvals"], np.array(labels) - 0.5)  # each label at its cell's centre
    assert fig["layout"]["scene"]["zaxis"]["ticktext"] == ["1", "2"]
