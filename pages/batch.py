"""Batch: how BatchNorm couples a token to its batch-mates, and what batch size does to it."""

import numpy as np
import streamlit as st

import ui
from normviz.core import inputs
from normviz.experiments import batch, batch_running, batch_stats
from normviz.figures import charts, scenes
from ui import batch_modes, batch_pool

ui.require_app()

BATCH_SIZES = [2, 4, 8, 16, 32, 64, 128, 256, 512]
SWEEP = BATCH_SIZES  # the spread, statistics and train/eval charts sweep every B


def controls_ui() -> dict:
    cols = st.columns(5)
    kind = cols[0].selectbox(
        "Input distribution", [*inputs.KINDS, *ui.labels.POOL_KINDS], format_func=ui.labels.KINDS.get,
        key="bt_kind", bind=ui.BIND,
        help="Where the other tokens of each batch (and the probe token) come from.\n\n" + ui.labels.POOL_KIND_HELP,
    )  # fmt: skip
    specs = [
        ("Batch size B", BATCH_SIZES, 4, "bt_batch",
         "Sequences per batch (log scale). The 3D cloud uses this B; the spread chart sweeps all of them."),
        ("Tokens per sequence T", [1, 2, 4, 8, 16], 8, "bt_tokens",
         "BatchNorm pools every token of every sequence: B·T values per feature."),
        ("Features d", [3, 16, 64], 64, "bt_dim", "d = 3 is drawn exactly."),
        ("Batches K", [20, 50, 100], 100, "bt_batches", "How many independent batches the probe token is put into."),
    ]  # fmt: skip
    if kind in ui.labels.POOL_KINDS:  # real sequences bring their own lengths and features
        b, k = ui.select_sliders([cols[1], cols[4]], [specs[0], specs[3]])
        cols[2].caption("T: each sequence's own length (padded to the longest in its batch)")
        cols[3].caption("d: the real tokens' own features")
        return {"kind": kind, "batch_size": b, "tokens": 0, "dim": 0, "batches": k}
    b = ui.live_slider(
        cols[1], "Batch size B", BATCH_SIZES, 4, key="bt_batch", view="bt_cloud",
        help="Sequences per batch (log scale). The 3D cloud follows the slider as you drag it; the spread chart "
        "sweeps every B.",
    )  # fmt: skip
    t, d, k = ui.select_sliders(cols[2:], specs[1:])
    return {"kind": kind, "batch_size": b, "tokens": t, "dim": d, "batches": k}


CLOUDS = "BatchNorm in K batches at every B = 2 … 512"
POPULATION = "Comparing batch statistics with the population"
TRAIN_EVAL = "Training nn.BatchNorm1d's running statistics"


@st.cache_data(max_entries=32, show_spinner=False)  # ui.heavy shows CLOUDS with its progress
def cached_clouds(kind, tokens, dim, batches):
    """The cloud at every B on one basis and one axis range, and the spread sweep they give."""
    return batch.clouds(kind, batch_sizes=SWEEP, tokens=tokens, dim=dim, batches=batches)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_cloud_frames(kind, tokens, dim, batches, present):
    """The 3D cloud at every B (the live B slider's frames): the same clouds and figure as the single view."""
    cs = cached_clouds(kind, tokens, dim, batches)
    return ui.live_frames({b: _cloud_figure(cs.by_batch[b]) for b in BATCH_SIZES}, present=present)


def _cloud_figure(cl: batch.Cloud):
    return scenes.cloud_figure(cl.points, cl.layernorm, axis_labels=cl.labels, ranges=cl.ranges)


@st.cache_data(max_entries=16, show_spinner=False)
def cached_population(tokens, dim, batches):
    kinds = [
        ("Gaussian (image-like)", "gaussian", False),
        ("Student-t, fixed length", "heavy_tailed", False),
        ("Student-t, padded variable lengths (NLP-like)", "heavy_tailed", True),
    ]
    # at most 50 batches here: the Student-t draws dominate (about 4 s each at K = 100, 2 s at 50)
    return batch_stats.population(kinds, batch_sizes=SWEEP, tokens=tokens, dim=dim, batches=min(batches, 50))


