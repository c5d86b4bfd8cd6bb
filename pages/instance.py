"""Instance: InstanceNorm as torch defines it — each feature over the tokens of one sequence."""

import streamlit as st

import ui
from normviz.core import inputs, rounding
from normviz.experiments import instance
from normviz.figures import charts, scenes
from ui import real_blocks, real_inputs, token_pools

ui.require_app()

TOKENS = list(range(2, 33))  # T: the live slider's values


def controls_ui() -> dict:
    cols = st.columns([3, 2, 2, 2])
    kind = cols[0].selectbox(
        "Input distribution", [*inputs.KINDS, *real_blocks.KINDS], format_func=ui.labels.KINDS.get, key="in_kind",
        bind=ui.BIND, help=real_blocks.kind_help(
            "B sequences with at least T real tokens, cut to T for the view; the padding charts take B sequences "
            "whole, padded to the longest, with their own mask"
        ),
        index=inputs.KINDS.index("shifted"),
    )  # fmt: skip
    b = cols[1].slider("Sequences B", 1, 8, 4, key="in_B", bind=ui.BIND, help="Sequences are normalized independently.")
    t = ui.live_slider(
        cols[2], "Tokens per sequence T", TOKENS, 3, key="in_T", view="in_view", url_format=str,
        help="Each feature is standardized over these T tokens. T = 3 is drawn exactly (a circle). "
        "The view follows the drag.",
    )  # fmt: skip
    d = cols[3].select_slider(
        "Features d",
        [2, 4, 8, 16, 32, 64, 128],
        value=64,
        key="in_d",
        bind=ui.BIND,
        help="Each feature is one point in the view.",
    )
    spec = real_blocks.pool_ui("in_", kind)  # a real pool's own controls (capture point, text, file)
    return {"kind": kind, "batch": b, "tokens": t, "dim": d, "spec": spec}


@real_inputs.cache_view(max_entries=32, show_spinner="InstanceNorm over each sequence…")
def cached_view(kind, batch, tokens, dim, spec=None):
    if spec is not None:  # real sentences, cut to T tokens (token_pools.get raises until the pool is captured)
        return instance.real_view(token_pools.get(spec), batch=batch, tokens=tokens, dim=dim)
    return instance.instance_view(kind, batch=batch, tokens=tokens, dim=dim)


def instance_figure(v, tokens: int):
    """The 3D view: each feature of each sequence as a point in token space, before and after."""
    if tokens <= 3:
        # short: a 3D scene writes its z title up its vertical edge, into the y title when long (projector type)
        labels = tuple(f"token {i + 1}" if i < tokens else "(none: T = 2)" for i in range(3))
    else:
        labels = ("all-tokens axis 1/√T", "PC 1 (⟂ 1)", "PC 2 (⟂ 1)")
    return scenes.sphere_pair_figure(
        v.before, v.after, categories=v.sequence + 1, category_label="sequence", axis_labels=labels,
        titles=("input: each feature of each sequence, over its T tokens", "InstanceNorm output"),
        reference=v.reference,
    )  # fmt: skip


@st.cache_data(max_entries=16, show_spinner="InstanceNorm at every T…")
def cached_frames(kind, batch, dim, spec, present):
    """The live T slider's frames: the view at every T, from the same cached views and figure builder
    (synthetic inputs only: a real pool lowers T to what its sentences hold, so its T slider reruns on release)."""
    figs = {t: instance_figure(cached_view(kind, batch, t, dim, spec), t) for t in TOKENS}
    return ui.live_frames(figs, present=present)


@real_inputs.cache_view(max_entries=32, show_spinner="Padding…")
def cached_padding(kind, batch, tokens, dim, pad_value, spec=None):
    if spec is not None:  # real sentences whole, padded to the longest, with their mask
        return instance.real_padding(token_pools.get(spec), batch=batch, dim=dim, pad_value=pad_value)
    return instance.padding(kind, batch=batch, tokens=tokens, dim=dim, pad_value=pad_value)


