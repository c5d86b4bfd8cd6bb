"""Attention: softmax saturation as inputs grow, and keys that can never win (Brody et al. 2023)."""

import numpy as np
import streamlit as st

import ui
from normviz.experiments import attention
from normviz.figures import charts, heatmaps, vectors

ui.require_app()

SCALES = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
KEY_COUNTS = [4, 6, 8, 12, 16, 24, 32, 48, 64]
MODEL_DIM = 8  # the width d of the low-rank head example (Qhull's cost bounds the head to k <= 6)
HEAD_DIMS = [1, 2, 3, 4, 5, 6]


def saturation_ui() -> dict:
    scale, dim, tokens = ui.select_sliders(st.columns(3), [
        ("Input scale s", SCALES, 10.0, "at_scale",
         "Inputs s·x with x ~ N(0, 1): the scores grow like s². The heatmaps show this s; the curves sweep all."),
        ("Width d", [16, 64, 256], 64, "at_dim", "Features per token."),
        ("Tokens T", [8, 16, 32, 64], 32, "at_tokens", "Keys each query chooses among; ln T is uniform."),
    ])  # fmt: skip
    return {"scale": scale, "dim": dim, "tokens": tokens}


def keys_ui() -> dict:
    cols = st.columns(4)
    n, dim, sets = ui.select_sliders(cols[:3], [
        ("Keys n", KEY_COUNTS, 8, "at_n", "Keys per random set; the 3D view draws one set of n keys."),
        ("Key dimension d", [3, 4, 5, 6], 3, "at_kdim",
         "The chart's d (the 3D view is always d = 3). The hull is taken in d − 1 dimensions after projection."),
        ("Random sets", [50, 100, 200], 100, "at_sets", "Key sets per point of the chart."),
    ])  # fmt: skip
    seed = cols[3].number_input(
        "Key set (seed)", 0, 999, 0, key="at_seed", bind=ui.BIND, help="Which random set of keys the 3D view shows."
    )
    return {"n": n, "dim": dim, "sets": sets, "seed": int(seed)}


def _with_and_without_norm(raw: np.ndarray, ln: np.ndarray) -> list[charts.Series]:
    """A saturation curve without a norm and with LayerNorm first."""
    return [
        charts.Series("no norm", raw, colour=charts.SERIES_COLOURS["no norm"]),
        charts.Series("LayerNorm first", ln, colour=charts.SERIES_COLOURS["LayerNorm first"]),
    ]


@st.cache_data(max_entries=32, show_spinner="Softmax at 25 input scales…")
def cached_saturation(dim, tokens):
    return attention.saturation(dim=dim, tokens=tokens)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_maps(scale, dim, tokens):
    return attention.attention_maps(scale, dim=dim, tokens=tokens)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_fraction(n, dim, sets):
    return attention.unselectable_fraction(n=n, dim=dim, sets=sets)


@st.cache_data(max_entries=64, show_spinner="Convex hulls of the keys after a random head map…")
def cached_head(n, head, sets):
    return attention.head_unselectable(n=n, dim=MODEL_DIM, head=head, sets=sets)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_keys(n, seed):
    return attention.keys_view(n=n, seed=seed)