@st.cache_data(max_entries=32, show_spinner=False)
def cached_train_eval(kind, tokens, dim, steps, momentum, r_max, d_max):
    return batch_running.train_eval(
        kind, batch_sizes=SWEEP, tokens=tokens, dim=dim, steps=steps, momentum=momentum, r_max=r_max, d_max=d_max
    )


@st.cache_data(max_entries=32, show_spinner="Padding…")
def cached_padding(kind, batch_size, tokens, dim):
    return batch_stats.padding(kind, batch_size=batch_size, tokens=tokens, dim=dim)


st.title("Batch coupling")
st.caption(
    "BatchNorm standardizes each feature over **all B·T tokens of the batch**, "
    "so one token's output depends on who else is in its batch."
)


def _series(sweep_series: dict[str, np.ndarray]) -> list[charts.Series]:
    """A sweep's curves: batch_stats names each statistic "<input>: mean" or "<input>: variance";
    variances are drawn dotted, the rest solid."""
    return [
        charts.Series(name, y, dash="dot" if name.endswith(": variance") else "solid")
        for name, y in sweep_series.items()
    ]


def cloud_section(c: dict, rev: str) -> None:
    st.subheader("One token, many batches")
    cs = ui.guarded(ui.heavy, cached_clouds, c["kind"], c["tokens"], c["dim"], c["batches"], label=CLOUDS, stop=False)
    if cs is None:
        return
    cl = cs.by_batch[c["batch_size"]]
    fig = _cloud_figure(cl)
    frames = cached_cloud_frames(c["kind"], c["tokens"], c["dim"], c["batches"], ui.present.is_on())
    ui.live_view(fig, frames, key="bt_cloud", control="bt_batch", revision=rev)
    ui.export_buttons(
        fig,
        {"batch": np.arange(len(cl.points)), **{f"bn_axis{i + 1}": cl.points[:, i] for i in range(3)}},
        key="bt_export",
        name="normviz-batch-cloud",
    )
    st.markdown(
        "Put the same token into many "
        "random batches and its LayerNorm output is one point; its BatchNorm output is a cloud that "
        "shrinks like 1/√B."
    )
    axes = (
        "exact coordinates"
        if c["dim"] == 3
        else f"the top 3 principal components of the cloud at B = {cs.basis_batch}, the widest (here they keep "
        f"{cl.kept:.0%} of Σ‖y‖²)"
    )
    st.caption(
        f"The same probe token normalized inside {c['batches']} random batches of B = {c['batch_size']} sequences × "
        f"T = {c['tokens']} tokens: each blue dot is its BatchNorm output in one batch; the diamond is its "
        f"LayerNorm output, the same in every batch. Axes: {axes}, with the same basis and ranges at every B, so "
        f"a smaller cloud is drawn smaller. RMS spread of the cloud over all {c['dim']} features: {cl.rms_spread:.3f}."
    )


def sweep_section(c: dict, rev: str) -> None:
    cs = ui.guarded(ui.heavy, cached_clouds, c["kind"], c["tokens"], c["dim"], c["batches"], label=CLOUDS, stop=False)
    if cs is None:
        return
    sw = cs.sweep
    fig = charts.lines_figure(
        sw.batch_sizes, [*_series(sw.series), charts.reference("c/√B", sw.reference)],
        xlabel="batch size B (sequences)", ylabel="RMS spread of the probe's output", log_x=True, log_y=True,
        height=340,
    )  # fmt: skip
    ui.plotly_view(fig, key="bt_sweep", revision=rev, link_cameras=False, defer=True)
    follows = abs(sw.slope + 0.5) <= 0.1
    st.caption(
        f"Measured at every B (not a formula): the spread of the probe's BatchNorm output over {c['batches']} "
        f"batches. Fitted log–log slope for this input: **{sw.slope:.3f}**; the dashed line has slope −1/2. "
        + (
            "The spread follows 1/√B: batch means and variances are averages of B·T tokens. "
            if follows
            else "The spread does **not** follow 1/√B here (the slope is more than 0.1 from −1/2). "
        )
        + "LayerNorm's spread is exactly 0 at every B."
    )
    if not follows:
        st.markdown(_why_not_one_over_root_b(c["kind"], sw.slope))


