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


@st.cache_data(max_entries=512, show_spinner=False)
def cached_run(placement, depth, dim, heads, norm, batch, seed):
    return gradient_flow.run(
        placement, depth=depth, dim=dim, heads=heads, norm=norm, batch=batch, tokens=TOKENS, seed=seed
    )


st.title("Gradient flow at initialization")
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

c = controls_ui()  # every control of this page is in the URL
ui.share_caption()
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

st.subheader("Each layer's gradient")
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
    + ". Post-LN's gradient is about the same in every layer, whatever L; Pre-LN's (and Peri-LN's) are smaller, "
    "and smaller the deeper the layer sits, because each block adds to a residual stream that keeps growing and "
    "the final norm divides by it. With no norm nothing stops that growth: the gradients are orders of magnitude "
    "larger."
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
    f"log–log slopes: {slopes}. Xiong et al.'s Theorem 1: O(d√ln d) for Post-LN whatever L (slope 0), "
    "O(d√(ln d / L)) for Pre-LN (slope −1/2): the grey lines have the theory's slopes, placed through the data."
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
    "the branches were independent; faster here, as attention makes them alike). The final norm divides by it: "
    "that is why the last layer's gradient falls with depth."
)

st.subheader("Why Post-LN needs warm-up and Pre-LN does not")
st.markdown(
    "An update of W₂ moves the output by about lr · ‖∂loss/∂W₂‖. In Post-LN the gradient near the output is large "
    "and does not shrink with depth, so at the learning rates that suit the rest of training the first steps are "
    "too big and training diverges. Xiong et al. show that a **warm-up** (lr rising from ~0 over the first "
    "thousands of steps) is what keeps those first steps small. In Pre-LN every layer's gradient is already "
    "scaled down by the final norm (∝ 1/√L, the depth chart above), so the first steps are small by "
    "construction and it trains with no warm-up, often at a larger learning rate. Peri-LN (Kim et al. 2025) "
    "also normalizes each branch's output, which keeps the residual stream from being dominated by a few large "
    "branches."
)
st.latex(
    r"\Big\|\frac{\partial \mathcal L}{\partial W_2^{(L)}}\Big\|_F = \mathcal O\big(d\sqrt{\ln d}\big)"
    r"\ \text{(Post-LN)},\qquad \mathcal O\Big(d\sqrt{\tfrac{\ln d}{L}}\Big)\ \text{(Pre-LN)}"
)
