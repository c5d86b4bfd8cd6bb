"""The Batch page's train-against-eval controls, and its train/eval and padding sections on a real pool.

pages/batch.py draws the synthetic sections itself and takes :func:`train_eval_controls` from here;
``ui.batch_pool.run`` calls :func:`real_train_eval_section` and :func:`real_padding_section` for a real pool.
"""

from __future__ import annotations

import streamlit as st

from normviz.experiments import batch_real_modes
from normviz.figures import charts
from normviz.io.real_input import RealInput
from ui import labels, real_inputs, token_pools
from ui.controls import guarded
from ui.links import BIND
from ui.plot_view import plotly_view

__all__ = ["real_padding_section", "real_train_eval_section", "train_eval_controls"]

STEPS = [10, 50, 100, 300]
PROBE = (0, 1)  # the probe of ui.batch_pool's cloud


def train_eval_controls() -> tuple[int, float | None, float, float]:
    """Momentum, training steps, Batch Renorm's r_max and d_max: one bar, the same keys for both kinds of input."""
    cols = st.columns(4)
    label = cols[0].selectbox(
        "Momentum", list(labels.MOMENTA), index=1, key="bt_momentum", bind=BIND,
        help="nn.BatchNorm1d: running = (1 − m)·running + m·batch statistic; None averages all batches equally.",
    )  # fmt: skip
    steps = cols[1].select_slider(
        "Training steps", STEPS, value=100, key="bt_steps", bind=BIND, help="Batches seen before evaluation."
    )
    r_max = cols[2].slider(
        "Batch Renorm r_max", 1.0, 5.0, 3.0, 0.1, key="bt_rmax", bind=BIND,
        help="Clip on σ_B/σ. r_max = 1 and d_max = 0 is plain BatchNorm.",
    )  # fmt: skip
    d_max = cols[3].slider(
        "Batch Renorm d_max", 0.0, 5.0, 5.0, 0.1, key="bt_dmax", bind=BIND,
        help="Clip on (μ_B − μ)/σ. Loose clips make training use the running statistics.",
    )  # fmt: skip
    return steps, labels.MOMENTA[label], r_max, d_max


@real_inputs.cache_view(max_entries=16, show_spinner="Training nn.BatchNorm1d's running statistics on the pool…")
def train_eval_view(spec: RealInput, sizes: tuple[int, ...], steps, momentum, r_max, d_max, masked: bool):
    return batch_real_modes.train_eval(
        token_pools.get(spec), batch_sizes=list(sizes), steps=steps, momentum=momentum, r_max=r_max, d_max=d_max,
        masked=masked, probe=PROBE,
    )  # fmt: skip


@real_inputs.cache_view(max_entries=16, show_spinner="Padding the batches…")
def padding_view(spec: RealInput, sizes: tuple[int, ...], batches: int) -> batch_real_modes.PadShift:
    return batch_real_modes.padding_shift(token_pools.get(spec), batch_sizes=list(sizes), batches=batches)


def _gap_series(sweep) -> list[charts.Series]:
    return [charts.Series(n, y) for n, y in sweep.series.items()]


def real_train_eval_section(spec: RealInput, pool, sizes: list[int], masked: bool, rev: str) -> None:
    st.subheader("Train mode against eval mode")
    steps, momentum, r_max, d_max = train_eval_controls()
    te = guarded(train_eval_view, spec, tuple(sizes), steps, momentum, r_max, d_max, masked, stop=False)
    if te is None:
        return
    fig = charts.lines_figure(
        te.batch_sizes, _gap_series(te), xlabel="batch size B (sequences)", ylabel="‖train output − eval output‖",
        log_x=True, height=340,
    )  # fmt: skip
    plotly_view(fig, key="bt_train_eval", revision=f"{rev}-{steps}-{momentum}-{r_max}-{d_max}", link_cameras=False,
                defer=True)  # fmt: skip
    if len(te.batch_sizes) < len(sizes):
        st.caption(f"B above {int(te.batch_sizes[-1])} left out: {steps} steps of them would pass the memory cap.")
    gaps = te.series["BatchNorm: ‖train − eval‖"]
    st.caption(
        f"torch's own nn.BatchNorm1d accumulates its running statistics over {steps} batches of B distinct "
        f"sequences of this pool (the probe's own sequence left out), fed "
        + ("each batch's real tokens only" if masked else "each batch's padded tensor, pads (0) counted")
        + f"; then the probe (token {PROBE[1]} of sequence {PROBE[0]}), inside a fresh batch of its sequence and "
        f"B − 1 others, is normalized with that batch's statistics (train) and with the running ones (eval). "
        f"The gap: {gaps[0]:.3g} at B = {int(te.batch_sizes[0])}, {gaps[-1]:.3g} at B = {int(te.batch_sizes[-1])}. "
        "Batch Renormalization (Ioffe 2017) corrects the batch statistics by r = clip(σ_B/σ, 1/r_max, r_max) and "
        "d = clip((μ_B − μ)/σ, −d_max, d_max), which closes the gap when the clips are loose."
        + (
            " With the pads counted, train and eval both see pads, but a fresh batch's pad share is not the "
            "running average's: the gap does not vanish at large B."
            if not masked
            else ""
        )
    )


def real_padding_section(spec: RealInput, pool, sizes: list[int], batches: int, rev: str) -> None:
    st.subheader("Padding")
    if int(pool.lengths.min()) == int(pool.lengths.max()):
        st.info(
            f"Every sequence of this pool has the same length ({int(pool.lengths[0])} tokens: "
            f"{'an image’s patches' if 'patches' in pool.source else 'one length for all'}), so a batch holds no "
            "pad and the mask changes nothing: there is no padding to show here. Pick a pool of sentences to see "
            "what counting the pads does.",
            icon=":material/info:",
        )
        return
    ps = guarded(padding_view, spec, tuple(sizes), batches, stop=False)
    if ps is None:
        return
    fig = charts.lines_figure(
        ps.batch_sizes,
        [charts.Series("batch mean with pads counted − masked mean", ps.shift, low=ps.shift_low, high=ps.shift_high),
         charts.reference("pad share × RMS (0 − μ)/σ of the pool", ps.predicted)],
        xlabel="batch size B (sequences)", ylabel="shift, in standard deviations", log_x=True, height=340,
    )  # fmt: skip
    plotly_view(fig, key="bt_padding", revision=rev, link_cameras=False, defer=True)
    shares = ", ".join(f"{s:.0%}" for s in ps.share)
    st.caption(
        f"Each batch of B real sequences is padded with zeros to its longest sequence. Pads per batch, on average "
        f"over {batches} batches: {shares} of the positions at B = "
        + ", ".join(f"{int(b)}" for b in ps.batch_sizes)
        + ": the larger the batch, the likelier it holds one long sentence. Counting the pads moves the batch mean "
        "by exactly share × (0 − masked mean) in every feature; drawn: that move in the batch's standard deviations "
        f"(RMS over the {ps.features_used} features with a variance; bars from the 10th to the 90th percentile of "
        "the batches), and dashed, the pad share times the pool's own RMS |μ|/σ. This section compares both "
        "ways whatever the mask switch above says; with the mask honoured (`normviz.norms.apply(..., mask=...)`) "
        "the pads never enter a statistic."
    )
