"""Coupling: perturb one token's input and see which outputs move — the exact Jacobian of each norm."""

import numpy as np
import streamlit as st

import ui
from normviz.core import inputs, norms
from normviz.experiments import coupling
from normviz.figures import charts, heatmaps, scenes
from ui import real_blocks, real_inputs, token_pools

ui.require_app()

DIMS = [3, 4, 8, 16, 32, 64]


def controls_ui() -> dict:
    cols = st.columns([2, 3, 2, 2, 2, 2])
    norm = cols[0].selectbox(
        "Norm", list(norms.NORMS), format_func=ui.labels.NORMS.get, key="cp_norm", bind=ui.BIND,
        index=norms.NORMS.index("batchnorm"), help="Which norm to differentiate.",
    )  # fmt: skip
    kind = cols[1].selectbox(
        "Input distribution", [*inputs.KINDS, *real_blocks.KINDS], format_func=ui.labels.KINDS.get, key="cp_kind",
        bind=ui.BIND, help=real_blocks.kind_help(
            f"B sequences with at least T real tokens each, cut to T (no padding), B·T·d ≤ {coupling.MAX_JACOBIAN:,}"
        ),
    )  # fmt: skip
    b = cols[2].slider("Sequences B", 1, 8, 4, key="cp_B", bind=ui.BIND, help="Sequences in the batch.")
    t = cols[3].slider("Tokens T", 1, 16, 8, key="cp_T", bind=ui.BIND, help="Tokens per sequence.")
    d = cols[4].select_slider(
        "Features d", DIMS, value=16, key="cp_d", bind=ui.BIND,
        help=f"Features per token. The exact Jacobian has (B·T·d)² entries: B·T·d is capped at "
        f"{coupling.MAX_JACOBIAN:,}.",
    )  # fmt: skip
    divs = norms.divisors(d)
    g = cols[5].select_slider(
        "Groups G", divs, value=divs[len(divs) // 2], key=f"cp_G_{d}", bind=ui.BIND, disabled=norm != "groupnorm",
        help="GroupNorm's number of groups (a divisor of d).",
    )  # fmt: skip
    cols = st.columns(2)
    pb = ui.index_slider(cols[0], "Probe token: sequence", b, 1, key="cp_pb", help="The token whose input moves.")
    pt = ui.index_slider(cols[1], "Probe token: position", t, 3, key="cp_pt", help="Its position in the sequence.")
    spec = real_blocks.pool_ui("cp_", kind)  # a real pool's own controls (capture point, text, file)
    probe = (pb - 1) * t + pt - 1
    return {"norm": norm, "kind": kind, "batch": b, "tokens": t, "dim": d, "groups": g, "probe": probe, "spec": spec}


JACOBIAN = "Differentiating every output with respect to every input"
MOTION = "Sliding the probe token"


@real_inputs.cache_view(max_entries=32, show_spinner=False)  # ui.heavy shows JACOBIAN with its progress
def cached_coupling(norm, kind, batch, tokens, dim, groups_, probe, spec=None):
    if spec is not None:  # real tokens: a block of the pool (token_pools.get raises until it is captured)
        pool = token_pools.get(spec)
        return coupling.real_coupling(norm, pool, batch=batch, tokens=tokens, dim=dim, groups=groups_, probe=probe)
    return coupling.coupling(norm, kind, batch=batch, tokens=tokens, dim=dim, groups=groups_, probe=probe)


@real_inputs.cache_view(max_entries=32, show_spinner=False)
def cached_motion(norm, kind, batch, tokens, dim, groups_, probe, direction, spec=None):
    if spec is not None:
        pool = token_pools.get(spec)
        return coupling.real_motion(norm, pool, batch=batch, tokens=tokens, dim=dim, groups=groups_, probe=probe,
                                    direction=direction)  # fmt: skip
    return coupling.motion(
        norm, kind, batch=batch, tokens=tokens, dim=dim, groups=groups_, probe=probe, direction=direction
    )


@real_inputs.cache_view(max_entries=32, show_spinner=False)
def cached_motion_frames(norm, kind, batch, tokens, dim, groups_, probe, direction, spec, present):
    """The live displacement slider's frames: the motion view at every step s, from the same cached slide."""
    mo = cached_motion(norm, kind, batch, tokens, dim, groups_, probe, direction, spec)
    return ui.live_frames({i: _motion_figure(mo, i) for i in range(len(mo.steps))}, present=present)


def _motion_figure(mo, k: int):
    """Every token's output at step k (dots) and over the whole slide (lines)."""
    roles = (mo.sequence != mo.sequence[mo.probe]).astype("int8") + 1  # 1 = same sequence, 2 = other
    roles[mo.probe] = 0
    return scenes.motion_figure(mo.paths[k], mo.paths, roles, axis_labels=mo.basis.labels)


def _colour(scale) -> dict:
    """A panel's colour scale as the library chose it: log₁₀ over ≥ a decade, else linear from 0."""
    bar = "log₁₀" if scale.log else "size"
    return {"log": scale.log, "zrange": scale.zrange, "colourbar": bar, "blank_zeros": True}


def _scale_words(scale) -> str:
    if scale.log:
        return f"log colour scale: the non-zero values span {scale.decades:.1f} decades"
    return f"linear colour from 0: the non-zero values span less than a decade (×{10**scale.decades:.2f})"


st.title("Coupling: who moves when one token moves")
st.markdown("Which outputs move when one token's input moves: each norm's exact Jacobian, block by block.")
c = controls_ui()
real_blocks.wait_for(c["kind"], c["spec"])  # a real pool: its file, or its capture's progress
fitted = real_blocks.fit(c["spec"], batch=c["batch"], tokens=c["tokens"], dim=c["dim"])
c |= {"probe": real_blocks.probe_for(c["probe"], c["tokens"], fitted), "tokens": fitted.tokens,
      "batch": fitted.batch, "dim": fitted.dim, "groups": real_blocks.groups_for(c["groups"], fitted.dim)}  # fmt: skip
n_tok = c["batch"] * c["tokens"]
cp = ui.guarded(
    ui.heavy, cached_coupling, c["norm"], c["kind"], c["batch"], c["tokens"], c["dim"], c["groups"], c["probe"],
    c["spec"], label=JACOBIAN, stop=False,
)  # fmt: skip
label = ui.labels.NORMS[c["norm"]] + (f" (G = {c['groups']})" if c["norm"] == "groupnorm" else "")
rev = f"{c}"
if cp is not None:
    pb, pt = divmod(c["probe"], c["tokens"])
    scales = [coupling.colour_scale(cp.tokens), coupling.colour_scale(cp.features)]
    fig = heatmaps.heatmaps_figure(
        [
            heatmaps.Heatmap(
                f"tokens: ‖∂y_j/∂x_i‖ ({n_tok} × {n_tok})",
                cp.tokens,
                xlabel="input token i (sequence by sequence)",
                ylabel="output token j",
                hover="output token %{y} ← input token %{x}: %{customdata:.4g}",
                bounds=[k * c["tokens"] for k in range(1, c["batch"])],
                **_colour(scales[0]),
            ),
            heatmaps.Heatmap(
                f"inside the probe: |∂y_k/∂x_l| ({c['dim']} × {c['dim']})",
                cp.features,
                xlabel="input feature l",
                ylabel="output feature k",
                hover="output feature %{y} ← input feature %{x}: %{customdata:.4g}",
                **_colour(scales[1]),
            ),
        ],
        height=460,
    )
    ui.plotly_view(fig, key="cp_heat", revision=rev, link_cameras=False)
    j, i = np.indices(cp.tokens.shape).reshape(2, -1)  # every (output, input) token pair
    table = {"output_token": j + 1, "input_token": i + 1, "block_norm": cp.tokens.reshape(-1)}
    ui.export_buttons(fig, table, key="cp_export", name="normviz-coupling")
    moved = int(cp.coupled.sum()) - 1
    st.caption(
        f"Left: row j, column i is the size of the d × d block ∂y_j/∂x_i ({_scale_words(scales[0])}); blank cells are "
        f"exactly 0 — autodiff found no path from that input to that output. Dotted lines separate sequences. "
        f"{label}: {ui.labels.COUPLING_PATTERNS[c['norm']]}. The probe (sequence {pb + 1}, token {pt + 1}) moves "
        f"{moved} other token{'s' if moved != 1 else ''} of the {n_tok}. Right: the probe's own d × d block "
        f"({_scale_words(scales[1])})." + real_blocks.source_words(c["spec"], fitted)
    )
ui.share_caption()

with st.expander("How this is computed: the formula"):
    st.markdown(
        "Every normalization layer is a function of the whole block x: (B, T, d). Which outputs can change when one "
        "token's input changes is read off its Jacobian — computed here exactly, by automatic differentiation "
        "(`torch.func.jacrev`), for every output and every input of a small batch."
    )
    st.latex(r"C_{ji} = \Big\|\frac{\partial y_j}{\partial x_i}\Big\|_F \qquad (y_j, x_i \in \mathbb{R}^d;\ "
             r"i, j \text{ run over all } B\cdot T \text{ tokens})")  # fmt: skip


@st.fragment
def motion_section(c: dict, label: str, rev: str) -> None:
    """Its own fragment: the displacement slider reruns only this section, not the Jacobian above."""
    n_tok = c["batch"] * c["tokens"]
    st.subheader("Move one token, watch the others")
    cols = st.columns([2, 3])
    direction = cols[0].radio(
        "Direction", coupling.DIRECTIONS, horizontal=True, key="cp_dir", bind=ui.BIND,
        format_func=ui.labels.DIRECTIONS.get,
        help="The probe's input slides along this unit vector. Along the all-ones axis only its mean changes: "
        "LayerNorm removes the mean, so the probe's own LayerNorm output stays put.",
    )  # fmt: skip
    mo = ui.guarded(
        ui.heavy, cached_motion, c["norm"], c["kind"], c["batch"], c["tokens"], c["dim"], c["groups"], c["probe"],
        direction, c["spec"], label=MOTION, stop=False,
    )  # fmt: skip
    if mo is not None:
        steps = [round(float(s), 2) + 0.0 for s in mo.steps]  # + 0.0: no "-0.0" label
        s_value = ui.live_slider(
            cols[1], "Displacement s (in probe RMS units)", steps, steps[len(steps) // 2], key="cp_s",
            view="cp_motion", help="The probe's input is x + s·rms(x)·u. The trails show every output over the whole "
            "slide; the dots follow the drag.",
        )  # fmt: skip
        k = steps.index(s_value)
        fig = _motion_figure(mo, k)
        args = (c["norm"], c["kind"], c["batch"], c["tokens"], c["dim"], c["groups"], c["probe"], direction, c["spec"])
        frames = cached_motion_frames(*args, ui.present.is_on())  # the view at every s, one cached call
        ui.live_view(fig, frames, key="cp_motion", control="cp_s", revision=f"{rev}-{direction}-{k}")
        still = int(mo.still.sum())
        st.caption(
            f"Every token's {label} output while the probe's input slides from s = {steps[0]} to "
            f"{steps[-1]}; dots are "
            f"the outputs at s = {s_value}, lines their whole paths. {n_tok - still} of {n_tok} outputs move "
            f"(measured in all d = {c['dim']} features, not read off the view); {still} stay put "
            "(to float64 rounding, below 1e-9·√d). "
            + (
                "View: exact coordinates."
                if mo.basis.method == "exact"
                else "View: the 3 directions in which the outputs move most (principal components of the "
                f"displacements y_i(s) − y_i(0); they keep {mo.kept:.0%} of the motion)."
            )
        )
        names = [f"{b + 1}·{t + 1}" for b in range(c["batch"]) for t in range(c["tokens"])]
        bars = charts.bars_figure(
            names, [("largest move of the output over the slide", mo.moved, "blue")],
            xlabel="token (sequence·position)",
            ylabel="max ‖y_i(s) − y_i(0)‖", log_y=True, floor=1e-12, height=280,
        )  # fmt: skip
        ui.plotly_view(bars, key="cp_moved", revision=f"{rev}-{direction}", link_cameras=False, defer=True)
        st.caption(
            "How far each token's output moves over the whole slide, measured in all d features (log "
            "scale; an exact 0 "
            "is drawn at 1e-12). Small moves that the 3D view cannot show are visible here."
        )


motion_section(c, label, rev)