st.title("Attention and normalization")
st.markdown("How large attention scores get, with and without a norm first — and which keys can ever win.")
st.subheader("Softmax saturation")
c = saturation_ui()
sat = ui.guarded(cached_saturation, c["dim"], c["tokens"], stop=False)
if sat is not None:
    cols = st.columns(2)
    uniform = charts.reference("uniform: ln T", np.full(len(sat["scales"]), np.log(c["tokens"])))
    with cols[0]:
        fig = charts.lines_figure(
            sat["scales"], [*_with_and_without_norm(sat["entropy"], sat["entropy_ln"]), uniform],
            xlabel="input scale s", ylabel="attention entropy (nats)", log_x=True, height=320,
        )  # fmt: skip
        ui.plotly_view(fig, key="at_entropy", revision=f"{c['dim']}-{c['tokens']}", link_cameras=False)
    with cols[1]:
        fig = charts.lines_figure(
            sat["scales"], _with_and_without_norm(sat["max_weight"], sat["max_weight_ln"]),
            xlabel="input scale s", ylabel="largest weight per query", log_x=True, height=320,
        )  # fmt: skip
        ui.plotly_view(fig, key="at_max", revision=f"{c['dim']}-{c['tokens']}", link_cameras=False, defer=True)
    st.caption(
        f"Mean over 8 sequences × {c['tokens']} queries, one head, W_q, W_k Xavier-uniform, d = {c['dim']}. "
        "Without a norm the scores grow like s², the entropy falls to 0 and one key takes all the weight (the "
        "softmax saturates: its gradient vanishes). LayerNorm(s·x) = LayerNorm(x), so with the norm first the "
        "curves are flat, apart from ε = 1e-5 at the smallest s."
    )
    ui.share_caption()  # under the charts: the charts come first
    maps = ui.guarded(cached_maps, c["scale"], c["dim"], c["tokens"], stop=False)
    if maps is not None:
        titles = (f"no norm, s = {c['scale']:g}", f"LayerNorm first, s = {c['scale']:g}")
        fig = heatmaps.heatmaps_figure(
            [heatmaps.Heatmap(title, a, xlabel="key", ylabel="" if i else "query",
                              hover="query %{y}, key %{x}: %{customdata:.3f}")
             for i, (title, a) in enumerate(zip(titles, maps, strict=True))],
            zrange=(0, 1), colourbar="weight",
        )  # fmt: skip
        ui.plotly_view(fig, key="at_maps", revision=f"{c['scale']}-{c['dim']}-{c['tokens']}", link_cameras=False,
                       defer=True)  # fmt: skip
        st.caption("One sequence's attention matrix at the chosen s: each row (a query) sums to 1.")

with st.expander("Attention's formula"):
    st.markdown(
        "Attention weights are a softmax of scores q·k/√d. The norm before the projections decides how large "
        "those scores can get, and — Brody et al. 2023 — which keys can ever receive the most attention."
    )
    st.latex(r"a_{ij} = \mathrm{softmax}_j\big(q_i^\top k_j/\sqrt d\big),\quad q_i = W_q x_i,\ k_j = W_k x_j")

st.subheader("Unselectable keys")
st.markdown(
    "A key inside the hull of the others can never get the most attention; on LayerNorm's sphere every key is a corner."
)
k = keys_ui()
frac = {}
bar = st.progress(0.0, text="Convex hulls of the random key sets…")
for i, n in enumerate(KEY_COUNTS):
    r = ui.guarded(cached_fraction, n, k["dim"], k["sets"], stop=False)
    if r is None:
        break
    frac[n] = r
    bar.progress((i + 1) / len(KEY_COUNTS), text=f"n = {n} keys")
bar.empty()
if len(frac) == len(KEY_COUNTS):
    ns = np.array(KEY_COUNTS)
    series = [  # every line its own colour; dash and marker tell the two measures apart as well
        charts.Series(f"{label}: {what}", np.array([frac[n][v][i] for n in KEY_COUNTS]), dash=dash, symbol=symbol,
                      colour=(charts.PAIRED_COLOURS if i else charts.SERIES_COLOURS)[label])
        for v, label in ui.labels.ATTENTION_VARIANTS.items()
        for i, what, dash, symbol in ((0, "sets with one", "solid", "circle"), (1, "share of keys (dotted)", "dot",
                                                                               "square"))
    ]  # fmt: skip
    fig = charts.lines_figure(ns, series, xlabel="keys per set n", ylabel="fraction", log_x=True, height=380)
    ui.plotly_view(fig, key="at_fraction", revision=f"{k['dim']}-{k['sets']}", link_cameras=False, defer=True)
    chosen = frac[k["n"]]
    st.caption(
        f"{k['sets']} random sets of n keys x ~ N(0, I_{k['dim']}) at each n (their Fig. 1). Solid: share of sets "
        "with at least one unselectable key; dotted: share of keys that are unselectable. At n = "
        f"{k['n']}: projection only {chosen['projection'][0]:.0%} of sets, LayerNorm {chosen['layernorm'][0]:.0%}. "
        "Hull corners from Qhull (scipy.spatial.ConvexHull), in the hyperplane's d − 1 coordinates."
    )

