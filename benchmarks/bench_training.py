"""Benchmark: the Training page's instrumented step against a bare torch loop, and each preset over seeds.

Run it from the repository root:

    python benchmarks/bench_training.py                      # options: --steps N (shorter presets), --seeds 3,
                                                             # --presets warmup,batchsize  --skip-presets
                                                             # --skip-timing  --first-click  --memory

(a) One training step of the page's model as :class:`normviz.training.Trainer` takes it (loss, backward, each
    block's gradient norm, the optimizer step with each block's ‖Δθ‖/‖θ‖, the divergence check, and the
    held-out evaluation every steps/25 steps, amortized) against a bare loop over the very same model, batches
    and optimizer (forward, loss, backward, step, nothing else): the issue's model, 8 blocks, d = 64, 4 heads,
    batch 32 × 64 characters, AdamW, one torch thread. Blocks of 5 steps alternate between the two (the
    machine is shared and noisy); medians per step; target ratio ≤ 1.15.
(b) Every preset, every configuration, over ``--seeds`` seeds: the mean training loss of the last 10 steps,
    the last held-out loss (and accuracy), where a run diverged, and the seconds each took (one thread); then
    the preset's story as a test of each seed's runs (STORIES) and on how many seeds it holds.
(c) ``--first-click``: each preset's first click as the page trains it (one seed per configuration, two heavy
    jobs of a jobs.Pool sharing the runs through training.Shared, one torch thread each): wall time, each
    lane's CPU time (the busier lane's is the wall time on an idle 2-core CPU), the longest gap between two
    curve updates, and the load average. Target ≤ 60 s.
(d) ``--memory``: one run's memory: the peak RSS of a fresh process training each preset's largest
    configuration, minus that process's RSS after its imports and the task's data. Target ≤ 500 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from normviz import training  # noqa: E402
from normviz.core import jobs, threads  # noqa: E402

MODEL = {"depth": 8, "width": 64, "heads": 4, "batch_size": 32, "lr": 1e-2, "steps": 200}
TARGET = 1.15


def step_timing(blocks: int, block: int = 5) -> None:
    ours = training.Trainer("chars", **MODEL, placement="pre")
    bare_t = training.Trainer("chars", **MODEL, placement="pre")
    model, opt, batches = bare_t.model, bare_t.opt, bare_t.batches
    model.train()

    def bare(n: int) -> None:
        for _ in range(n):
            x, y = next(batches)
            loss = model.loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    ours.step(block)  # warm both (allocator, first-call costs)
    bare(block)
    per_ours, per_bare = [], []
    for i in range(blocks):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            t0 = time.perf_counter()
            ours.step(block) if which == 0 else bare(block)
            (per_ours if which == 0 else per_bare).append((time.perf_counter() - t0) / block)
    ratios = [a / b for a, b in zip(per_ours, per_bare, strict=True)]
    print(f"(a) one training step, {MODEL['depth']} blocks, d = {MODEL['width']}, batch {MODEL['batch_size']} × 64 "
          f"characters, AdamW, 1 thread; {blocks} blocks of {block} steps each, alternating")  # fmt: skip
    print(f"    instrumented Trainer.step: median {report.ms(statistics.median(per_ours))} ms/step "
          f"(includes its held-out evaluation every {ours.eval_every} steps, amortized)")  # fmt: skip
    print(f"    bare torch loop, same model: median {report.ms(statistics.median(per_bare))} ms/step")
    verdict = "ok" if statistics.median(ratios) <= TARGET else "OVER TARGET"
    print(f"    ratio (median of per-block ratios): {statistics.median(ratios):.3f}× (target ≤ {TARGET}×) {verdict}")


# Each preset's story as a test of one seed's runs (configurations A, B, … in order): what must hold on every seed.
STORIES = {
    "warmup": ("A (post, no warm-up) stalls (last-10 train loss ≥ 3.0); B (post, warm-up) and C (pre) train (< 2.8)",
               lambda r: r[0]["train"] >= 3.0 and r[1]["train"] < 2.8 and r[2]["train"] < 2.8),
    "batchsize": ("batch 64 ends ≥ 0.2 above batch 4 in held-out accuracy, with BatchNorm (B over A) and with "
                  "LayerNorm (D over C)",
                  lambda r: r[1]["acc"] >= r[0]["acc"] + 0.2 and r[3]["acc"] >= r[2]["acc"] + 0.2),
    # DyT is checked for not diverging only: over seeds 0-2 it learned on one and stayed at chance on two (the
    # preset's caption says so); LayerNorm must learn
    "nonorm": ("A (identity) diverges; B (LayerNorm) does not and ends below its first step's loss; C (DyT) does "
               "not diverge",
               lambda r: r[0]["div"] is not None and r[1]["div"] is None and r[1]["train"] < r[1]["first"]
               and r[2]["div"] is None),
    "rmsnorm": ("both train (held-out < 2.6) and their held-out losses differ by < 0.05",
                lambda r: max(r[0]["held"], r[1]["held"]) < 2.6 and abs(r[0]["held"] - r[1]["held"]) < 0.05),
}  # fmt: skip


def _measure(task: str, kw: dict) -> dict:
    t0 = time.perf_counter()
    r = training.run(task, **kw)
    gap = r.eval_loss_batch_stats[-1] - r.eval_loss[-1] if r.eval_loss_batch_stats else float("nan")
    return {"train": statistics.mean(r.train_loss[-10:]), "first": r.train_loss[0],
            "held": r.eval_loss[-1] if r.eval_loss else float("nan"), "acc": r.eval_acc[-1] if r.eval_acc else None,
            "gap": gap, "div": r.diverged_at, "s": time.perf_counter() - t0}  # fmt: skip


def presets(names: list[str], seeds: int, steps: int | None) -> None:
    print(f"\n(b) presets over {seeds} seed(s)" + (f", each run cut to {steps} steps" if steps else ", as shipped"))
    for name in names:
        p = training.PRESETS[name]
        per_seed: list[list[dict]] = [[] for _ in range(seeds)]
        rows = []
        for i, c in enumerate(p.configs):
            got = []
            for s in range(seeds):
                kw = {**c, "seed": c["seed"] + s} | (
                    {"steps": steps, "warmup": min(c["warmup"], steps)} if steps else {}
                )
                got.append(_measure(p.task, kw))
                per_seed[s].append(got[-1])
            label = (f"{'ABCD'[i]}: {c['placement']} {c['norm']} lr {c['lr']:g} wu {c['warmup']} "
                     f"b {c['batch_size']} L {c['depth']} {c['steps']} steps")  # fmt: skip
            rows.append([p.title if i == 0 else "", label, " ".join(f"{g['train']:.2f}" for g in got),
                         " ".join(f"{g['held']:.2f}" for g in got),
                         " ".join("-" if g["acc"] is None else f"{g['acc']:.2f}" for g in got),
                         " ".join("-" if g["div"] is None else str(g["div"]) for g in got),
                         " ".join("-" if g["gap"] != g["gap"] else f"{g['gap']:+.2f}" for g in got),
                         f"{statistics.median(g['s'] for g in got):.0f}"])  # fmt: skip
        header = ["preset", "configuration", "train loss (last 10)", "held-out", "acc", "diverged",
                  "BN held-out: train − eval mode", "s/run"]  # fmt: skip
        report.table(header, rows)  # each preset as soon as it is done
        what, holds = STORIES[name]
        ok = [holds(r) for r in per_seed]
        marks = " ".join("yes" if k else "NO" for k in ok)
        print(f"    story: {what}\n    holds on {sum(ok)} of {seeds} seeds ({marks}); load avg {report.load()}\n")
        sys.stdout.flush()


def first_click(names: list[str], lanes: int = 2) -> None:
    """Each preset's first click as the page trains it: one seed per configuration, in ``lanes`` heavy jobs of
    a jobs.Pool sharing one training.Shared (ui/training_runs.py's scheduling), one torch thread each."""
    print(f"\n(c) a preset's first click as the page schedules it: one seed per configuration, {lanes} heavy jobs "
          "of a jobs.Pool sharing the runs, one torch thread each (target ≤ 60 s on a 2-core CPU)")  # fmt: skip
    rows = []
    for name in names:
        p = training.PRESETS[name]
        trainers = [training.Trainer(p.task, **c) for c in p.configs]
        shared = training.Shared(trainers, {t.key: t.settings["steps"] for t in trainers})
        ticks: list[float] = []

        def lane(job, shared=shared, ticks=ticks) -> float:
            with threads.one_thread():
                c0 = time.thread_time()
                shared.work(job.stop_requested, on_chunk=lambda: ticks.append(time.perf_counter()))
                return time.thread_time() - c0

        pool = jobs.Pool(workers=1, heavy_limit=lanes, name=f"bench-{name}")
        before = report.load()
        t0 = time.perf_counter()
        submitted = [pool.submit(f"{name}-{i}", lane, heavy=True) for i in range(lanes)]
        cpu = [j.result(timeout=3600) for j in submitted]
        wall = time.perf_counter() - t0
        pool.close()
        gaps = np.diff([t0, *sorted(ticks)])
        steps = sum(t.steps_done for t in trainers)
        rows.append([p.title, f"{len(trainers)} × {max(t.settings['steps'] for t in trainers)}", str(steps),
                     f"{wall:.0f}", " + ".join(f"{c:.0f}" for c in cpu), f"{max(cpu):.0f}", f"{gaps.max():.1f}",
                     f"{before} → {report.load()}"])  # fmt: skip
        sys.stdout.flush()
    header = ["preset", "runs × steps", "steps", "wall s", "CPU s per lane", "max lane CPU s", "longest gap s",
              "load avg (before → after)"]  # fmt: skip
    report.table(header, rows)
    print("    wall: this shared machine at the load shown; 'max lane CPU s' is the CPU time of the busier lane, the "
          "wall time the click would take on an idle 2-core CPU (each lane has a core to itself); longest gap: "
          "the longest wait between two curve updates (chunks of 5 steps)")  # fmt: skip


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
def rss():
    with open("/proc/self/status") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS")) / 1024
from normviz import training
from normviz.core import threads
task, kw = sys.argv[2], json.loads(sys.argv[3])
training.data.split(task); training.data.held_out(task)  # the task's data, shared by every run of the process
base = rss()
with threads.one_thread():
    run = training.run(task, **kw)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"base": base, "peak": peak, "after": rss(), "steps": len(run.train_loss)}))