def _why_not_one_over_root_b(kind: str, slope: float) -> str:
    """Why this input's spread misses the 1/√B law: the fourth moment behind the batch variance's CLT."""
    law = (
        "The 1/√B law is the central limit theorem for the batch statistics, and for the batch *variance* it "
        "needs a finite fourth moment E[x⁴]. "
    )
    if kind == "heavy_tailed":
        why = (
            "Student-t with 3 degrees of freedom has a finite variance but an **infinite fourth moment**: the "
            "batch variance's typical error then falls only like (B·T)^(−1/3) (a stable law of index 3/2), and "
            f"a few extreme tokens dominate each batch. Fitted here: {slope:.2f}, not −0.50. "
        )
    elif kind == "lognormal_scale":
        why = (
            "A lognormal length scale exp(z) keeps every moment finite, but the fourth is huge (each feature's "
            "kurtosis is 3e⁴ ≈ 164, against 3 for a Gaussian), so over B = 2 … 512 the spread is still far from "
            f"its large-B 1/√B regime. Fitted here: {slope:.2f}. "
        )
    else:
        why = f"This input's tails are heavy enough to bend the fit over B = 2 … 512: {slope:.2f}. "
    return (
        law + why + "This is the point of PowerNorm (Shen et al. 2020): it divides by the quadratic mean "
        "ψ² = mean(x²) instead of the variance (no mean subtraction) and uses running statistics in the forward "
        "pass instead of each batch's, with an approximate backward pass to keep that trainable."
    )


def population_section(c: dict, rev: str) -> None:
    st.subheader("Batch statistics against the population")
    pop = ui.guarded(ui.heavy, cached_population, c["tokens"], c["dim"], c["batches"], label=POPULATION, stop=False)
    if pop is None:
        return
    fig = charts.lines_figure(
        pop.sweep.batch_sizes, _series(pop.sweep.series), xlabel="batch size B (sequences)",
        ylabel="RMS error, in population units", log_x=True, log_y=True, height=340,
    )  # fmt: skip
    ui.plotly_view(fig, key="bt_population", revision=rev, link_cameras=False, defer=True)
    g, t, tp = (pop.sweep.series[f"{label}: variance"] for label in pop.var_median)
    mg, mt, mtp = pop.var_median.values()
    st.caption(
        f"How far each batch's per-feature mean (solid, in population standard deviations) and variance (dotted, "
        f"relative to the population variance) are from the population values (65,536 further tokens), RMS over "
        f"{min(c['batches'], 50)} batches and the {c['dim']} features, one seed. At B = 2 the variance's error is "
        f"{g[0]:.2f} for Gaussian tokens, {t[0]:.2f} for Student-t(3) tokens and {tp[0]:.2f} for padded "
        f"Student-t: in this model padding (fewer real tokens per batch, pads masked out) multiplies it by "
        f"{tp[0] / t[0]:.1f}."
    )
    with st.expander("Why the Student-t curves jump, and what this models"):
        st.markdown(
            f"Student-t(3) has an infinite fourth moment, so the RMS of a batch variance's error is infinite in "
            f"expectation: what is drawn is set by the few most extreme tokens of this seed, and it need not fall "
            f"with B — here {t[0]:.2f}, {t[1]:.2f}, {t[2]:.2f} at B = 2, 4, 8. Averaging more seeds does not "
            f"settle it (another extreme token lifts any average). The **median** relative error over the same "
            f"batches and features exists and falls steadily: {mt[0]:.2f}, {mt[1]:.2f}, {mt[2]:.2f} at B = 2, 4, "
            f"8 (padded: {mtp[0]:.2f}, {mtp[1]:.2f}, {mtp[2]:.2f}; Gaussian: {mg[0]:.2f}, {mg[1]:.2f}, "
            f"{mg[2]:.2f}).\n\n"
            "The Gaussian against the padded Student-t is **this app's model** of image-like and NLP-like "
            "features. Shen et al. (2020, PowerNorm) measured the real thing in training: the batch statistics "
            "of a Transformer on machine translation fluctuate far more than those of a ResNet on CIFAR-10 — one "
            "reason transformers use LayerNorm. Their remedy, PowerNorm, normalizes by the quadratic mean instead "
            "of the variance and uses running statistics in the forward pass. (The massive-outlier input scales "
            "whole features, so in these scale-free units it looks like the Gaussian.)"
        )


