"""Real data: the residual stream entering each norm of a real transformer, or your own activations.

The file is named like its URL (real-data): a fresh server's first visitor opening a shared link runs
Streamlit's pages-directory mode, which finds a page by its file name (see ui.require_app).
"""

import html
from collections import Counter

import numpy as np
import streamlit as st

import ui
from normviz.experiments import real_data
from normviz.figures import charts, scenes
from normviz.io import capture
from normviz.io.real_input import ModelInput
from ui import real_inputs

ui.require_app()

MAX_TOKENS = [16, 32, 64, 128]
EPS = [1e-12, 1e-6, 1e-5, 1e-3, 0.1]


def controls_ui() -> tuple[dict, object]:
    """The bar above the view (source, capture point's slot, projection, γ β) and a "More controls" expander."""
    bar = st.columns([2.0, 3.0, 1.7, 2.5])
    more = st.expander("More controls: text, model, uploads", icon=":material/tune:")
    left, right = more.columns([3, 2])
    source = bar[0].radio(
        "Activations from", list(ui.labels.MODEL_SOURCES), format_func=ui.labels.MODEL_SOURCES.get, key="rd_source",
        bind=ui.BIND,
        help="MiniLM (all-MiniLM-L6-v2, a 6-layer post-LN BERT, d = 384) ships with the app: nothing is "
        "downloaded. Another model: a local directory or a Hugging Face id (needs it cached or a connection). "
        "Upload: your own activations.",
    )  # fmt: skip
    model_id = left.text_input(
        "Model (local directory or Hugging Face id)", "gpt2", key="rd_model", bind=ui.BIND,
        disabled=source != "other",
        help="Loaded with transformers.AutoModel; every nn.LayerNorm and *RMSNorm module is captured.",
    )  # fmt: skip
    text = left.text_area(
        "Text (one sequence per sentence)", capture.DEFAULT_TEXT, height=150, key="rd_text", bind=ui.BIND,
        disabled=source == "upload", help="Split into sentences at . ! ? and line breaks; each is one sequence.",
    )  # fmt: skip
    max_tokens = left.select_slider(
        "Max tokens per sentence", MAX_TOKENS, value=64, key="rd_maxtok", bind=ui.BIND,
        disabled=source == "upload", help="Longer sentences are truncated; shorter ones padded (padding is masked).",
    )  # fmt: skip
    own = bar[3].toggle(
        "Model's γ, β", value=True, key="rd_own", bind=ui.BIND, disabled=source == "upload",
        help="Apply the model's own γ and β after normalizing. On: the output is exactly what the model computes. "
        "Off: plain normalization (γ = 1, β = 0) with the model's ε, to see the sphere before the affine stretches it.",
    )  # fmt: skip
    norm = right.radio(
        "Norm for uploads", ["LayerNorm", "RMSNorm"], key="rd_norm", bind=ui.BIND, disabled=source != "upload",
        horizontal=True, help="Uploaded activations carry no norm: pick which one to apply (γ = 1, β = 0).",
    )  # fmt: skip
    eps = right.select_slider(
        "ε for uploads", EPS, value=1e-5, key="rd_eps", bind=ui.BIND, disabled=source != "upload",
        format_func=lambda e: f"{e:g}", help="Models use their own ε (MiniLM: 1e-12).",
    )  # fmt: skip
    method = bar[2].radio(
        "Projection", list(ui.labels.PROJECTIONS), format_func=ui.labels.PROJECTIONS.get, key="rd_method", bind=ui.BIND,
        help="All-ones axis + 2 PCs shows the mean direction LayerNorm removes; top 3 PCs keep the most variance.",
    )  # fmt: skip
    c = dict(source=source, model_id=model_id.strip(), text=text, max_tokens=max_tokens, own=own, norm=norm,
             eps=eps, method=method)  # fmt: skip
    return c, bar[1]


@st.cache_data(max_entries=16, show_spinner="Measuring every capture point…")
def layer_view(source, text, max_tokens):
    cap = real_inputs.captured(source, text, max_tokens)
    stats = real_data.layer_stats([cap.real(k) for k in range(len(cap))])
    return cap.names, cap.kinds, cap.weights, cap.biases, cap.eps, stats


