"""Groups: GroupNorm splits each token into G sub-vectors, each normalized on its own sphere."""

import numpy as np
import streamlit as st

import ui
from normviz.core import inputs, norms
from normviz.experiments import groups
from normviz.figures import charts, multiples
from ui import real_inputs

ui.require_app()

DIMS = [2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256]
TOKENS = [256, 1024, 2048, 4096, 8192]


KINDS = (*inputs.KINDS, "real", "upload")


def controls_ui() -> dict:
    cols = st.columns([3, 2, 2, 2])
    kind = cols[0].selectbox(
        "Input distribution", KINDS, format_func=ui.labels.KINDS.get, key="gn_kind", bind=ui.BIND,
        help=ui.labels.KIND_HELP + "\n\n**Real**: the residual stream entering one of MiniLM's LayerNorms for the "
        "text below (d = 384), or your own activations file; every real token is used.",
    )  # fmt: skip
    real = real_inputs.real_input_ui("gn_", kind)
    if kind == "upload" and real is None:
        st.stop()  # the uploader says what to upload
    d_synthetic = cols[1].select_slider(
        "Features d", DIMS, value=12, key="gn_dim", bind=ui.BIND, disabled=real is not None,
        help="Features per token (set by the data for real inputs).",
    )  # fmt: skip
    d = d_synthetic if real is None else ui.guarded(real_inputs.real_dim, real)
    divs = norms.divisors(d)
    default = next((g for g in divs if d // g == 3), divs[len(divs) // 2])  # group size 3: exact circles
    g = ui.live_slider(
        cols[2], "Groups G", divs, default, key=f"gn_G_{d}", view="gn_groups",
        help=f"Only divisors of d = {d} are offered: GroupNorm needs d/G equal groups. "
        "G = 1 is LayerNorm; G = d normalizes each feature alone (every output 0). The view follows the drag.",
    )  # fmt: skip
    n = cols[3].select_slider(
        "Tokens", TOKENS, value=2048, key="gn_tokens", bind=ui.BIND, disabled=real is not None,
        help="Every statistic uses all of them (real inputs: all real tokens).",
    )  # fmt: skip
    return {"kind": kind, "dim": d, "groups": g, "tokens": n, "real": real}


@real_inputs.cache_view(max_entries=32, show_spinner="GroupNorm, group by group…")
def cached_view(kind, tokens, dim, groups_, real):
    if real is not None:
        return groups.group_view_of(real_inputs.real_tokens(real), groups=groups_)
    return groups.group_view(kind, tokens=tokens, dim=dim, groups=groups_)


@real_inputs.cache_view(max_entries=16, show_spinner="GroupNorm at every G…")
def cached_frames(kind, tokens, dim, real, present):
    """The live G slider's frames: the view at every divisor G, from the same cached views and figure builder."""
    views = {g: cached_view(kind, tokens, dim, g, real) for g in norms.divisors(dim)}
    return ui.live_frames({g: groups_figure(v) for g, v in views.items()}, present=present)


def groups_figure(v):
    """One 3D scene per group shown (small multiples), each on its own basis."""
    panels = []
    for p in v.panels:
        lo, hi = p.features[0] + 1, p.features[1] + 1
        feats = f"feature {lo}" if lo == hi else f"features {lo}–{hi}"
        loud = " (loudest)" if p.group == v.loudest and v.outstanding else ""
        panels.append(
            {
                "title": f"group {p.group + 1}: {feats}{loud}",
                "points": p.points,
                "color": p.color,
                "reference": p.reference,
                "labels": p.basis.labels,
            }
        )
    cols_ = {4: 2}.get(len(panels), min(3, len(panels)))  # scenes at least a third of the width
    height = 400 * -(-len(panels) // cols_) + 20
    return multiples.small_multiples_figure(
        panels, cols=cols_, height=height, color_label="log₁₀ ‖x_g‖ (input group length)"
    )


st.title("Groups: GroupNorm's product of spheres")
st.caption(
    "GroupNorm cuts each token's d features into G contiguous groups of s = d/G and runs a LayerNorm on each "
    "group separately."
)
c = controls_ui()
v = ui.guarded(cached_view, c["kind"], c["tokens"], c["dim"], c["groups"], c["real"])
s = v.size

if v.groups == 1:
    st.info(
        f"**G = 1 is LayerNorm**: one group holds all d = {v.dim} features. Measured: "
        f"max |GroupNorm(1) − LayerNorm| = {v.ln_max_diff:.2g} over all {v.n_tokens * v.dim:,} values "
        "(float32 rounding).",
        icon=":material/info:",
    )
elif v.groups == v.dim:
    st.warning(
        f"**G = d sends every value to 0** (measured max |y| = {v.max_abs:.3g}): each group holds one feature, "
        "whose mean is the feature itself, so x − μ = 0. Nothing is left to show. (That is this token layout, "
        "where a group of one feature holds one value of one token. In Wu & He's (N, C, H, W) layout G = C is "
        "InstanceNorm: one channel over its H × W positions; the token analogue pools feature j over the T tokens "
        "of a sequence — the InstanceNorm page.)",
        icon=":material/warning:",
    )

rev = str(hash(tuple(c.items())))  # lets browser tests see which run a view shows
fig = groups_figure(v)
# the G slider's frames, once a press asks for them, while the other controls hold
want = ui.live_wanted("gn_groups", {k: x for k, x in c.items() if k != "groups"})
args = (c["kind"], c["tokens"], c["dim"], c["real"], ui.present.is_on())
frames = ui.guarded(cached_frames, *args, stop=False) if want else None
ui.live_view(fig, frames, key="gn_groups", control=want, revision=rev)
table = {
    "group": np.concatenate([np.full(len(p.points), p.group + 1) for p in v.panels]),
    **{f"axis{i + 1}": np.concatenate([p.points[:, i] for p in v.panels]) for i in range(3)},
    "log10_input_group_length": np.concatenate([p.color for p in v.panels]),
}
ui.export_buttons(fig, table, key="gn_export", name="normviz-groups")
st.markdown(
    "So each group's sub-vector lands on **its own sphere of radius √s, inside its own "
    "hyperplane Σ = 0** — the token as a whole lies on a product of G spheres."
)
shown = ", ".join(str(p.group + 1) for p in v.panels)
if s == 1:
    view = "every sub-vector is the single number 0"
elif s <= 3:
    view = (
        "exact coordinates of the group's features, nothing projected: "
        + ("each output sub-vector is one of the two points (1, −1), (−1, 1)" if s == 2 else
           "every output sub-vector lies on the drawn circle of radius √3 in the plane y₁ + y₂ + y₃ = 0")
    )  # fmt: skip
else:
    kept = min(p.kept for p in v.panels)
    view = (
        f"axis 1 is the group's all-ones direction, axes 2–3 its top two principal components inside Σ = 0; "
        f"every sub-vector projects into the disk of radius √s = {s**0.5:.3g} (the 3 axes keep at least "
        f"{kept:.0%} of Σ‖y_g‖²)"
    )
st.caption(
    f"One 3D scene per group (groups {shown} of G = {v.groups}; the loudest input group is always drawn), "
    f"each showing that group's {s}-dimensional output sub-vector for up to 1,500 tokens, coloured by the input "
    f"sub-vector's length. View: {view}. The cameras turn together."
)

ui.share_caption()
with st.expander("Formula and code"):
    st.latex(
        r"y_{g,k} = \frac{x_{g,k} - \mu_g}{\sqrt{\sigma_g^2 + \varepsilon}},\quad "
        r"\mu_g = \tfrac{1}{s}\sum_{k=1}^{s} x_{g,k},\quad \textstyle\sum_k y_{g,k} = 0,\ \ \|y_g\| \approx \sqrt{s}"
    )
    ui.code_line(
        "y = F.group_norm(x.reshape(B * T, d), G).reshape(B, T, d)",
        lead="In torch, tokens as samples and features as channels:",
    )
st.subheader("Exact per-group lengths and means")
hist = charts.histograms_figure(
    [
        {"title": "group length ‖y_g‖ (every token, every group)", "hist": v.radius_hist,
         "marks": [(s**0.5, f"√s = {s**0.5:.4g}")], "xlabel": "‖y_g‖"},
        {"title": "group mean (1/s)Σₖ y_g,k", "hist": v.mean_hist, "marks": [(0.0, "0")], "xlabel": "mean"},
    ]
)  # fmt: skip
ui.plotly_view(hist, key="gn_hist", revision=rev, link_cameras=False, defer=True)
rh = v.radius_hist
st.caption(
    f"All {v.n_tokens:,} tokens × {v.groups} groups, no projection. Length: min {rh.minimum:.6g}, max "
    f"{rh.maximum:.6g} (√s = {s**0.5:.6g}; a group whose variance is tiny next to ε = 1e-5 lands slightly inside)."
)

st.subheader("A huge feature dominates only its own group")
labels = [str(i + 1) for i in range(v.groups)]
left, right = st.columns(2)
with left:
    bars = charts.bars_figure(
        labels, [("input RMS of the group", v.input_rms, "grey")], ylabel="RMS of x in the group", xlabel="group",
        log_y=True,
    )  # fmt: skip
    ui.plotly_view(bars, key="gn_input", revision=rev, link_cameras=False, defer=True)
with right:
    bars = charts.bars_figure(
        labels,
        [("GroupNorm", v.energy_gn, "blue"), ("LayerNorm (G = 1)", v.energy_ln, "vermillion")],
        ylabel="mean ‖y_g‖² / s", xlabel="group", reference=("1 = a fair share", 1.0),
    )  # fmt: skip
    ui.plotly_view(bars, key="gn_energy", revision=rev, link_cameras=False, defer=True)
if c["kind"] == "massive":
    here = (
        f"Here group {v.loudest + 1} holds a massive activation: one feature, huge only in token 0 of each "
        f"sequence of {inputs.SEQUENCE} (Sun et al. 2024). Averaged over all tokens LayerNorm's bars hardly move; "
        f"token by token, LayerNorm gives group {v.loudest + 1} over half of the output in {v.ln_dominated:.1%} of "
        f"tokens (the massive ones are 1 in {inputs.SEQUENCE}, {1 / inputs.SEQUENCE:.1%}; the rest by chance)."
    )
elif v.outstanding:
    here = (
        f"Here group {v.loudest + 1} holds a feature that is huge in every token (outlier features, Dettmers et al. "
        f"2022): LayerNorm gives it over half of the output in {v.ln_dominated:.0%} of tokens. Compare "
        f"*{ui.labels.KINDS['massive']}*, huge in a few tokens only."
    )
else:
    here = (
        f"LayerNorm gives the loudest group (group {v.loudest + 1}) over half of the output in {v.ln_dominated:.1%} "
        f"of tokens. Pick *{ui.labels.KINDS['outliers']}* (huge in every token) or "
        f"*{ui.labels.KINDS['massive']}* (huge in a few tokens) to see a feature take over."
    )
st.caption(
    "Left: how loud each group's input is (log scale). Right: each group's share of the output, as mean ‖y_g‖²/s "
    "over all tokens, on an axis from 0. GroupNorm gives every group the same share (1, up to ε) whatever its "
    "input; LayerNorm divides the whole token by one standard deviation, so in a token where one group holds a "
    "huge feature that group takes almost all of the output and the other groups are squashed towards 0. " + here
)
