"""Benchmark: the Gradient-flow page's default computation against its floor, and the other pages' defaults.

Run it from the repository root (about a minute on an idle 2-core CPU machine):

    /work/venv/bin/python benchmarks/bench_dynamics.py          # options: --repeats 5 --warmup 1

* per configuration (placement x norm at the page's defaults: L = 12, d = 64, 4 heads, 8 x 16 tokens):
  ``gradient_flow.experiment`` = what the page computes per (placement, seed): build the 48-layer stack at init
  (Xavier draws), one forward through it, the last layer's gradient at each sweep depth
  L = 1, 2, 3, 6, 12, 24, 48, and the full backward from the loss at L = 12 (every layer's gradient and the
  hidden norms).
* floor: one bare forward+backward of the same 48-layer stack, already built, on the same inputs and the
  same single thread (``loss.backward()``, nothing else).

Both run back to back in each repeat, in alternating order (the machine is shared and noisy); the verdict
is the median of per-repeat ratios (target <= 1.3x). Then the default view of each page, end to end in the
library (target <= 3 s): Gradient flow = 3 placements x 2 seeds + combine; Jacobian; Attention.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from normviz.core import threads  # noqa: E402
from normviz.experiments import attention, gradient_flow, jacobian  # noqa: E402

DEPTH, DIM, HEADS, BATCH, TOKENS = 12, 64, 4, 8, 16
CONFIGS = [(p, n) for p in ("post", "pre", "peri") for n in gradient_flow.NORMS] + [("none", "layernorm")]
TARGET_RATIO, TARGET_S = 1.3, 3.0
KEY_COUNTS = [4, 6, 8, 12, 16, 24, 32, 48, 64]  # pages/attention.py's chart


def ours(placement: str, norm: str):
    return gradient_flow.experiment(
        placement, depth=DEPTH, dim=DIM, heads=HEADS, norm=norm, batch=BATCH, tokens=TOKENS, seed=0
    )


def make_floor(placement: str, norm: str):
    stack = gradient_flow.build_stack(
        placement, depth=max(gradient_flow.DEPTHS), dim=DIM, heads=HEADS, norm=norm, seed=0
    )
    x, targets = gradient_flow.task(batch=BATCH, tokens=TOKENS, dim=DIM, seed=0)
    x = x.to(stack.readout.dtype)

    def floor():
        with threads.one_thread():
            h = x
            for block in stack.blocks:
                h = block(h)
            stack.head(h, targets).backward()

    return floor


def timed(fn) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def gradient_flow_page() -> None:
    results = {p: [ours(p, "layernorm") for _ in range(2)] for p in ("post", "pre", "peri")}
    gradient_flow.combine(results, dim=DIM)


def jacobian_page() -> None:
    jacobian.arrows("layernorm", azimuth=10, elevation=5, scale=2.5, upstream="tangent")
    jacobian.output_set("layernorm")
    jacobian.scale_sweep("layernorm", azimuth=10, elevation=5, upstream="tangent")


def attention_page() -> None:
    attention.saturation(dim=64, tokens=32)
    attention.attention_maps(10.0, dim=64, tokens=32)
    for n in KEY_COUNTS:
        attention.unselectable_fraction(n=n, dim=3, sets=100)
    attention.keys_view(n=8, seed=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load avg {load}")
    print(
        f"defaults: L = {DEPTH} (sweep to {max(gradient_flow.DEPTHS)}), d = {DIM}, {HEADS} heads, "
        f"{BATCH}x{TOKENS} tokens"
    )
    print(f"\n{'configuration':24}{'ours ms':>9}{'floor ms':>10}{'ratio':>8}")
    ratios = []
    for placement, norm in CONFIGS:
        floor = make_floor(placement, norm)
        o, f, r = [], [], []
        for rep in range(args.warmup + args.repeats):
            pair = (functools.partial(ours, placement, norm), floor)
            t = [timed(fn) for fn in (pair if rep % 2 == 0 else pair[::-1])]
            t_o, t_f = (t[0], t[1]) if rep % 2 == 0 else (t[1], t[0])
            if rep >= args.warmup:
                o.append(t_o)
                f.append(t_f)
                r.append(t_o / t_f)
        ratio = statistics.median(r)
        ratios.append(ratio)
        verdict = "ok" if ratio <= TARGET_RATIO else "MISS"
        name = f"{placement} / {norm}"
        print(f"{name:24}{1e3 * statistics.median(o):9.0f}{1e3 * statistics.median(f):10.0f}{ratio:7.2f}x {verdict}")
    print(f"worst ratio {max(ratios):.2f}x (target <= {TARGET_RATIO}x)")

    print(f"\n{'default view (library)':40}{'median s':>9}")
    for name, fn in (
        ("Gradient flow: 3 placements x 2 seeds", gradient_flow_page),
        ("Jacobian", jacobian_page),
        ("Attention (saturation, maps, 9 x 100 hulls)", attention_page),
    ):
        fn()  # warm-up
        med = statistics.median(timed(fn) for _ in range(3))
        print(f"{name:40}{med:9.2f}  {'ok' if med <= TARGET_S else 'MISS'} (<= {TARGET_S:.0f} s)")


if __name__ == "__main__":
    main()
