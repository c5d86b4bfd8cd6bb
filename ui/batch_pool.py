"""The Batch page on real tokens: probe cloud, spread against B, PowerNorm's comparison, a massive token.

The probe cloud, the spread against B, batch against pool statistics (PowerNorm's comparison, MiniLM's tokens
against image patches), a massive-activation token inside a batch, then train against eval mode and padding
(``ui.batch_modes``).

pages/batch.py calls :func:`run` when its input is a real pool; everything here reads a pool through
``ui.token_pools`` (captured once per server, in the background) and caches its views on the pool's spec.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from normviz.experiments import batch_massive, batch_real
from normviz.figures import charts, scenes, tokens
from normviz.io.real_input import PoolInput, RealInput
from ui import batch_modes, labels, real_inputs, token_pools
from ui.controls import guarded
from ui.export_buttons import export_buttons
from ui.links import BIND
from ui.plot_view import plotly_view

__all__ = ["IMAGE_POOLS", "run", "sweep_sizes"]

IMAGE_POOLS = (PoolInput("photos"), PoolInput("digits"))
PROBE = (0, 1)  # token 1 of sequence 0: the first word after [CLS] (for images: the second patch of crop 0)


def sweep_sizes(options: list[int], n_sequences: int) -> list[int]:
    """The batch sizes a pool of ``n_sequences`` supports: at most S/8."""
    return [b for b in options if 2 <= b <= n_sequences // 8]


@real_inputs.cache_view(max_entries=16, show_spinner="BatchNorm of one real token in K batches at every B…")
def clouds_view(spec: RealInput, sizes: tuple[int, ...], batches: int, masked: bool):
    pool = token_pools.get(spec)
    return batch_real.probe_clouds(pool, batch_sizes=list(sizes), batches=batches, masked=masked, probe=PROBE)


@real_inputs.cache_view(max_entries=16, show_spinner="Batch against pool statistics…")
def stats_view(spec: RealInput, sizes: tuple[int, ...], batches: int, masked: bool) -> batch_real.PoolStats:
    return batch_real.pool_stats(token_pools.get(spec), batch_sizes=list(sizes), batches=batches, masked=masked)


@real_inputs.cache_view(max_entries=16, show_spinner="Finding the massive feature…")
def massive_view(spec: RealInput, batch: int, seed: int) -> batch_massive.MassiveBatch:
    return batch_massive.massive_batch(token_pools.get(spec), batch=batch, seed=seed)


def controls_ui(prefix: str, kind: str) -> tuple[RealInput | None, bool]:
    """The pool's own controls (capture point, text or file) and whether the padding mask is honoured."""
    cols = st.columns([3, 1])
    spec = token_pools.pool_input_ui(prefix, kind, cols[0])
    masked = cols[1].toggle(
        "Honour the padding mask", True, key=f"{prefix}masked", bind=BIND,
        help="On: statistics over real tokens only. Off: every batch is padded to its longest sequence with "
        "zeros and BatchNorm counts the pads, as it does when fed the padded tensor without a mask.",
    )  # fmt: skip
    return spec, masked


def _pool_or_wait(spec: RealInput):
    pool = guarded(token_pools.ready, spec)
    if pool is None:
        token_pools.wait_and_rerun()
    return pool


def run(c: dict, rev: str, options: list[int]) -> None:
    """The real-token sections of the Batch page for controls ``c`` (from pages/batch.py)."""
    spec, masked = controls_ui("bt_", c["kind"])
    if spec is None:
        return
    pool = _pool_or_wait(spec)
    sizes = sweep_sizes(options, pool.n_sequences)
    if len(sizes) < 2:
        st.error(
            f"This pool has {pool.n_sequences} sequences: batches need B ≤ S/8, and the spread against B needs two "
            "batch sizes (B = 2 and 4), so at least 32 sequences. Use more sentences, or a file with more sequences."
        )
        return
    B = min(c["batch_size"], sizes[-1])
    got = guarded(clouds_view, spec, tuple(sizes), c["batches"], masked, stop=False)
    if got is None:
        return
    cs, overlaps = got
    cl = cs.by_batch[B]
    fig = scenes.cloud_figure(cl.points, cl.layernorm, axis_labels=cl.labels, ranges=cl.ranges)
    plotly_view(fig, key="bt_cloud", revision=rev)
    export_buttons(fig, {"batch": np.arange(len(cl.points)), **{f"bn_axis{i + 1}": cl.points[:, i] for i in range(3)}},
                   key="bt_export", name="normviz-batch-cloud")  # fmt: skip
    held = "held once per server" if isinstance(spec, PoolInput) else "this session's file only"
    clipped = f" (B = {c['batch_size']} is over S/8 for this pool: shown at B = {B})" if B != c["batch_size"] else ""
    st.caption(
        f"**{pool.source}**: {pool.n_sequences:,} real sequences of {int(pool.lengths.min())}–"
        f"{int(pool.lengths.max())} tokens (d = {pool.dim}; {pool.nbytes / 2**20:.0f} MiB, {held}). "
        f"The probe is token {PROBE[1]} of sequence {PROBE[0]}; "
        f"each blue dot is its BatchNorm output in one of {c['batches']} batches of B = {B} distinct sequences "
        f"(its own and B − 1 others){clipped}, statistics {'over real tokens only' if masked else 'counting the pads'}"
        f"; the diamond is its LayerNorm output. Axes: the top 3 principal components of the cloud at "
        f"B = {cs.basis_batch} ({cl.kept:.0%} of Σ‖y‖² here), one basis and one range for every B. "
        f"RMS spread over all {pool.dim} features: {cl.rms_spread:.3f}."
    )
    sweep_section(cs, overlaps, c, pool.n_sequences, rev)
    population_section(spec, pool, c, masked, rev)
    if isinstance(spec, PoolInput) and spec.source in ("docs", "text"):
        massive_section(spec, pool, c, rev)
    else:
        st.caption(
            "A massive-activation token: this section needs MiniLM's [CLS] tokens, so it is shown for the "
            "documentation and your-sentences pools only."
        )
    batch_modes.real_train_eval_section(spec, pool, sizes, masked, rev)
    batch_modes.real_padding_section(spec, pool, sizes, c["batches"], rev)


