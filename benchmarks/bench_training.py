"""Benchmark: the Training page's instrumented step against a bare torch loop, and each preset over seeds.

Run it from the repository root:

    python benchmarks/bench_training.py                      # options: --steps N (shorter presets), --seeds 3,
                                                             # --presets warmup,batchsize  --skip-presets

(a) One training step of the page's model as :class:`normviz.training.Trainer` takes it (loss, backward, each
    block's gradient norm, the optimizer step with each block's ‖Δθ‖/‖θ‖, the divergence check, and the
    held-out evaluation every steps/25 steps, amortized) against a bare loop over the very same model, batches
    and optimizer (forward, loss, backward, step, nothing else): the issue's model, 8 blocks, d = 64, 4 heads,
    batch 32 × 64 characters, AdamW, one torch thread. Blocks of 5 steps alternate between the two (the
    machine is shared and noisy); medians per step; target ratio ≤ 1.15.
(b) Every preset, every configuration, over ``--seeds`` seeds: the mean training loss of the last 10 steps,
    the last held-out loss (and accuracy), where a run diverged, and the seconds each took (one thread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from normviz import training  # noqa: E402
from normviz.core import threads  # noqa: E402

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


def presets(names: list[str], seeds: int, steps: int | None) -> None:
    print(f"\n(b) presets over {seeds} seed(s)" + (f", each run cut to {steps} steps" if steps else ", as shipped"))
    rows = []
    for name in names:
        p = training.PRESETS[name]
        t_preset = 0.0
        for i, c in enumerate(p.configs):
            finals, helds, accs, divs, secs = [], [], [], [], []
            for s in range(seeds):
                kw = {**c, "seed": c["seed"] + s} | (
                    {"steps": steps, "warmup": min(c["warmup"], steps)} if steps else {}
                )
                t0 = time.perf_counter()
                r = training.run(p.task, **kw)
                secs.append(time.perf_counter() - t0)
                finals.append(statistics.mean(r.train_loss[-10:]))
                helds.append(r.eval_loss[-1] if r.eval_loss else float("nan"))
                accs.append(r.eval_acc[-1] if r.eval_acc else None)
                divs.append(r.diverged_at)
            t_preset += sum(secs) / seeds
            label = (f"{'ABCD'[i]}: {c['placement']} {c['norm']} lr {c['lr']:g} wu {c['warmup']} "
                     f"b {c['batch_size']} L {c['depth']}")  # fmt: skip
            rows.append([p.title if i == 0 else "", label, " ".join(f"{v:.2f}" for v in finals),
                         " ".join(f"{v:.2f}" for v in helds),
                         " ".join("-" if v is None else f"{v:.2f}" for v in accs) if p.task == "digits" else "-",
                         " ".join("-" if d is None else str(d) for d in divs),
                         f"{statistics.median(secs):.0f}"])  # fmt: skip
        rows.append(["", f"(one seed of every configuration: {t_preset:.0f} s, one thread)", "", "", "", "", ""])
        header = ["preset", "configuration", "train loss (last 10)", "held-out", "acc", "diverged", "s/run"]
        report.table(header, rows)  # each preset as soon as it is done
        sys.stdout.flush()
        rows = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="cut every preset run to this many steps")
    ap.add_argument("--presets", default=",".join(training.PRESETS))
    ap.add_argument("--skip-presets", action="store_true")
    ap.add_argument("--skip-timing", action="store_true")
    args = ap.parse_args()
    report.machine()
    with threads.one_thread():
        if not args.skip_timing:
            step_timing(args.blocks)
        if not args.skip_presets:
            presets([n for n in args.presets.split(",") if n], args.seeds, args.steps)
    print(f"load avg at the end: {report.load()}; peak RSS {report.peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
