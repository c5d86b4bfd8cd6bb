"""Jacobian: the gradient LayerNorm and RMSNorm send back to their input, drawn exactly at d = 3."""

import numpy as np
import streamlit as st

import ui
from normviz.core import rounding
from normviz.experiments import jacobian
from normviz.figures import charts, vectors
from normviz.figures.style import PALETTE

ui.require_app()

SCALES = [0.1, 0.15, 0.25, 0.4, 0.6, 1.0, 1.5, 2.5, 4.0, 6.0, 10.0]


def controls_ui() -> dict:
    cols = st.columns([0.9, 1.6, 1, 1, 1])
    norm = cols[0].radio(
        "Norm", list(jacobian.NORMS), format_func=ui.labels.NORMS.get, key="jc_norm", bind=ui.BIND, horizontal=True,
        help="LayerNorm centers and scales; RMSNorm only scales (ε = 0 here: exact).",
    )  # fmt: skip
    upstream = cols[1].selectbox(
        "Output direction g = ∂loss/∂y", list(jacobian.UPSTREAM), format_func=ui.labels.UPSTREAM.get, key="jc_up",
        bind=ui.BIND, help="The gradient arriving at the output y; the page shows what reaches the input x.",
    )  # fmt: skip
    scale = ui.live_slider(
        cols[2], "Input scale s", SCALES, 2.5, key="jc_scale", view="jc_view",
        help="x = s·u: the output y does not move, the input gradient shrinks as 1/s. The view follows the drag.",
    )  # fmt: skip
    azimuth = cols[3].slider(
        "Input azimuth (°)", -180, 180, 10, 5, key="jc_az", bind=ui.BIND, help="Direction u of the input x."
    )
    elevation = cols[4].slider(
        "Input elevation (°)", -85, 85, 5, 5, key="jc_el", bind=ui.BIND, help="Direction u of the input x."
    )
    return {"norm": norm, "upstream": upstream, "scale": scale, "azimuth": azimuth, "elevation": elevation}


@st.cache_data(max_entries=256, show_spinner=False)
def cached_arrows(norm, azimuth, elevation, scale, upstream):
    return jacobian.arrows(norm, azimuth=azimuth, elevation=elevation, scale=scale, upstream=upstream)


@st.cache_data(max_entries=256, show_spinner=False)
def cached_blocked(norm, azimuth, elevation, scale):
    return jacobian.blocked(norm, azimuth=azimuth, elevation=elevation, scale=scale)


@st.cache_data(max_entries=4, show_spinner=False)
def cached_output_set(norm):
    return jacobian.output_set(norm)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_sweep(norm, azimuth, elevation, upstream):
    return jacobian.scale_sweep(norm, azimuth=azimuth, elevation=elevation, upstream=upstream)


def jacobian_view(norm, azimuth, elevation, scale, upstream):
    """The arrows at one input (library numbers), their table and the 3D figure."""
    a = ui.guarded(cached_arrows, norm, azimuth, elevation, scale, upstream)
    ref = cached_output_set(norm)
    name = ui.labels.NORMS[norm]
    arrows = [
        ("input x", [0, 0, 0], a.x, PALETTE["blue"]),
        (f"output y = {name}(x)", [0, 0, 0], a.y, PALETTE["vermillion"]),
        ("upstream g = ∂loss/∂y (at y)", a.y, a.g, PALETTE["orange"]),
        ("∂loss/∂x = Jᵀg (at x)" + ("" if a.shown == 1 else f", drawn at {a.shown:.2f}×"), a.x, a.shown * a.grad_x,
         PALETTE["green"]),
    ]  # fmt: skip
    if norm == "layernorm":
        arrows.insert(1, ("centered input x − μ1", [0, 0, 0], a.centered, PALETTE["purple"]))
    fig = vectors.jacobian_figure(
        arrows, circle=ref.get("circle"), plane=ref.get("plane"), sphere=ref.get("sphere"),
        axis_half=jacobian.VIEW_HALF,
    )  # fmt: skip
    return a, arrows, fig


@st.cache_data(max_entries=64, show_spinner=False)
def cached_frames(norm, azimuth, elevation, upstream, present):
    """The live scale slider's frames: the view at every s, from the same arrows and figure builder."""
    return ui.live_frames({s: jacobian_view(norm, azimuth, elevation, s, upstream)[2] for s in SCALES}, present=present)


def blocked_sentence(blocked: dict[str, float], name: str) -> str:
    """What reaches x for g along y and along 1, from the measured ‖∂loss/∂x‖ of each (0: blocked)."""
    along = [("along y" if k == "radial" else "along 1", v) for k, v in blocked.items()]  # radial, ones
    stop = [name for name, v in along if v == 0]
    passes = [f"{name}, ‖∂loss/∂x‖ = {v:.2f} flows back" for name, v in along if v != 0]
    out = f"Pick the output direction {' or '.join(stop)}: nothing flows back through {name}." if stop else ""
    if passes:
        out += f" For g {'; '.join(passes)}: {name} does not center, so the input can still move its output along 1."
    return out