view = ui.guarded(cached_keys, k["n"], k["seed"], stop=False)
if view is not None:
    fig = vectors.keys_figure(view.projected, view.normalized, view.unselectable, view.hull, view.circle,
                                       raw=view.raw)  # fmt: skip
    ui.plotly_view(fig, key="at_keys", revision=f"{k['n']}-{k['seed']}")
    ui.export_buttons(
        fig,
        {
            "key": np.arange(1, len(view.raw) + 1),
            **{f"raw_k{i + 1}": view.raw[:, i] for i in range(3)},
            **{f"projected_k{i + 1}": view.projected[:, i] for i in range(3)},
            "unselectable": view.unselectable,
            **{f"layernorm_k{i + 1}": view.normalized[:, i] for i in range(3)},
        },
        key="at_export",
        name="normviz-attention-keys",
    )
    st.caption(
        f"One set of n = {k['n']} keys at d = 3, exact coordinates: raw keys (grey), their projection onto "
        f"the plane Σk = 0 (blue; {int(view.unselectable.sum())} inside the hull, vermillion squares: no query "
        "can make them win), and their LayerNorm outputs on the circle of radius √3 (green): every one a corner, "
        "every one selectable. The first view looks along 1, so the plane is seen face on; turn it to see the raw "
        "keys off the plane."
    )

with st.expander("Why a key inside the hull can never win"):
    st.markdown(
        "A key inside the convex hull of the other keys can never get the most attention: for every query q, "
        "q·k is at most the largest q·k_j of the hull's corners. LayerNorm is a **projection** onto the hyperplane "
        "⟂ 1 and a **scaling** to radius √d; the scaling puts every key on a sphere, where each key is a corner. "
        "That holds for the normalized keys themselves (and after any map that is one-to-one on the hyperplane); "
        "a head's low-rank map can undo it — below the 3D view."
    )

st.markdown(
    "**After a head's map.** Brody et al. state the guarantee for the LayerNorm outputs; a head scores "
    "W_k·LN(x) in d_head dimensions. A map that is one-to-one on the hyperplane ⟂ 1 (rank ≥ d − 1) turns the "
    "sphere into an ellipsoid, where every key is still a corner; a lower-rank map squashes it, and keys fall "
    "back inside the hull."
)
head = st.select_slider(
    "Head dimension k", HEAD_DIMS, value=3, key="at_head", bind=ui.BIND,
    help=f"A random map W (k × {MODEL_DIM}), W_ab ~ N(0, 1), applied to LayerNormed keys in d = {MODEL_DIM}; "
    "one map per random set. Uses the keys n and random sets chosen above.",
)  # fmt: skip
mapped = ui.guarded(cached_head, k["n"], head, k["sets"], stop=False)
if mapped is not None:
    st.markdown(
        f"With n = {k['n']} LayerNormed keys in d = {MODEL_DIM} and a random map to k = {head} dimensions, "
        f"**{mapped[1]:.0%} of the keys are unselectable** ({mapped[0]:.0%} of the {k['sets']} random sets have "
        f"at least one). At k ≥ d − 1 = {MODEL_DIM - 1} the map is one-to-one on the hyperplane and none is."
    )
raw_w, ln_w = attention.uniform_query(n=k["n"], dim=MODEL_DIM)
st.markdown(
    "**The projection's own role** (Brody et al.): every LayerNorm output is ⟂ 1, so a query q along 1 gives "
    "every key the same score q·LN(x_j) = 0 and attends to all keys equally — attention need not learn that "
    f"operation. Measured for the query q = 1 over n = {k['n']} keys in d = {MODEL_DIM}: on the LayerNormed keys "
    f"every weight is 1/n = {1 / k['n']:.3g} (largest deviation {np.abs(ln_w - 1 / k['n']).max():.0e}, float64 "
    f"rounding); on the raw keys the same query's weights run from {raw_w.min():.3g} to {raw_w.max():.3g}."
)