"""


def memory(names: list[str], steps: int | None) -> None:
    """Peak RSS of one run of each preset's largest configuration in a fresh process, minus the process's RSS
    after importing torch and normviz and loading the task's data (``steps``: cut the run; its memory is all
    allocated by the second step, activations, gradients and AdamW's state, but for its few-kB curves)."""
    print("\n(d) one run's memory: peak RSS of a fresh process training one configuration to its steps, minus the "
          "same process's RSS after imports and the task's data (target ≤ 500 MB)")  # fmt: skip
    rows = []
    for name in names:
        p = training.PRESETS[name]
        c = max(p.configs, key=lambda c: (c["depth"] * c["width"] * c["batch_size"], c["norm"] != "identity"))
        c = c | ({"steps": steps, "warmup": min(c["warmup"], steps)} if steps else {})
        out = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), p.task, json.dumps(c)], capture_output=True,
                             text=True, check=True)  # fmt: skip
        m = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append([p.title, f"{c['norm']} L {c['depth']} d {c['width']} b {c['batch_size']}, {m['steps']} steps",
                     f"{m['base']:.0f}", f"{m['peak']:.0f}", f"{m['peak'] - m['base']:.0f}"])  # fmt: skip
    report.table(["preset", "largest configuration", "RSS after imports MiB", "peak RSS MiB", "one run MiB"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="cut every preset run to this many steps")
    ap.add_argument("--presets", default=",".join(training.PRESETS))
    ap.add_argument("--skip-presets", action="store_true")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--first-click", action="store_true", help="also (c): each preset's first click as the page "
                    "schedules it (2 jobs, 1 thread each), wall time per preset")  # fmt: skip
    ap.add_argument("--memory", action="store_true", help="also (d): one run's peak memory in a fresh process")
    ap.add_argument("--memory-steps", type=int, default=None, help="cut (d)'s runs to this many steps")
    args = ap.parse_args()
    report.machine()
    names = [n for n in args.presets.split(",") if n]
    with threads.one_thread():
        if not args.skip_timing:
            step_timing(args.blocks)
        if not args.skip_presets:
            presets(names, args.seeds, args.steps)
    if args.first_click:
        first_click(names)
    if args.memory:
        memory(names, args.memory_steps)
    print(f"load avg at the end: {report.load()}; peak RSS {report.peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
