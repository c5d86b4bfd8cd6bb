"""Training: small transformers trained live with each norm: loss curves, what happens inside, the causal leak."""

import pandas as pd
import streamlit as st

import ui
from normviz import training
from normviz.figures import charts, style
from normviz.figures import training as tfig
from ui import training_runs as runs

ui.require_app()

LETTERS = "ABCD"
COLUMNS = ("norm", "groups", "placement", "depth", "width", "heads", "batch_size", "optimizer", "lr", "warmup",
           "steps", "seed")  # fmt: skip
COLOURS = style.SERIES_CYCLE


def preset_changed() -> None:
    p = training.PRESETS[st.session_state["tr_preset"]]
    st.session_state["tr_task"] = p.task
    st.session_state["_tr_base"] = list(p.configs)
    st.session_state["_tr_autoplay"] = True
    st.query_params.pop("tr_cfg", None)


def seeds_changed() -> None:
    st.session_state["_tr_autoplay"] = True


def controls_bar() -> dict:
    cols = st.columns([2.2, 2, 1.3, 2.7], vertical_alignment="bottom")
    preset = cols[0].selectbox(
        "Preset", list(training.PRESETS), format_func=lambda k: training.PRESETS[k].title, key="tr_preset",
        bind=ui.BIND, on_change=preset_changed,
        help="A story in a few configurations; picking one starts training them (one seed each).",
    )  # fmt: skip
    task = cols[1].selectbox(
        "Task", list(training.TASKS), format_func=training.TASK_LABELS.get, key="tr_task", bind=ui.BIND,
        help="chars: a causal character LM on the prose of Python's reference docs (pydoc_data.topics, 10 % held "
        "out). digits: a small ViT on scikit-learn's 8 × 8 digits, 16 patches of 2 × 2 pixels as tokens.",
    )  # fmt: skip
    seeds = cols[2].select_slider(
        "Seeds", [1, 2, 3, 4, 5], 1, key="tr_seeds", bind=ui.BIND, on_change=seeds_changed,
        help="Seeds per configuration (seed, seed + 1, …): more seeds train at once and draw the mean with "
        "min … max bars, so you can tell a story from luck.",
    )  # fmt: skip
    # the buttons sit side by side at their own width and wrap onto a second line where the column is narrow (125%
    # zoom, presentation mode): in three fixed columns they were cut to "P", "S.", "R"
    buttons_box = cols[3].container(horizontal=True, gap="small", horizontal_alignment="right")
    return {"preset": preset, "task": task, "seeds": seeds, "buttons": buttons_box}


def base_configs(preset: str, task: str) -> list[dict]:
    """The table's starting rows: a link's configurations (checked) when it brings new ones, else the preset's
    or the session's last."""
    if "_tr_base" not in st.session_state:
        st.session_state["_tr_base"] = list(training.PRESETS[preset].configs)
    link = st.query_params.get("tr_cfg")
    if link and link != st.session_state.get("tr_cfg"):  # not the one this page wrote: a link or a lesson
        try:
            st.session_state["_tr_base"] = training.decode(task, link)
        except ValueError:
            st.query_params.pop("tr_cfg", None)  # the link check names it in its notice
    return st.session_state["_tr_base"]


