"""Gradient flow: where the norm sits decides how gradients reach each layer at initialization."""

import numpy as np
import streamlit as st

import ui
from normviz.experiments import gradient_flow
from normviz.figures import charts

ui.require_app()

TOKENS = 16  # tokens per sequence of the synthetic task


def controls_ui() -> dict:
    cols = st.columns([1.2, 1.2, 1, 1, 1, 1])
    norm = cols[0].selectbox(
        "Norm", list(gradient_flow.NORMS), format_func=ui.labels.NORMS.get, key="gf_norm", bind=ui.BIND,
        help="The normalization in every norm position (γ = 1, β = 0, ε = 1e-5). RMSNorm skips the centering.",
    )  # fmt: skip
    depth = cols[1].slider(
        "Depth L", 1, 48, 12, key="gf_depth", bind=ui.BIND,
        help="Blocks in the stack for the layer-by-layer charts. The depth chart sweeps L = 1 … 48 on its own.",
    )  # fmt: skip
    dim, heads, batch = ui.select_sliders(cols[2:5], [
        ("Width d", [16, 32, 64, 128, 256], 64, "gf_dim", "Features per token. FFN hidden width is 4d."),
        ("Heads", [1, 2, 4, 8], 4, "gf_heads",
         "Attention heads; each gets d / heads features (every choice divides every d offered)."),
        ("Batch", [1, 2, 4, 8, 16], 8, "gf_batch",
         f"Sequences of {TOKENS} tokens in the synthetic task; the loss averages over all of them."),
    ])  # fmt: skip
    seeds = cols[5].slider(
        "Seeds", 1, 8, 2, key="gf_seeds", bind=ui.BIND,
        help="Independent initializations (and task draws); charts show the mean, bars the min … max.",
    )  # fmt: skip
    shown = st.pills(
        "Placements", list(ui.labels.PLACEMENTS), format_func=ui.labels.PLACEMENTS.get, selection_mode="multi",
        default=["post", "pre", "peri"], key="gf_placements", bind=ui.BIND,
        help="Which norm placements to build and compare. With no norm the gradients are 10³–10⁵× larger (add it to "
        "see), which squeezes the other curves together on the shared axis.",
    )  # fmt: skip
    return {"norm": norm, "depth": depth, "dim": dim, "heads": heads, "batch": batch, "seeds": seeds,
            "placements": list(shown or [])}  # fmt: skip


def layers_table(view: gradient_flow.FlowView, placements: list[str]) -> dict[str, np.ndarray]:
    """The layer chart's points: layer l, and per placement the seed mean (and min, max) of ‖∂loss/∂W₂‖."""
    table = {"layer": view.layers}
    for p in placements:
        label = gradient_flow.LABELS[p]
        lo, hi = view.grads_range[label]
        table |= {f"grad_{p}_mean": view.grads[label], f"grad_{p}_min": lo, f"grad_{p}_max": hi}
    return table


def placement_series(curves: dict[str, np.ndarray], ranges: dict | None = None) -> list[charts.Series]:
    """One line per placement label, in its colour; ``ranges``: label -> (min, max) over seeds, as error bars."""
    out = []
    for label, y in curves.items():
        low, high = ranges[label] if ranges else (None, None)
        out.append(charts.Series(label, y, colour=charts.SERIES_COLOURS[label], low=low, high=high))
    return out


def trend_sentence(label: str, t: gradient_flow.Trend, depth: int) -> str:
    """How one curve of the layer chart goes, in words, from the measured numbers."""
    if depth == 1:
        return f"{label}: {t.first:#.2g}."
    if t.direction == "flat":
        return (f"{label}'s stays between {t.low:#.2g} (layer {t.low_layer}) and {t.high:#.2g} (layer {t.high_layer}); "
                f"layer {depth} / layer 1 = {t.ratio:.2f}.")  # fmt: skip
    return f"{label}'s {t.direction} from {t.first:#.2g} at layer 1 to {t.last:#.2g} at layer {depth} (×{t.ratio:.2f})."