def sweep_section(cs, overlaps: np.ndarray, c: dict, n_seq: int, rev: str) -> None:
    sw = cs.sweep
    fig = charts.lines_figure(
        sw.batch_sizes, [charts.Series(n, y) for n, y in sw.series.items()] + [charts.reference("c/√B", sw.reference)],
        xlabel="batch size B (sequences)", ylabel="RMS spread of the probe's output", log_x=True, log_y=True,
        height=340,
    )  # fmt: skip
    plotly_view(fig, key="bt_sweep", revision=rev, link_cameras=False, defer=True)
    st.caption(
        f"Measured at every B ≤ S/8 = {n_seq // 8} on real tokens. Fitted log–log slope: **{sw.slope:.3f}** (the "
        f"dashed line has slope −1/2). The K = {c['batches']} batches at each B are consecutive groups of B − 1 "
        f"sequences from successive shuffles of the pool (the probe's sequence added to each): no sequence twice in "
        f"a batch, the batches of one shuffle disjoint. Two batches share on average "
        + ", ".join(f"{o:.2f}" for o in overlaps)
        + " sequences at B = "
        + ", ".join(f"{int(b)}" for b in sw.batch_sizes)
        + ": shared sequences make batches alike and bias the spread low."
    )


def population_section(spec: RealInput, pool, c: dict, masked: bool, rev: str) -> None:
    st.subheader("Batch statistics against the pool: PowerNorm's question on real tokens")
    images = [p for p in IMAGE_POOLS if p != spec]
    got = [guarded(token_pools.ready, p, stop=False) for p in images]
    if any(g is None for g in got):
        token_pools.wait_and_rerun()
    n_min = min([pool.n_sequences, *(g.n_sequences for g in got)])
    sizes = tuple(sweep_sizes([2, 4, 8, 16, 32, 64], n_min))
    k = min(c["batches"], 100)
    named = {"this pool": guarded(stats_view, spec, sizes, k, masked, stop=False)}
    named.update({labels.KINDS[p.source]: guarded(stats_view, p, sizes, k, True, stop=False) for p in images})
    if any(v is None for v in named.values()):
        return
    sw = batch_real.stats_sweep(named)
    fig = charts.lines_figure(
        sw.batch_sizes, [charts.Series(n, y, dash="dot" if n.endswith(": variance") else "solid")
                         for n, y in sw.series.items()],
        xlabel="batch size B (sequences or images)", ylabel="RMS error, in pool units", log_x=True, log_y=True,
        height=340,
    )  # fmt: skip
    plotly_view(fig, key="bt_population", revision=rev, link_cameras=False, defer=True)
    mine = named["this pool"]
    img = {n: s for n, s in named.items() if n != "this pool"}
    parts = ", ".join(f"{s.var_error[0]:.2f} for {n}" for n, s in img.items())
    st.caption(
        f"RMS over {k} batches and every feature of the batch mean's distance from the pool mean (solid, in pool "
        f"standard deviations) and of the batch variance's (dotted, relative to the pool variance); the pool stands "
        f"for the population. At B = {int(sizes[0])} the variance's error is **{mine.var_error[0]:.2f}** for this "
        f"pool ({'masked' if masked else 'pads counted'}) against {parts}; at B = {int(sizes[-1])}: "
        f"{mine.var_error[-1]:.2f} against "
        + ", ".join(f"{s.var_error[-1]:.2f}" for s in img.values())
        + f". Slopes of the variance error against B: {mine.var_slope:.2f} here, "
        + ", ".join(f"{s.var_slope:.2f}" for s in img.values())
        + " for the images (−1/2 is the central limit theorem's). "
        + _verdict(mine, img, masked)
    )
    with st.expander("What Shen et al. (2020) measured, and how this differs"):
        st.markdown(
            "PowerNorm's Fig. 2 tracks, through training, the distance between the batch statistics and the "
            "running statistics of the **first BatchNorm layer** of a ResNet20 on CIFAR-10 (batches of 128 images) "
            "and of a Transformer trained with BatchNorm in place of LayerNorm on IWSLT14 (batches of ~4K tokens), "
            "as (1/d)‖μ_B − μ‖ and (1/d)‖σ²_B − σ²‖: the ResNet's are orders of magnitude smaller and the "
            "Transformer's have large outliers. Here: a **trained, frozen** MiniLM (trained with LayerNorm, not "
            "BatchNorm) measured at one instant; the pool's own statistics stand for the running ones; the image "
            "tokens are raw patch pixels, not a CNN's first-layer activations; and the errors are in each feature's "
            "own units so that pools of different scales compare. The same measure as theirs, in raw units, "
            f"(1/d)‖σ²_B − σ²‖ at B = {int(sizes[0])}: {mine.dist_var[0]:.3g} here, "
            + ", ".join(f"{s.dist_var[0]:.3g} ({n})" for n, s in img.items())
            + f". Features left out for having no variance in the pool: {pool.dim - mine.features_used} here, "
            + ", ".join(
                f"{pool_d - s.features_used} ({n})"
                for (n, s), pool_d in zip(img.items(), (g.dim for g in got), strict=True)
            )
            + "."
        )