def config_table(base: list[dict], task: str) -> list[dict]:
    """The configurations as an editable table (up to four rows); bad rows fall back to their last good form."""
    frame = pd.DataFrame([{"run": LETTERS[i], **{k: c[k] for k in COLUMNS}} for i, c in enumerate(base)])
    col = st.column_config
    edited = st.data_editor(
        frame, key=f"trtable_{training.encode(base)}", num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "run": col.TextColumn("run", disabled=True, help="The curve's letter and colour."),
            "norm": col.SelectboxColumn("norm", options=list(training.NORMS), required=True,
                                        help="identity = no norm. BatchNorm and InstanceNorm pool over tokens."),
            "groups": col.NumberColumn("G", min_value=1, max_value=256, step=1, help="GroupNorm's G."),
            "placement": col.SelectboxColumn("placement", options=list(training.PLACEMENTS), required=True,
                                             help="post: N(x + F(x)); pre: x + F(N(x)); peri: x + N(F(N(x)))."),
            "depth": col.NumberColumn("depth", min_value=1, max_value=24, step=1, help="Blocks."),
            "width": col.NumberColumn("width", min_value=8, max_value=256, step=8, help="d, features per token."),
            "heads": col.NumberColumn("heads", min_value=1, max_value=16, step=1, help="Attention heads (divide d)."),
            "batch_size": col.NumberColumn("batch", min_value=2, max_value=256, step=1,
                                           help="Sequences (chars, 64 characters each) or images per step."),
            "optimizer": col.SelectboxColumn("optimizer", options=list(training.OPTIMIZERS), required=True,
                                             help="adamw (weight decay 0.01) or sgd (momentum 0.9)."),
            "lr": col.NumberColumn("lr", min_value=1e-6, max_value=10.0, format="%.4g", help="Peak learning rate."),
            "warmup": col.NumberColumn("warm-up", min_value=0, max_value=5000, step=1,
                                       help="Steps of linear warm-up from 0 to lr; constant after."),
            "steps": col.NumberColumn("steps", min_value=1, max_value=5000, step=1, help="Training steps."),
            "seed": col.NumberColumn("seed", min_value=0, step=1, help="The first seed (init and batches)."),
        },
    )  # fmt: skip
    rows = edited.to_dict("records")
    if len(rows) > 4:
        st.warning("At most four configurations train side by side: the first four are used.")
    configs = []
    for i, row in enumerate(rows[:4]):
        fallback = base[min(i, len(base) - 1)]
        kw = {k: (fallback[k] if pd.isna(row.get(k)) else row[k]) for k in COLUMNS}
        kw = {k: (float(v) if k == "lr" else int(v) if isinstance(fallback[k], int) else v) for k, v in kw.items()}
        checked = ui.guarded(training.check, task, stop=False, **kw)
        configs.append(checked or fallback)
    return configs or list(base)


def keep_in_link(configs: list[dict], preset: str, task: str) -> None:
    """The configurations in one URL parameter (left out while they are the preset's own)."""
    text = training.encode(configs)
    st.session_state["tr_cfg"] = text
    p = training.PRESETS[preset]
    if text == training.encode(list(p.configs)) and task == p.task:
        st.query_params.pop("tr_cfg", None)
    else:
        st.query_params["tr_cfg"] = text


def names_of(configs: list[dict]) -> list[str]:
    """Each configuration's legend name: its letter, placement and norm, and whatever else differs between them."""
    differ = [k for k in COLUMNS if k not in ("norm", "placement", "seed") and len({c[k] for c in configs}) > 1]
    out = []
    for i, c in enumerate(configs):
        g = f" (G = {c['groups']})" if c["norm"] == "groupnorm" else ""
        extra = [f"{k.replace('_', ' ')} {c[k]:g}" if k == "lr" else f"{k.replace('_', ' ')} {c[k]}" for k in differ]
        name = f"{LETTERS[i]}: {ui.labels.PLACEMENTS[c['placement']]}, {ui.labels.NORMS[c['norm']]}{g}"
        out.append(", ".join([name, *extra]))
    return out


def combined_runs(task: str, slots: list, n: int) -> tuple[list, dict]:
    known = runs.histories(task, slots)
    per = [[known[s.key] for s in slots if s.index == i] for i in range(n)]
    return [training.combine(r) for r in per], per


def curves_fig(task: str, combined: list, names: list[str], steps: int):
    curves = [
        tfig.Curve(names[i], COLOURS[i], c.steps, c.train, c.eval_steps, c.eval, c.eval_low, c.eval_high,
                   c.acc, c.acc_low, c.acc_high, c.diverged) if c.seeds > 1 else
        tfig.Curve(names[i], COLOURS[i], c.steps, c.train, c.eval_steps, c.eval, acc=c.acc, diverged=c.diverged)
        for i, c in enumerate(combined) if c is not None
    ]  # fmt: skip
    return tfig.curves_figure(curves, steps=steps, accuracy=task == "digits")