def paper_comparison(trends: dict[str, gradient_flow.Trend], depth: int) -> str:
    """The paper's Fig. 3 beside what this model measures with these settings, and the mechanism."""
    here = []
    for label, paper in (("Post-LN", "rises"), ("Pre-LN", "flat")):
        if label in trends and depth > 1:
            t = trends[label]
            agree = "as in the paper" if t.direction == paper else "unlike the paper"
            if label == "Post-LN" and t.direction == "flat":
                agree = "far flatter than in the paper's figure"
            went = "stays about flat" if t.direction == "flat" else t.direction
            here.append(f"{label}'s {went} (layer {depth} / layer 1 = {t.ratio:.2f}), {agree}")
    if {"Post-LN", "Pre-LN"} <= set(trends):
        pre, post = trends["Pre-LN"].first, trends["Post-LN"].first
        side = "above" if pre > post else "below"
        here.append(f"Pre-LN's layer-1 gradient, {pre:#.2g}, is {side} Post-LN's, {post:#.2g}")
    measured = f" With these settings this model measures: {'; '.join(here)}." if here else ""
    return (
        "Xiong et al. (2020, Fig. 3 and §3.3) report that at initialization Post-LN's FFN-weight gradient grows "
        "towards the last layer, while Pre-LN's stays about the same across layers." + measured + "\n\n"
        "Pre-LN's final norm cannot make a trend across layers: its 1/‖x_L‖ multiplies every layer's gradient "
        "alike. The trend comes on the way down. The gradient reaching layer l has passed back through every block "
        "above it, and each block adds to the residual path's identity its branch's Jacobian, which reads x_k "
        "through a norm and so scales as 1/‖x_k‖ (the Jacobian page). The stream grows with depth (the "
        "hidden-state chart below), so the low blocks, where it is still small, add the most, and the first layers "
        "get the largest gradients: the gradient-magnitude mismatch that NormFormer (Shleifer et al. 2021) reports "
        "for Pre-LN and counters with extra norms."
    )


@st.cache_data(max_entries=512, show_spinner=False)
def cached_run(placement, depth, dim, heads, norm, batch, seed):
    return gradient_flow.run(
        placement, depth=depth, dim=dim, heads=heads, norm=norm, batch=batch, tokens=TOKENS, seed=seed
    )


st.title("Gradient flow at initialization")
st.markdown("Where the norm sits in a block decides how large each layer's gradient is before any training.")
c = controls_ui()  # every control of this page is in the URL
rev = str(hash(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in c.items())))
if not c["placements"]:
    st.info("Pick at least one placement above.", icon=":material/info:")
    st.stop()

jobs = [(p, s) for p in c["placements"] for s in range(c["seeds"])]
bar = st.progress(0.0, text="Building the stacks and back-propagating…")
results: dict[str, list] = {}
for i, (p, s) in enumerate(jobs):
    r = ui.guarded(cached_run, p, c["depth"], c["dim"], c["heads"], c["norm"], c["batch"], s)
    results.setdefault(p, []).append(r)
    bar.progress((i + 1) / len(jobs), text=f"{ui.labels.PLACEMENTS[p]}, seed {s} ({i + 1} of {len(jobs)} stacks)")
bar.empty()
view = ui.guarded(gradient_flow.combine, results, dim=c["dim"])

fig = charts.lines_figure(
    view.layers, placement_series(view.grads, view.grads_range if c["seeds"] > 1 else None), xlabel="layer l",
    ylabel="‖∂loss/∂W₂‖ of layer l", log_y=True,
)  # fmt: skip
ui.plotly_view(fig, key="gf_layers", revision=rev, link_cameras=False)
ui.export_buttons(fig, layers_table(view, c["placements"]), key="gf_export", name="normviz-gradient-flow")
st.caption(
    f"Mean over {c['seeds']} seed(s) of the Frobenius norm of ∂loss/∂W₂ for each layer's FFN output weight, "
    f"L = {c['depth']}, d = {c['dim']}, {c['heads']} heads, {ui.labels.NORMS[c['norm']]}"
    + (" (bars: min … max over seeds)" if c["seeds"] > 1 else "")
    + ". "
    + " ".join(trend_sentence(label, t, c["depth"]) for label, t in view.trends.items())
    + (" With no norm nothing stops the stream's growth: the gradients are orders of magnitude larger."
       if "none" in c["placements"] else "")
)  # fmt: skip
ui.share_caption()  # under the view: the view comes first
with st.expander("What Xiong et al. report, and why Pre-LN's gradient falls here"):
    st.markdown(paper_comparison(view.trends, c["depth"]))
with st.expander("The four placements: Post-LN, Pre-LN, Peri-LN, none"):
    st.markdown(
        "Where the norm sits in a transformer block decides how large each layer's gradient is before any "
        "training (Xiong et al. 2020, *On Layer Normalization in the Transformer Architecture*). A stack of "
        "blocks — multi-head attention and a ReLU FFN, each in a residual branch, Xavier init, dropout 0 — is "
        "built with the norm in one of four places, and one backward pass measures every layer."
    )
    st.latex(
        r"\textbf{Post: } x \leftarrow N(x + F(x)) \qquad \textbf{Pre: } x \leftarrow x + F(N(x)) \qquad "
        r"\textbf{Peri: } x \leftarrow x + N(F(N(x))) \qquad \textbf{none: } x \leftarrow x + F(x)"
    )