def _verdict(mine: batch_real.PoolStats, img: dict, masked: bool) -> str:
    """What the numbers say, in words chosen by the numbers."""
    if not masked and mine.var_slope > -0.25:
        return (
            f"**With the pads counted the error hardly falls with B** (slope {mine.var_slope:.2f}): every batch's "
            "statistics are biased towards the pad value by its share of pads, and more tokens do not remove a bias. "
            "Honour the mask to see the statistics themselves."
        )
    less = all(mine.var_error[0] < s.var_error[0] for s in img.values())
    more = all(mine.var_error[0] > s.var_error[0] for s in img.values())
    if less:
        return (
            "In each feature's own units these real token statistics fluctuate **less** than the image patches', "
            "not more: the opposite of the ordering in Shen et al.'s Fig. 2 (see below for what they measured)."
        )
    if more:
        return (
            "In each feature's own units these statistics fluctuate **more** than the image patches', as in Shen et al."
        )
    return "In each feature's own units these statistics fluctuate between the two image pools'."


def massive_section(spec: PoolInput, pool, c: dict, rev: str) -> None:
    st.subheader("A massive-activation token in the batch")
    B = min(8, pool.n_sequences // 8)
    mb = guarded(massive_view, spec, B, 0, stop=False)
    if mb is None:
        return
    who = [f"{pool.tokens[s][t] if pool.tokens else t} (sequence {s})" for s in mb.sequences
           for t in range(int(pool.lengths[s]))]  # fmt: skip
    fig = tokens.token_strip_figure(
        [("BatchNorm, massive tokens in the statistics", mb.bn_with),
         ("BatchNorm, massive tokens masked out", mb.bn_without), ("LayerNorm (the token's own statistics)", mb.ln)],
        hit=mb.hit, labels=who, ylabel=f"output at feature {mb.feature}",
    )  # fmt: skip
    plotly_view(fig, key="bt_massive", revision=rev, link_cameras=False, defer=True)
    st.caption(
        f"One batch of B = {B} sequences at capture point {spec.point}; every real token's output at feature "
        f"**{mb.feature}**, whose largest |x| in the pool is **{mb.ratio:,.0f}×** the median |x| "
        f"({'massive by the Real data page’s rule' if mb.massive else 'not massive by the Real data page’s rule'}). "
        f"Diamonds: the {int(mb.hit.sum())} tokens holding a massive value "
        f"(positions {sorted(set(mb.position[mb.hit].tolist()))}; 0 is [CLS]). They carry "
        f"**{mb.variance_share:.1%}** of the batch's variance of this feature, so BatchNorm squeezes every other "
        f"token's output together: their spread is {mb.std_rest_with:.3f} with the massive tokens in the batch, "
        f"{mb.std_rest_without:.3f} with them masked out. LayerNorm pins only the massive token itself "
        f"(|LN(x)ⱼ| = {mb.ln_hit:.1f}, against √d = {np.sqrt(pool.dim):.1f} if all its variance were in one "
        f"feature); no other token's LayerNorm output depends on it."
    )