def train_eval_section(c: dict, rev: str) -> None:
    st.subheader("Train mode against eval mode")
    steps, momentum, r_max, d_max = batch_modes.train_eval_controls()
    te = ui.guarded(
        ui.heavy, cached_train_eval, c["kind"], c["tokens"], c["dim"], steps, momentum, r_max, d_max,
        label=TRAIN_EVAL, stop=False,
    )  # fmt: skip
    if te is None:
        return
    fig = charts.lines_figure(
        te.batch_sizes, _series(te.series), xlabel="batch size B (sequences)",
        ylabel="‖train output − eval output‖", log_x=True, height=340,
    )  # fmt: skip
    ui.plotly_view(fig, key="bt_train_eval", revision=f"{rev}-{steps}-{momentum}-{r_max}-{d_max}",
                   link_cameras=False, defer=True)  # fmt: skip
    if len(te.batch_sizes) < len(SWEEP):
        st.caption(f"B above {int(te.batch_sizes[-1])} left out: {steps} steps of them would pass the memory cap.")
    st.caption(
        "torch's own nn.BatchNorm1d is trained for the chosen steps (its buffers: biased variance in the "
        "forward pass, unbiased in running_var); then one token in a fresh batch is normalized with the batch's "
        "statistics (train) and with the running ones (eval). The gap grows as B shrinks. Batch Renormalization "
        "(Ioffe 2017) corrects the batch statistics by r = clip(σ_B/σ, 1/r_max, r_max) and "
        "d = clip((μ_B − μ)/σ, −d_max, d_max), which closes the gap when the clips are loose."
    )


def padding_section(c: dict, rev: str) -> None:
    st.subheader("Padding")
    res = ui.guarded(cached_padding, c["kind"], c["batch_size"], c["tokens"], c["dim"], stop=False)
    if res is None:
        return
    share, shift = res
    fig = charts.lines_figure(
        share, [charts.Series("batch mean with pads counted − masked mean", shift)],
        xlabel="share of padded positions", ylabel="shift, in standard deviations", height=340,
    )  # fmt: skip
    ui.plotly_view(fig, key="bt_padding", revision=rev, link_cameras=False, defer=True)
    st.caption(
        "Sequences of different lengths padded with zeros to a common T: if the pads are counted, the batch mean "
        "becomes (1 − s)·μ + s·0 for a pad share s; with a mask the statistics use real tokens only (the "
        "library's norms.apply(..., mask=...) does this). Try the shifted-mean input, whose mean is far from 0."
    )


c = controls_ui()
rev = str(hash(tuple(c.items())))  # lets browser tests see which run a view shows
real = c["kind"] in ui.labels.POOL_KINDS
if real:
    batch_pool.run(c, rev, BATCH_SIZES)  # the cloud, the spread, PowerNorm's comparison, a massive token
else:
    cloud_section(c, rev)
ui.share_caption()
with st.expander("Formula and code"):
    st.latex(r"\mathrm{BN}(x)_j = \frac{x_j - \mu_j^{\mathcal B}}{\sqrt{\sigma_j^{2,\mathcal B} + \varepsilon}},\quad"
             r"\mu_j^{\mathcal B} = \tfrac{1}{BT}\sum_{b,t} x_{btj}")  # fmt: skip
    ui.code_line("y = F.batch_norm(x.reshape(-1, d), None, None, training=True)", lead="In torch, on x: (B, T, d):")
if not real:
    sweep_section(c, rev)
    population_section(c, rev)
    train_eval_section(c, rev)
    padding_section(c, rev)

with st.expander("Edge cases: one token, constant features, ε"):
    st.markdown(
        "- **B·T = 1**: a batch of one token has variance 0 in every feature, so its output would be 0 "
        "whatever the token is; torch refuses in training mode (*Expected more than 1 value per channel when "
        "training*), and so does `normviz.norms.apply` with a message. The B slider starts at 2 for this reason.\n"
        "- **A constant feature** (the same value in every token of the batch): variance 0, so the output is "
        "(x − μ)/√ε = 0 for every token; ε is what keeps it finite.\n"
        "- **ε** (1e-5 here, torch's default) matters only when a feature's batch variance is comparable to it."
    )