with st.expander("The synthetic task"):
    st.markdown(
        f"Tokens x ~ N(0, 1) of shape (batch, {TOKENS}, d); a fixed random readout W_out (512 × d, Xavier) after "
        "the stack (and, for Pre-LN and Peri-LN, after a final norm); fixed random class targets; loss = mean "
        "cross-entropy. Layer i's weights come from its own seed, so the first L layers of a deeper stack are "
        "exactly the L-layer stack. The measured weight is each block's FFN output matrix W₂ (Xiong et al.'s "
        "choice): ‖∂loss/∂W₂‖_F. The no-norm stack runs in float64 (its gradients overflow float32 past ~25 layers)."
    )

st.subheader("The last layer's gradient against depth")
dashes = charts.REFERENCE_DASHES
theory = [charts.reference(name, y, dash=dashes[j % 3]) for j, (name, y) in enumerate(view.references.items())]
fig = charts.lines_figure(
    view.depths, [*placement_series(view.last), *theory], xlabel="depth L", ylabel="last layer's ‖∂loss/∂W₂‖",
    log_x=True, log_y=True,
)  # fmt: skip
ui.plotly_view(fig, key="gf_depths", revision=rev, link_cameras=False, defer=True)
slopes = ", ".join(f"{k} {v:+.2f}" for k, v in view.slopes.items())
st.caption(
    f"Measured at L = {', '.join(str(int(v)) for v in view.depths)} (mean of {c['seeds']} seed(s)); fitted "
    f"log–log slopes: {slopes}. Xiong et al.'s Theorem 1 bounds this gradient from above (under the paper's "
    "assumptions): O(d√ln d) for Post-LN whatever L (slope 0), O(d√(ln d / L)) for Pre-LN (slope −1/2). The grey "
    "lines have the bounds' slopes, placed through the data."
)

st.subheader("The hidden state's norm")
fig = charts.lines_figure(
    np.arange(len(view.layers) + 1),
    [*placement_series(view.hidden), charts.reference("√d", np.full(len(view.layers) + 1, view.sqrt_d))],
    xlabel="after layer l (0 = input)", ylabel="mean ‖x_l‖ over tokens", log_y=True,
)  # fmt: skip
ui.plotly_view(fig, key="gf_hidden", revision=rev, link_cameras=False, defer=True)
st.caption(
    f"Post-LN ends every sublayer with a norm, so each token leaves each block at ‖x‖ = √d = {view.sqrt_d:.1f}. "
    "Pre-LN (and Peri-LN) add each branch to an unnormalized residual stream whose norm keeps growing (like √L if "
    "the branches were independent; faster here, as attention makes them alike). The final norm divides by "
    "‖x_L‖: that is why the last layer's gradient falls with the depth L (the depth chart). Within one stack it "
    "divides every layer's gradient alike, so it makes no trend across the layers."
)

st.subheader("Warm-up")
with st.expander("Warm-up: the hypothesis and two cautions"):
    st.markdown(
        "Xiong et al. *hypothesize* that Post-LN needs a learning-rate **warm-up** (lr rising from ~0 over the first "
        "thousands of steps) because its gradients near the output are large at initialization, so at the learning "
        "rate that suits the rest of training its first updates are too big; they show that Pre-LN trains without "
        "warm-up, often at a larger learning rate. Two cautions: they train with Adam, whose step divides the "
        "gradient by a running root-mean-square of it, so it is not proportional to ‖∂loss/∂W₂‖; and RAdam "
        "(Liu et al. 2020) removes the need for warm-up by rectifying the variance of Adam's adaptive learning rate "
        "in the first steps instead. Peri-LN (Kim et "
        "al. 2025) also normalizes each branch's output, which keeps the residual stream from being dominated by a "
        "few large branches."
    )
    st.latex(
        r"\Big\|\frac{\partial \mathcal L}{\partial W_2^{(L)}}\Big\|_F = \mathcal O\big(d\sqrt{\ln d}\big)"
        r"\ \text{(Post-LN)},\qquad \mathcal O\Big(d\sqrt{\tfrac{\ln d}{L}}\Big)\ \text{(Pre-LN)}"
        r"\qquad\text{(Theorem 1's upper bounds, the last layer)}"
    )
