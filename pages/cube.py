"""The statistics cube: which cells of the (B, T, d) activation block share one mean and variance."""

import numpy as np
import streamlit as st

import ui
from normviz.core import norms
from normviz.experiments import cube
from normviz.figures import cube as cube_figures

ui.require_app()

DEFAULT = ["layernorm", "groupnorm", "instancenorm", "batchnorm"]


def controls_ui() -> dict:
    top = st.columns([3, 1], vertical_alignment="bottom")
    chosen = top[0].pills(
        "Norms", list(cube.CUBE_NORMS), default=DEFAULT, format_func=ui.labels.NORMS.get, selection_mode="multi",
        key="cb_norms", bind=ui.BIND,
        help="Each picked norm gets its own cube; the cameras turn together.",
    )  # fmt: skip
    cols = [top[1].expander("More controls")] * 4  # the block's shape: secondary to the chosen cell
    b = cols[0].slider(
        "Sequences B", 1, 6, 3, key="cb_B", bind=ui.BIND, help="Sequences in the batch (the vertical stack)."
    )
    t = cols[1].slider("Tokens T", 1, 8, 6, key="cb_T", bind=ui.BIND, help="Tokens per sequence.")
    d = cols[2].slider("Features d", 1, 12, 8, key="cb_d", bind=ui.BIND, help="Features per token.")
    divs = norms.divisors(d)
    g = cols[3].select_slider(
        "Groups G (GroupNorm)", divs, value=divs[len(divs) // 2], key=f"cb_G_{d}", bind=ui.BIND,
        disabled="groupnorm" not in chosen,
        help="GroupNorm splits the d features into G groups of d/G contiguous features; G must divide d.",
    )  # fmt: skip
    return {"norms": chosen, "shape": (b, t, d), "groups": g}


st.title("The statistics cube")
st.caption(
    "*Which* cells share a statistic is the whole difference between the norms "
    "(Wu & He 2018, *Group Normalization*, Fig. 2 — drawn here on the token layout)."
)
c = controls_ui()
if not c["norms"]:
    st.info("Pick at least one norm above to draw its cube.", icon=":material/info:")
    st.stop()


def cube_view(c: dict):
    """The cubes of the chosen norms for the chosen cell: their panels, the words for each, the figure."""
    panels, words = [], []
    for name in c["norms"]:
        shared = ui.guarded(cube.shared_cells, name, c["shape"], c["cell"], groups=c["groups"], stop=False)
        if shared is None:
            continue
        title = f"GroupNorm (G = {c['groups']})" if name == "groupnorm" else ui.labels.NORMS[name]
        panels.append({"title": title, "shared": shared, "cell": c["cell"]})
        words.append(f"**{title}**: {cube.describe(name, c['shape'], c['cell'], groups=c['groups'])}.")
    if not panels:
        return panels, words, None
    cols = {1: 1, 2: 2, 4: 2}.get(len(panels), 3)  # scenes of at least a third of the width
    rows = -(-len(panels) // cols)
    return panels, words, cube_figures.cube_figure(panels, cols=cols, height=400 * rows + 40)


@st.fragment
def cube_section(c: dict) -> None:
    """Its own fragment: moving the chosen cell reruns only the cubes and their check."""
    b, t, d = c["shape"]
    cols = st.columns([1.6, 3, 3, 3], vertical_alignment="center")
    cols[0].markdown("**The chosen cell** (the vermillion cube)")
    # the chosen cell's three live sliders (1-based, as a class counts; the key carries n, as ui.index_slider's)
    live = [
        (f"cb_b_{b}", cols[1], "Sequence b", b, 2, "Which sequence the cell is in."),
        (f"cb_t_{t}", cols[2], "Token t", t, 3, "Which token of that sequence."),
        (f"cb_j_{d}", cols[3], "Feature j", d, 5, "Which feature of that token."),
    ]
    cell = [
        ui.live_slider(col, label, range(1, n + 1), min(default, n), key=key, view="cb_cube", help=help_)
        for key, col, label, n, default, help_ in live
    ]
    c = c | {"cell": tuple(v - 1 for v in cell)}
    panels, words, fig = cube_view(c)
    if panels:
        rev = f"{c['norms']}-{c['shape']}-{c['cell']}-{c['groups']}"
        # the frames of the slider a press asks for: the cubes at each of its values, the other two held
        want = ui.live_wanted("cb_cube", {**dict(zip([k for k, *_ in live], cell, strict=True)), **c, "cell": None})
        frames = None
        if want is not None:
            axis = [k for k, *_ in live].index(want)
            at = lambda v: tuple(v - 1 if a == axis else x for a, x in enumerate(c["cell"]))  # noqa: E731
            figs = {v: cube_view(c | {"cell": at(v)})[2] for v in range(1, live[axis][3] + 1)}
            frames = ui.live_frames(figs, present=ui.present.is_on())
        ui.live_view(fig, frames, key="cb_cube", control=want, revision=rev)
        cells = np.indices(c["shape"]).reshape(3, -1)  # (3, B*T*d): b, t, j of every cell
        table = {"b": cells[0] + 1, "t": cells[1] + 1, "j": cells[2] + 1}
        table |= {p["title"]: p["shared"].reshape(-1).astype(np.int8) for p in panels}
        ui.export_buttons(fig, table, key="cb_export", name="normviz-cube")
        b, t, j = (v + 1 for v in c["cell"])
        st.caption(
            f"Each small cube is one activation x[b, t, j]: features run left to right, tokens front to back, and "
            f"each sequence is one horizontal slab. The vermillion cell is x[{b}, {t}, {j}]; the "
            "light-blue cells are "
            "the ones whose mean and variance it shares — change the vermillion value and every highlighted output "
            "changes, while the grey ones cannot. Drag to turn the cubes (they turn together)."
        )
        if "groupnorm" in c["norms"] and c["groups"] == d:
            st.info(
                f"G = d = {d}: each group is one feature of one token, a single value, so GroupNorm sends every "
                "value to 0 (x − μ = 0) on this token layout. In Wu & He's (N, C, H, W) layout G = C is "
                "InstanceNorm instead: one channel pooled over its H·W positions.",
                icon=":material/info:",
            )
        st.markdown("\n".join(f"- {w}" for w in words))

    with st.expander("Check the picture against the maths", icon=":material/fact_check:"):
        st.markdown(
            "For each norm: add 1 to the chosen cell of a random float64 input, run the norm "
            "(`normviz.norms.apply`, "
            "torch's functional ops), and list the outputs that changed. They must be exactly the "
            "highlighted cells."
        )
        for name in c["norms"]:
            shared = ui.guarded(cube.shared_cells, name, c["shape"], c["cell"], groups=c["groups"], stop=False)
            changed = ui.guarded(cube.changed_cells, name, c["shape"], c["cell"], groups=c["groups"], stop=False)
            if shared is None or changed is None:
                continue
            label = ui.labels.NORMS[name]
            if (changed == shared).all():
                st.markdown(
                    f":material/check_circle: **{label}**: {int(changed.sum())} outputs changed — "
                    "exactly the highlighted set."
                )
            elif not changed.any() and shared.sum() == 1 and name != "dyt":
                st.markdown(
                    f":material/info: **{label}**: no output changed: a statistic over one value is that "
                    "value itself, "
                    "so every output is (x − x)/√ε = 0 whatever the input."
                )
            else:
                st.error(
                    f"{label}: {int(changed.sum())} outputs changed but {int(shared.sum())} cells are highlighted."
                )
        st.markdown(
            "DyT (Zhu et al. 2025) takes no statistics at all: `γ·tanh(αx) + β` acts on each value alone, "
            "so only the chosen cell changes."
        )


cube_section(c)
ui.share_caption()
with st.expander("What a normalization layer computes", icon=":material/functions:"):
    st.markdown(
        "A transformer layer holds its activations as a block **x** of B sequences × T tokens × d features. "
        "A normalization layer computes a mean and a variance over some cells of that block and uses them to "
        "standardize those same cells."
    )
with st.expander("From Wu & He's (N, C, H, W) to the token layout (B, T, d)", icon=":material/swap_horiz:"):
    st.markdown(
        "Wu & He drew an image batch: N samples × C channels × H·W positions. On the token layout the features d "
        "play the channels C, and the tokens play two different roles:\n"
        "- **LayerNorm, RMSNorm, GroupNorm** treat each token as a *sample* (N ↔ B·T tokens, no positions): "
        "their statistics stay inside one token.\n"
        "- **InstanceNorm, BatchNorm** treat the tokens as the *pooled positions* (N ↔ B sequences, H·W ↔ T "
        "tokens): InstanceNorm pools feature j over the T tokens of one sequence, BatchNorm over all B·T.\n\n"
        "So GroupNorm's G = d is not InstanceNorm here. In Wu & He's layout G = C *is* InstanceNorm (one channel "
        "over its H·W positions); on the token layout a group of one feature holds one value of one token, and "
        "G = d sends every value to 0."
    )