st.title("InstanceNorm couples a sequence's tokens")
st.caption("torch's InstanceNorm on the token layout standardizes **each feature over the T tokens of one sequence**.")
c = controls_ui()
real_blocks.wait_for(c["kind"], c["spec"])  # a real pool: its file, or its capture's progress
fitted = real_blocks.fit(c["spec"], batch=c["batch"], tokens=c["tokens"], dim=c["dim"])
c |= {"batch": fitted.batch, "tokens": fitted.tokens, "dim": fitted.dim}  # what a real pool can give
v = ui.guarded(cached_view, c["kind"], c["batch"], c["tokens"], c["dim"], c["spec"])
rev = f"{c['kind']}-{c['batch']}-{c['tokens']}-{c['dim']}"
fig = instance_figure(v, c["tokens"])
# the T slider's frames, once a press asks for them, while the other controls hold
want = ui.live_wanted("in_view", {k: x for k, x in c.items() if k != "tokens"}) if c["spec"] is None else None
args = (c["kind"], c["batch"], c["dim"], c["spec"], ui.present.is_on())
frames = ui.guarded(cached_frames, *args, stop=False) if want else None
ui.live_view(fig, frames, key="in_view", control=want, revision=rev)
table = {"sequence": v.sequence + 1}
table |= {f"input_axis{i + 1}": v.before[:, i] for i in range(3)}
table |= {f"output_axis{i + 1}": v.after[:, i] for i in range(3)}
ui.export_buttons(fig, table, key="in_export", name="normviz-instance")
st.markdown(
    "Turn the picture of LayerNorm around: instead of a token being a point in feature space, let each *feature* "
    "of one sequence be a point in *token space* R^T. InstanceNorm puts every such point on the sphere of radius "
    "√T inside the hyperplane Σₜ = 0 — LayerNorm's geometry with tokens and features swapped."
)
if c["tokens"] == 3:
    where = "exact coordinates (a feature's values at tokens 1, 2, 3): every output lies on the drawn circle"
elif c["tokens"] == 2:
    where = "exact coordinates: every output is one of the two points (1, −1), (−1, 1)"
else:
    where = (
        f"axis 1 is the all-tokens direction, axes 2–3 the top principal components inside Σₜ = 0 "
        f"(they keep {v.kept_after:.0%} of Σ‖y‖²); every output projects into the disk of radius √T"
    )
st.caption(
    f"Each point is one feature j of one sequence b: its values at the T = {c['tokens']} tokens. "
    f"{c['batch']} sequences × {c['dim']} features = {c['batch'] * c['dim']} points, coloured by sequence. "
    f"View: {where}. "
    f"Measured on every point: max |mean over tokens| = {v.max_abs_mean:.2g}; variance over tokens in "
    f"[{v.var_range[0]:.6f}, {v.var_range[1]:.6f}] (σ²/(σ²+ε), so 1 minus a hair)."
    + real_blocks.source_words(c["spec"], fitted)
)
ui.share_caption()
with st.expander("Formula and code"):
    st.latex(
        r"y_{b,t,j} = \frac{x_{b,t,j} - \mu_{b,j}}{\sqrt{\sigma^2_{b,j} + \varepsilon}},\quad "
        r"\mu_{b,j} = \tfrac{1}{T}\sum_{t=1}^{T} x_{b,t,j},\quad "
        r"\sigma^2_{b,j} = \tfrac{1}{T}\sum_t (x_{b,t,j}-\mu_{b,j})^2"
    )
    ui.code_line(
        "y = F.instance_norm(x.transpose(1, 2)).transpose(1, 2)",
        lead="In torch, x: (B, T, d) → (B, d, T), features as channels:",
    )