def live_view(task: str, slots: list, names: list[str], steps: int) -> None:
    """The curves, redrawn from the trainers every second while this session's job runs."""
    job = runs.current_job()
    combined, _ = combined_runs(task, slots, len(names))
    fig = curves_fig(task, combined, names, steps)
    curves = [cb for cb in combined if cb is not None]
    done = sum(len(c.steps) for c in combined if c is not None)
    ui.plotly_view(fig, key="tr_curves", revision=f"{training.encode([s.settings for s in slots])}-{done}")
    if job is not None and job.state == "queued":
        st.info(f"Waiting: place {job.place} in the queue (at most two runs train at once on this server).",
                icon=":material/hourglass_top:")  # fmt: skip
    elif job is not None:
        st.progress(job.progress, text=f"Training… {job.message}")
    elif not curves:
        st.caption(":material/play_arrow: Press **Play** to train these configurations (or pick a preset).")
    if job is None and st.session_state.pop("_tr_live", False):
        st.rerun()  # the job ended: draw the whole page (buttons, layer views) once more
    if job is not None:
        st.session_state["_tr_live"] = True


def press(action: str) -> None:
    st.session_state["_tr_pressed"] = action  # a callback: survives require_app's extra run


def buttons(box) -> str | None:
    """Play/Pause, Step, Reset in ``box``; the action pressed (done once the configurations are known)."""
    running = runs.current_job() is not None
    box.button(
        "Pause" if running else "Play", key="tr_play", type="primary", width="content",
        icon=":material/pause:" if running else ":material/play_arrow:", on_click=press,
        args=("pause" if running else "play",),
        help="Train every configuration and seed to its steps, all at once (off the page's thread; pause keeps "
        "each run where it is, Play resumes).",
    )  # fmt: skip
    box.button("Step", key="tr_step", icon=":material/skip_next:", width="content", on_click=press,
               args=("step",), help=f"Train {runs.STEP} more steps of every run, then stop.")  # fmt: skip
    box.button("Reset", key="tr_reset", icon=":material/restart_alt:", width="content", on_click=press,
               args=("reset",), help="Stop and forget this page's runs (finished runs stay cached).")  # fmt: skip
    return st.session_state.pop("_tr_pressed", None)


st.title("Training: watch each norm learn", anchor=False)
c = controls_bar()
pressed = buttons(c["buttons"])
figure_slot = st.container()
base = base_configs(c["preset"], c["task"])
configs = config_table(base, c["task"])
keep_in_link(configs, c["preset"], c["task"])
slots = runs.slots(c["task"], configs, c["seeds"])
action = pressed or ("play" if st.session_state.pop("_tr_autoplay", False) else None)  # a preset's first click
if action == "reset":
    runs.reset()
elif action == "pause":
    runs.pause()
elif action in ("play", "step"):
    runs.play(c["task"], slots, more=runs.STEP if action == "step" else None)
if action:
    st.rerun()  # the buttons show what now holds (Pause while training)
names = names_of(configs)
steps = max(s["steps"] for s in configs)
with figure_slot:
    live = st.fragment(live_view, run_every=1.0 if runs.current_job() is not None else None)
    live(c["task"], slots, names, steps)
ui.share_caption()

preset = training.PRESETS[c["preset"]]
combined, per_config = combined_runs(c["task"], slots, len(configs))
st.caption(
    f"Each configuration's training loss (thin line, every step) and held-out loss (dashed, every "
    f"{max(1, steps // 25)} steps, eval mode){' and held-out accuracy' if c['task'] == 'digits' else ''}; "
    + (f"mean over {c['seeds']} seeds, bars min … max. " if c["seeds"] > 1 else "one seed. ")
    + "× marks a run that diverged (a loss not finite, or above twice its first step's): it stopped there. "
    + f"**{preset.title}**: {preset.story}"
)
table = training.table({names[i]: r for i, r in enumerate(per_config)})
ui.export_buttons(curves_fig(c["task"], combined, names, steps), table, key="tr_export", name="normviz-training")

st.subheader("Inside, over training")
ready = [i for i, cb in enumerate(combined) if cb is not None]
if not ready:
    st.info("Train a configuration (Play or Step) to see its gradients, updates and residual stream.",
            icon=":material/info:")  # fmt: skip