@real_inputs.cache_view(max_entries=32, show_spinner="Normalizing and projecting…")
def point_view(spec, kind, own, eps, method):
    """spec: a ModelInput or an UploadInput this session holds."""
    x = real_inputs.real_tokens(spec)[0]  # (N, d)
    weight = bias = None
    labels = ()
    if isinstance(spec, ModelInput):
        cap = real_inputs.captured(spec.source, spec.text, spec.max_tokens)
        if own:
            weight, bias = cap.weights[spec.point], cap.biases[spec.point]
        labels = tuple(f"sentence {b + 1}: {tok}" for b, toks in enumerate(cap.tokens) for tok in toks)
    view = real_data.real_view(x, kind=kind, weight=weight, bias=bias, eps=eps, method=method, labels=labels)
    mas = real_data.massive(x)
    words = [lab.split(": ", 1)[1] for lab in labels] if labels else []
    carriers = Counter(words[i] for i in np.flatnonzero(mas.hit)) if words else Counter()
    return view, mas, carriers.most_common(6)


st.title("Real data")
st.markdown("A real transformer's tokens as they enter a norm (left) and after the model's own norm (right).")
c, point_slot = controls_ui()
source = {"minilm": capture.MINILM, "other": c["model_id"]}.get(c["source"])
if source is not None:
    layers = ui.guarded(layer_view, source, c["text"], c["max_tokens"])
    names, kinds, weights, biases, epss, stats = layers
    point = point_slot.slider(
        "Capture point (which norm's input)", 0, len(names) - 1, min(2, len(names) - 1), key="rd_point",
        bind=ui.BIND, help="Norm modules in the order the forward pass calls them: for MiniLM the embeddings' "
        "LayerNorm, then per layer the attention-output and the feed-forward-output LayerNorm (post-LN).",
    )  # fmt: skip
    spec = ModelInput(source, c["text"], point, c["max_tokens"])
    real_inputs.release(st.session_state, "rd_")  # an upload made before is no longer shown
    kind, eps = kinds[point], epss[point]
    point_slot.caption(
        f"Capture point {point}: {ui.labels.module_html(names[point])} — {html.escape(kind)}, ε = {eps:g}.",
        unsafe_allow_html=True,
    )
else:
    with st.container(border=True):
        got = real_inputs.upload_ui("rd_")
    if got is None:
        ui.share_caption()
        st.stop()
    spec, kind, eps = got[0], c["norm"], c["eps"]

res = ui.guarded(point_view, spec, kind, c["own"] and isinstance(spec, ModelInput), eps, c["method"])
view, mas, carriers = res
affine = isinstance(spec, ModelInput) and c["own"]
label = f"{kind}{' with its γ, β' if affine else ''}"
fig = scenes.real_pair_figure(view, label)
revision = str(hash((spec, kind, c["own"], eps, c["method"])))
ui.plotly_view(fig, key="rd_view", revision=revision)
ui.export_buttons(
    fig,
    {
        "token": view.shown,
        **{f"x_axis{i + 1}": view.before[:, i] for i in range(3)},
        **{f"y_axis{i + 1}": view.after[:, i] for i in range(3)},
        "log10_norm_x": view.color,
    },
    key="rd_export",
    name="normviz-real-data",
)
ui.share_caption()  # under the view here: the bar above already holds two rows
d = view.basis.dim
st.caption(
    f"{view.before.shape[0]:,} of {view.n_tokens:,} real tokens drawn (padding excluded), coloured by "
    f"log₁₀‖x‖. Axes ({', '.join(view.basis.labels)}) are fitted on the outputs and shared by both scenes; "
    f"coordinates are exact dot products, the rest of each {d}-dimensional vector is hidden. A token far from "
    "the others on the left usually carries a massive activation (below). "
    + (
        "With the model's γ and β the outputs leave the sphere: γ stretches it into an ellipsoid, β moves it."
        if affine
        else f"Without γ, β every {kind} output has length √d = {d**0.5:.4g} (up to ε)."
    )
)
with st.expander("What is shown, and the norm's formula"):
    st.markdown(
        "The **residual stream** of a real transformer, captured with forward pre-hooks on every norm module: "
        "each point is one token's vector as it enters that LayerNorm, for your text. On the right, the same "
        "tokens after the model's own norm. Or upload activations from your own model."
    )
    formula = st.container()
mant, _, exp = f"{eps:.0e}".partition("e")
eps_tex = ("" if mant == "1" else mant + r" \cdot ") + f"10^{{{int(exp)}}}"  # 1e-12 -> 10^{-12}
if kind.endswith("RMSNorm"):
    rms = r"y = \gamma \odot \frac{x}{\sqrt{\tfrac{1}{d}\sum_i x_i^2 + \varepsilon}}"
    formula.latex(rms + rf",\quad \varepsilon = {eps_tex}")
else:
    formula.latex(
        r"y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta" + rf",\quad \varepsilon = {eps_tex}"
    )