st.subheader("Does InstanceNorm normalize each token on its own?")
st.markdown(
    "A common sentence in tutorials says so. torch's InstanceNorm does not: it couples the tokens of a "
    "sequence. Measured here: add 1 to every feature of **token 2 of sequence 1** and see how far the output of "
    "**token 1** moves."
)
m = st.columns(3)
m[0].metric(
    "InstanceNorm: token 1 moves", f"{v.neighbour_shift:.3g}",
    help="‖Δy‖ of token 1 when only token 2's input changed: the means and variances of its features "
    "over the sequence changed.",
)  # fmt: skip
m[1].metric(
    "InstanceNorm: token 1 of sequence 2", f"{v.other_sequence_shift:.3g}" if c["batch"] > 1 else "—",
    help="Sequences never share statistics under InstanceNorm, so this is exactly 0 (needs B ≥ 2).",
)  # fmt: skip
m[2].metric(
    "The claim (LayerNorm, no γ, β): token 1", f"{v.neighbour_shift_ln:.3g}",
    help="Normalizing each token over its own d features is LayerNorm without affine parameters: "
    "no other token can move it.",
)  # fmt: skip
T, d = c["tokens"], c["dim"]
if v.unbatched_warning:
    torch_said = (
        f"Here T = {T} ≠ d = {d}, so torch **warns**: *{v.unbatched_warning}*; with `affine=True` it "
        + (f"**raises**: *{v.unbatched_affine_error}*" if v.unbatched_affine_error else "runs without a word")
        + ". Set T = d to see the real trap: then torch says nothing at all."
    )
else:
    torch_said = (
        f"Here T = d = {d}, so torch is **silent** — no warning, and `affine=True` runs too"
        + (f" (it raised: *{v.unbatched_affine_error}*)" if v.unbatched_affine_error else ", applying γⱼ to token j")
        + ": that is the real trap. With T ≠ d it at least warns that the input's size at dim 0 does not match "
        "num_features (and raises with `affine=True`)."
    )
st.markdown(
    "So the claim describes **LayerNorm without γ and β**, not InstanceNorm. A trap that makes it *look* true: "
    "`nn.InstanceNorm1d(d)` fed one unbatched sequence of shape (T, d) reads it as T channels of length d and "
    "normalizes each token over its features — LayerNorm. Measured on sequence 1: "
    f"max |InstanceNorm1d(d)(x[0]) − F.layer_norm(x[0], (d,))| = **{v.unbatched_vs_layernorm:.2g}**. "
    f"{torch_said} Always pass (B, d, T). See every norm's coupling pattern on the **Coupling** page."
)

st.subheader("Padding: masked against counted")
pad_label = st.radio(
    "Pad tokens hold", list(instance.PAD_VALUES), horizontal=True, key="in_pad", bind=ui.BIND,
    help="What sits in the padded positions: zeros, or ±10 garbage standing in for a pad embedding.",
)  # fmt: skip
p = (
    None
    if real_blocks.no_padding(c["spec"])
    else ui.guarded(
        cached_padding,
        c["kind"],
        c["batch"],
        c["tokens"],
        c["dim"],
        instance.PAD_VALUES[pad_label],
        c["spec"],
        stop=False,
    )
)
if p is not None:
    seq = [f"{i + 1} ({n} real)" for i, n in enumerate(p.lengths)]
    charts_of = (  # (key, masked, counted, what the y axis measures)
        ("in_pad_mean", p.mean_masked, p.mean_counted, "median |mean over real tokens|"),
        ("in_pad_var", p.var_masked, p.var_counted, "median |variance over real tokens − 1|"),
    )
    for col, (key, masked, counted, ylabel) in zip(st.columns(2), charts_of, strict=True):
        with col:
            fig = charts.bars_figure(
                seq, [("pads masked", masked, "blue"), ("pads counted", counted, "vermillion")],
                ylabel=ylabel, xlabel="sequence",
            )  # fmt: skip
            ui.plotly_view(fig, key=key, revision=f"{rev}-{pad_label}", link_cameras=False, defer=True)
    st.caption(
        "Sequence b keeps its first tokens real and pads the rest. With a mask (`normviz.norms.apply(..., mask=)`: "
        "statistics over real tokens only) the features of every sequence have mean 0 and variance 1 over its real "
        "tokens, whatever the pads hold (medians over the d features: with very few real tokens a feature whose "
        "values nearly agree has σ² near ε and a variance σ²/(σ² + ε) below 1). "
        "Counting the pads (plain `F.instance_norm`) lets them pollute both: "
        f"the real tokens' outputs move by up to {p.real_shift.max():.3g}. A sequence without padding is "
        "unaffected. "
        + (
            f"Bars are on a linear scale; a value below 1e-12 of its chart's largest is drawn as exactly 0 "
            f"({rounding.NOTE}): the masked means are 0 in exact arithmetic. Hover a bar for its value."
            if any(p.rounded)
            else "Bars are on a linear scale. Hover a bar for its value."
        )
    )