else:
    pick = st.segmented_control(
        "Layer views of", ready, default=ready[0], format_func=lambda i: names[i], key="tr_inspect", bind=ui.BIND,
        required=True, help="Which configuration the two heatmaps show (the mean over its seeds).",
    )  # fmt: skip
    cb = combined[pick if pick in ready else ready[0]]
    left, right = st.columns(2)
    with left:
        fig = tfig.layer_heatmap(cb.grad_norm, cb.steps, title="gradient norm ‖∂loss/∂θ_l‖", colourbar="log₁₀")
        ui.plotly_view(fig, key="tr_grads", revision=f"{pick}-{len(cb.steps)}", defer=True)
    with right:
        fig = tfig.layer_heatmap(cb.update_ratio, cb.steps, title="update / weight ‖Δθ_l‖ / ‖θ_l‖",
                                 colourbar="log₁₀")  # fmt: skip
        ui.plotly_view(fig, key="tr_updates", revision=f"{pick}-{len(cb.steps)}", defer=True)
    st.caption(
        "Per block l (rows, 1 = nearest the input) and step (columns): the norm of the gradient of all the "
        "block's parameters, and the size of the optimizer's step relative to the weights. Post-LN's gradients "
        "are largest near the output at the start (Xiong et al. 2020); a ratio near 1e-3 is the usual healthy "
        "range for AdamW, and a run that stalls shows it collapsing or exploding."
    )
    layers = [i + 1 for i in range(len(cb.resid))]
    series = [charts.Series(names[i], combined[i].resid, colour=COLOURS[i]) for i in ready]
    fig = charts.lines_figure(layers, series, xlabel="after block l", ylabel="mean ‖x_l‖ (held-out tokens)",
                              log_y=True, height=300)  # fmt: skip
    ui.plotly_view(fig, key="tr_resid", revision=f"{len(cb.steps)}-{len(ready)}", link_cameras=False, defer=True)
    st.caption(
        "The residual stream's norm after each block at the last evaluation: Post-LN ends every block with a "
        "norm, so it stays near √d (times γ); Pre-LN and Peri-LN add to a stream whose norm grows with depth; "
        "with no norm nothing holds it."
    )
    bn = [i for i in ready if configs[i]["norm"] == "batchnorm"]
    if bn:
        series = []
        for i in bn:
            cbn = combined[i]
            series += [charts.Series(f"{LETTERS[i]}: eval mode (running statistics)", cbn.eval, x=cbn.eval_steps,
                                     colour=COLOURS[i]),
                       charts.Series(f"{LETTERS[i]}: train mode (the batch's statistics)", cbn.eval_batch_stats,
                                     x=cbn.eval_steps, colour=COLOURS[i], dash="dot")]  # fmt: skip
        fig = charts.lines_figure(combined[bn[0]].eval_steps, series, xlabel="step", ylabel="held-out loss",
                                  height=300)  # fmt: skip
        ui.plotly_view(fig, key="tr_bn", revision=f"bn-{len(cb.steps)}", link_cameras=False, defer=True)
        st.caption(
            "BatchNorm's held-out loss two ways: with the running statistics it uses at test time (eval mode), "
            "and with the held-out batch's own statistics (train mode). The gap is what train/test mismatch costs "
            "(Ioffe 2017, Batch Renormalization); in the causal LM, train mode also lets tokens see the future."
        )


@st.cache_data(max_entries=8, show_spinner="Measuring the causal leak…")
def leak_rows(placement: str) -> list[tuple[str, str, float, float]]:
    return [(k.norm, k.mode, k.within, k.across) for k in training.leak_table(placement=placement)]


st.subheader("The causal leak: norms that pool over tokens see the future")
rows = leak_rows(configs[0]["placement"])
labels = [ui.labels.NORMS[n] + (" (eval)" if m == "eval" else " (train)" if n == "batchnorm" else "")
          for n, m, _, _ in rows]  # fmt: skip
fig = charts.bars_figure(
    labels, [("earlier tokens of the same sequence", [r[2] for r in rows], "vermillion"),
             ("tokens of the batch's other sequences", [r[3] for r in rows], "blue")],
    ylabel="max |Δ logit|", height=300,
)  # fmt: skip
ui.plotly_view(fig, key="tr_leak", revision=configs[0]["placement"], link_cameras=False, defer=True)
exact = [lab for lab, r in zip(labels, rows, strict=True) if r[2] == 0 and r[3] == 0]
st.caption(
    "In the character LM, the last character of one sequence of a 4 × 32 held-out batch is changed, and the model "
    f"({ui.labels.PLACEMENTS[configs[0]['placement']]}, 2 blocks, d = 32, at initialization) is run again: the bars "
    "are the largest change of any logit at an *earlier* position. Causal attention never reads ahead, so for "
    f"{', '.join(exact)} that change is exactly 0 (bitwise). InstanceNorm's mean and variance over the 32 tokens "
    "of a sequence carry the future back into its own earlier tokens; BatchNorm's over all 128 tokens carry it "
    "into every sequence of the batch. A model trained with them can lower its training loss by reading the "
    "future through the statistics, a gain that vanishes at generation time, one token at a time. In eval mode "
    "BatchNorm uses its running statistics, a fixed map per feature: no leak."
)