st.subheader("Massive activations")
ui.plotly_view(
    charts.massive_figure(mas.peak, mas.features, mas.threshold),
    key="rd_massive", revision=revision, link_cameras=False, defer=True,
)  # fmt: skip
if mas.features.size:
    top = ", ".join(f"{j} (max |x| = {mas.peak[j]:.4g})" for j in mas.features[:5])
    st.markdown(
        f"**{mas.features.size} massive feature(s)** here: {top}. The median |x| is {mas.median_abs:.3g}, so these "
        f"are over {mas.peak[mas.features[0]] / mas.median_abs:,.0f}× larger. They appear in {mas.tokens_hit:,} of "
        f"{mas.n_tokens:,} tokens, where they carry a median **{mas.variance_share:.1%}** of the token's variance. "
        f"LayerNorm divides by that variance, so those tokens' outputs are pinned: the massive feature comes out "
        f"near ±√d = ±{d**0.5:.3g} (median {mas.ln_value:.3g}) and every other feature near 0 — the outputs of "
        f"those tokens have mean pairwise cosine **{mas.cos_hit:.3f}**"
        + (f" (the other tokens: {mas.cos_rest:.3f})" if mas.cos_rest == mas.cos_rest else "")
        + ": one fixed point, whatever the token (Sun et al. 2024)."
        + (
            " The tokens that carry them: " + ", ".join(f"`{w}` ×{n}" for w, n in carriers) + " (Sun et al. "
            "found them at the starting token and at delimiters such as '.' and [SEP])."
            if carriers
            else ""
        )
    )
else:
    st.markdown(f"No massive feature at this capture point: the largest |x| is {mas.peak.max():.3g}.")
st.caption(
    f"Rule: a value is massive when |x| ≥ {real_data.RATIO:g} × the median |x| of this capture point "
    f"and |x| ≥ {real_data.FLOOR:g} (here ≥ {mas.threshold:.3g}, dashed). Sun et al. (2024) use > 100 and "
    "about 1000× the median on LLMs; a 6-layer MiniLM's largest values are a few hundred."
)

if isinstance(spec, ModelInput):
    st.subheader("Every capture point: the all-ones axis")
    ui.plotly_view(
        charts.layers_figure(list(names), stats, current=point),
        key="rd_layers", revision=revision, link_cameras=False, defer=True,
    )  # fmt: skip
    spread = real_data.random_angle_std(d)
    st.caption(
        "Left: the angle between each token's residual vector and the all-ones axis 1, the direction LayerNorm "
        "removes (median and 10–90 % of tokens; 90° = orthogonal). Right: the share of ‖x‖² the mean component "
        f"carries, d·μ²/‖x‖² = cos²θ. Measured here: median angles {stats.angle_median.min():.1f}° to "
        f"{stats.angle_median.max():.1f}°, 10–90 % of tokens within {stats.angle_q10.min():.1f}°–"
        f"{stats.angle_q90.max():.1f}°; the mean carries at most {stats.share_q90.max():.2%} of ‖x‖² for 90 % of "
        "tokens, so LayerNorm's mean subtraction removes little of these vectors. For scale: a random vector with "
        f"independent zero-mean entries in d = {d} lies at 90° ± {spread:.1f}° from 1 (std ≈ 1/√d rad) — "
        "near-orthogonality is what high dimension gives any vector without a common offset. The green line marks "
        "the capture point shown above."
    )
    with st.expander("Does this explain why RMSNorm works?", icon=":material/help:"):
        st.markdown(
            "Not by itself: the angle says how much the mean subtraction changes *these* inputs, not what a model "
            "trained without it would do. Zhang & Sennrich (2019, *Root Mean Square Layer Normalization*) give "
            "their own argument: they hypothesize that LayerNorm's re-centering invariance is dispensable and "
            "that its re-scaling invariance is what helps; RMSNorm keeps only the re-scaling (it divides by the "
            "RMS, with no mean), and their experiments show quality comparable to LayerNorm's with 7 %–64 % less "
            "running time."
        )
    st.subheader("The model's own γ, β and ε")
    g, b = weights[point], biases[point]
    ui.plotly_view(
        charts.affine_figure(None if g is None else g.numpy(), None if b is None else b.numpy()),
        key="rd_affine", revision=revision, link_cameras=False, defer=True,
    )  # fmt: skip
    st.caption(
        f"{ui.labels.module_html(names[point])}: ε = {eps:g}"
        + (
            f"; γ from {float(g.min()):.3g} to {float(g.max()):.3g} (mean {float(g.mean()):.3g})"
            if g is not None
            else ""
        )
        + (f"; β from {float(b.min()):.3g} to {float(b.max()):.3g}" if b is not None else "; no β (RMSNorm)")
        + ". After normalizing, feature j is multiplied by γⱼ and shifted by βⱼ.",
        unsafe_allow_html=True,
    )