st.title("The norm's Jacobian, seen")
st.markdown("What reaches the input when a gradient flows back through the norm — every vector drawn exactly at d = 3.")
c = controls_ui()  # every control of this page is in the URL
rev = str(hash(tuple(c.items())))
a, arrows, fig = jacobian_view(c["norm"], c["azimuth"], c["elevation"], c["scale"], c["upstream"])
name = ui.labels.NORMS[c["norm"]]
frames = cached_frames(c["norm"], c["azimuth"], c["elevation"], c["upstream"], ui.present.is_on())
ui.live_view(fig, frames, key="jc_view", control="jc_scale", revision=rev)
ui.export_buttons(
    fig,
    {
        "arrow": np.array([name for name, *_ in arrows]),
        **{f"tail_x{i + 1}": np.array([float(start[i]) for _, start, _, _ in arrows]) for i in range(3)},
        **{f"tip_x{i + 1}": np.array([float(start[i] + vec[i]) for _, start, vec, _ in arrows]) for i in range(3)},
    },
    key="jc_export",
    name="normviz-jacobian",
)
orth = (
    f"cos(∂loss/∂x, 1) = {a.dots['1']:+.1e}, cos(∂loss/∂x, x − μ1) = {a.dots['centered']:+.1e}"
    if c["norm"] == "layernorm"
    else f"cos(∂loss/∂x, x) = {a.dots['centered']:+.1e}; cos(∂loss/∂x, 1) = {a.dots['1']:+.2f} (not 0: no centering)"
)
if a.grad_norm == 0:
    orth = "it has no direction to compare"
st.caption(
    f"Exact coordinates, axes fixed at ±{jacobian.VIEW_HALF:g} so lengths compare as you move the sliders. "
    f"‖∂loss/∂x‖ = {f'{a.grad_norm:.4f}' if a.grad_norm else f'0 ({rounding.NOTE})'}; {orth}. "
    + (
        "LayerNorm's outputs lie on the circle of radius √3 in the plane Σy = 0 (dotted outline)."
        if c["norm"] == "layernorm"
        else "RMSNorm's outputs lie on the sphere of radius √3."
    )
    + " "
    + blocked_sentence(cached_blocked(c["norm"], c["azimuth"], c["elevation"], c["scale"]), name)
)
ui.share_caption()  # under the view: the view comes first

with st.expander("Why: the formula for ∂loss/∂x"):
    st.markdown(
        "Backpropagation sends the output's gradient g = ∂loss/∂y back through the norm: ∂loss/∂x = Jᵀg. At d = 3 "
        "every vector can be drawn exactly. LayerNorm cannot change a token's mean or its scale, so the gradient it "
        "passes back has no component along **1** or along the centered input x − μ1, and it shrinks as 1/‖x − μ1‖."
    )
    st.latex(
        r"\frac{\partial\mathcal L}{\partial x} = \frac{1}{\sigma}"
        r"\Big(g - \bar g\,\mathbf 1 - \frac{y^\top g}{d}\,y\Big)"
        r"\ \ \text{(LayerNorm)},\qquad \frac{1}{\mathrm{rms}(x)}"
        r"\Big(g - \frac{y^\top g}{d}\,y\Big)\ \ \text{(RMSNorm)}"
    )

s, n = cached_sweep(c["norm"], c["azimuth"], c["elevation"], c["upstream"])
vanishes = not n.any()  # a blocked g: exactly 0 at every s (float rounding flushed by the library)
chosen = [] if vanishes else [charts.Series("this s", [a.grad_norm], x=[c["scale"]], colour=PALETTE["vermillion"])]
fig = charts.lines_figure(
    s, [charts.Series("‖∂loss/∂x‖", n, colour=PALETTE["blue"]), *chosen], xlabel="input scale s",
    ylabel="‖∂loss/∂x‖", log_x=True, log_y=not vanishes, height=300,
)  # fmt: skip
ui.plotly_view(fig, key="jc_sweep", revision=rev, link_cameras=False, defer=True)
st.caption(
    "The same input direction scaled by s: the output y and the upstream g stay the same, "
    + (
        f"and this g is blocked: ‖∂loss/∂x‖ is 0 at every s ({rounding.NOTE}; linear axis)."
        if vanishes
        else "the input gradient falls exactly as 1/s (slope −1 on these log–log axes). Big activations get small "
        "gradients through a norm."
    )
)