with st.expander("What the papers say, and what this model shows"):
    st.markdown(
        "**Warm-up.** Xiong et al. (2020) show that at initialization Post-LN's gradients near the output are "
        "large, and that Post-LN Transformers need a learning-rate warm-up while Pre-LN ones train without it "
        "(and can take a larger learning rate). This model (8 blocks, d = 64, AdamW, measured on a shared 2-core "
        "CPU, seeds 0–2) agrees in part. At lr 7e-3 and 170 steps (the preset) Post-LN without warm-up stalls at a "
        "training loss of 3.17–3.29 where Pre-LN goes on to 2.31–2.40, and a warm-up over the whole run rescues "
        "Post-LN on all three seeds (about 2.4). At lr 1e-2 warm-up is less reliable: over 200 steps a 50-step "
        "warm-up rescued it on 1 seed of 2 tried, a 100-step one on none of three, a whole-run one on 2 of 3. "
        "Unlike the paper's picture of warm-up as *the* fix, here a lower rate does as well: at lr 5e-3 Post-LN "
        "trains with no warm-up at all (2.23 and 2.42, seeds 0 and 1). "
        "**BatchNorm in transformers.** Shen et al. (2020, PowerNorm) find BatchNorm's batch statistics fluctuate "
        "strongly on text, one reason transformers use LayerNorm; in vision transformers it has been made to work. "
        "Wu & He (2018) show BatchNorm's error rising as the batch shrinks (in CNNs). In this small ViT (300 steps, "
        "3 seeds) batch 4 costs LayerNorm as much as BatchNorm: held-out accuracy 0.23–0.49 against 0.47–0.58, "
        "where at batch 64 BatchNorm reaches 0.89–0.95 and LayerNorm 0.84–0.96. "
        "**No norm.** Zhu et al. (2025) replace every norm with DyT, γ·tanh(αx) + β, and train as well as with "
        "LayerNorm (with α's initial value tuned, in models far larger than this); with nothing at all (identity) "
        "a deep stack's residual stream is unchecked. Here (a 12-block ViT on the digits, lr 3e-3, 300 steps, "
        "3 seeds) identity diverges within 3 steps on every seed and LayerNorm learns on every seed, but DyT at "
        "its default α₀ = 0.5 learned on one seed only (held-out accuracy 0.39) and stayed at chance on two: "
        "it removes the statistics but, untuned, not the fragility. "
        "**RMSNorm** (Zhang & Sennrich 2019) skips the centering and trains like LayerNorm at lower cost; here "
        "(Pre-LN, 4 blocks, 200 steps) their held-out losses agree within 0.02 on each of 3 seeds (2.06–2.08)."
    )
with st.expander("The model and the tasks"):
    st.markdown(
        "A token (or 2 × 2-pixel patch) embedding plus a learned position embedding, then `depth` blocks of "
        "multi-head self-attention (causal for characters) and a GELU FFN of width 4d, each in a residual branch "
        "with its norm placed post, pre or peri, a final norm (pre and peri), and a linear readout (per "
        "character; for digits, of the mean over the 16 tokens). Weights are torch's default draws from the "
        "run's seed; no dropout. Learned γ and β in every norm; BatchNorm keeps running statistics (momentum 0.1); "
        "DyT learns α (from 0.5). AdamW: β = (0.9, 0.999), weight decay 0.01; SGD: momentum 0.9. The learning "
        "rate rises linearly over the warm-up steps, then stays. Characters: batches of 64-character windows "
        "drawn at random from the first 90 % of `pydoc_data.topics`; held out: 32 fixed windows of the last 10 %. "
        "Digits: 1,500 training images, 297 held out. Every run with the same settings and seed gives the same "
        "curve, and finished runs are kept by their settings: a link replays them at once."
    )
