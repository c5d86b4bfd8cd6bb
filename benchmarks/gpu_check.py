"""One-shot check of the CUDA path: every page's compute on CUDA against the CPU (not part of the tests).

    python benchmarks/gpu_check.py                   # options: --repeats 5 --sizes default,large --no-capture

1. (CUDA only) Every norm on CUDA (float32, with and without a padding mask) against the same call on the
   CPU in float64, the reference; prints the worst absolute error per norm.
2. One table: each page's library entry point at the page's default size and at a large one, run with
   ``device.forced("cpu")`` and ``device.forced("cuda")``: medians of ``--repeats`` timed runs after one
   warm-up, ``torch.cuda.synchronize()`` around each; the speed-up; and max |cuda − cpu| over the page's
   numbers (projected coordinates compared up to sign: an eigenvector's sign is arbitrary).
3. What stays on the CPU whatever the device, and why (``device.placement_notes``).

On a machine without CUDA it prints the CPU column and "no CUDA" and exits 0.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from normviz.core import device, inputs, norms
from normviz.experiments import (
    attention,
    batch,
    batch_running,
    batch_stats,
    coupling,
    gradient_flow,
    groups,
    hypersphere,
    instance,
    real_data,
)

CUDA = torch.cuda.is_available()

TOL = 1e-4  # float32 on the GPU against float64 on the CPU, outputs of size ~1

# agreement of a page's numbers, relative to their largest magnitude (float32 sums in another order)
PAGE_TOL = 1e-3

SWEEP = [2, 4, 8, 16, 32, 64, 128, 256, 512]  # the Batch page's B values


def _sync() -> None:
    if CUDA:
        torch.cuda.synchronize()


def _median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median milliseconds of ``repeats`` runs, and the warm-up run's result (CUDA context, kernels, caches)."""
    result = fn()
    times = []
    for _ in range(repeats):
        _sync()
        t0 = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), result


def _flat(values) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in values])


def _tokens(n: int, d: int) -> torch.Tensor:
    return inputs.sample("outliers", batch=1, tokens=n, dim=d, seed=0)  # (1, N, d)


# page -> {size label: (description, entry point, numbers to compare)}; inputs are drawn once, on the CPU
def _cases() -> dict[str, dict[str, tuple[str, Callable[[], object], Callable[[object], tuple]]]]:
    hs_default, hs_large = _tokens(1024, 3), _tokens(65_536, 768)
    rd_default, rd_large = _tokens(2048, 384)[0], _tokens(16_384, 768)[0]

    def sphere(x):
        return lambda: hypersphere.compute(x, "layernorm")

    def flow(dim, b):
        kw = {"depth": 12, "dim": dim, "heads": 4, "norm": "layernorm", "batch": b, "tokens": 16, "seed": 0}
        return lambda: gradient_flow.run("pre", **kw)

    return {
        "hypersphere": {
            "default": ("1,024 x d 3", sphere(hs_default), lambda r: (np.abs(r.after), r.radius_hist.mean)),
            "large": ("65,536 x d 768", sphere(hs_large), lambda r: (np.abs(r.after), r.radius_hist.mean)),
        },
        "groups": {
            "default": (
                "2,048 x d 12, G 3",
                lambda: groups.group_view("outliers", tokens=2048, dim=12, groups=3),
                lambda r: (r.energy_gn, r.input_rms, r.ln_max_diff),
            ),
            "large": (
                "8,192 x d 256, G 16",
                lambda: groups.group_view("outliers", tokens=8192, dim=256, groups=16),
                lambda r: (r.energy_gn, r.input_rms, r.ln_max_diff),
            ),
        },
        "instance": {
            "default": (
                "B 4, T 3, d 64",
                lambda: instance.instance_view("gaussian", batch=4, tokens=3, dim=64),
                lambda r: (np.abs(r.after), r.neighbour_shift, r.max_abs_mean),
            ),
            "large": (
                "B 8, T 512, d 256",
                lambda: instance.instance_view("gaussian", batch=8, tokens=512, dim=256),
                lambda r: (np.abs(r.after), r.neighbour_shift, r.max_abs_mean),
            ),
        },
        "batch: spread sweep": {
            "default": (
                "B 2..512, T 8, d 64, K 100",
                lambda: batch.spread_sweep("gaussian", batch_sizes=SWEEP, tokens=8, dim=64, batches=100),
                lambda r: tuple(r.series.values()),
            ),
            "large": (
                "B 2..512, T 16, d 64, K 100",
                lambda: batch.spread_sweep("gaussian", batch_sizes=SWEEP, tokens=16, dim=64, batches=100),
                lambda r: tuple(r.series.values()),
            ),
        },
        "batch: statistics": {
            "default": (
                "B 2..512, T 8, d 64, K 50, padded",
                lambda: batch_stats.stats_error(
                    "heavy_tailed", batch_sizes=SWEEP, tokens=8, dim=64, batches=50, variable_length=True
                ),
                lambda r: (r.mean_error, r.var_error),
            ),
            "large": (
                "B 2..512, T 16, d 64, K 50, padded",
                lambda: batch_stats.stats_error(
                    "heavy_tailed", batch_sizes=SWEEP, tokens=16, dim=64, batches=50, variable_length=True
                ),
                lambda r: (r.mean_error, r.var_error),
            ),
        },
        "batch: running stats": {
            "default": (
                "B 2..512, T 8, d 64, 100 steps",
                lambda: batch_running.train_eval(
                    "gaussian", batch_sizes=SWEEP, tokens=8, dim=64, steps=100, momentum=0.1, r_max=3.0, d_max=5.0
                ),
                lambda r: tuple(r.series.values()),
            ),
            "large": (
                "B 2..512, T 16, d 64, 100 steps",
                lambda: batch_running.train_eval(
                    "gaussian", batch_sizes=SWEEP, tokens=16, dim=64, steps=100, momentum=0.1, r_max=3.0, d_max=5.0
                ),
                lambda r: tuple(r.series.values()),
            ),
        },
        "coupling: Jacobian": {
            "default": (
                "BatchNorm B 4, T 8, d 16",
                lambda: coupling.coupling("batchnorm", "gaussian", batch=4, tokens=8, dim=16),
                lambda r: (r.tokens, r.features),
            ),
            "large": (
                "BatchNorm B 4, T 16, d 64",
                lambda: coupling.coupling("batchnorm", "gaussian", batch=4, tokens=16, dim=64),
                lambda r: (r.tokens, r.features),
            ),
        },
        "coupling: motion": {
            "default": (
                "BatchNorm B 4, T 8, d 16, 31 steps",
                lambda: coupling.motion("batchnorm", "gaussian", batch=4, tokens=8, dim=16),
                lambda r: (r.moved,),
            ),
            "large": (
                "BatchNorm B 8, T 16, d 64, 201 steps",
                lambda: coupling.motion("batchnorm", "gaussian", batch=8, tokens=16, dim=64, steps=201),
                lambda r: (r.moved,),
            ),
        },
        "gradient flow": {
            "default": (
                "Pre-LN, 48 layers, d 64, 8 x 16",
                flow(64, 8),
                lambda r: (r[0].grad_norms, r[1].last_grad),
            ),
            "large": (
                "Pre-LN, 48 layers, d 256, 16 x 16",
                flow(256, 16),
                lambda r: (r[0].grad_norms, r[1].last_grad),
            ),
        },
        "attention": {
            "default": (
                "25 scales, d 64, T 32, B 8",
                lambda: attention.saturation(dim=64, tokens=32, batch=8),
                lambda r: (r["entropy"], r["entropy_ln"]),
            ),
            "large": (
                "25 scales, d 256, T 64, B 8",
                lambda: attention.saturation(dim=256, tokens=64, batch=8),
                lambda r: (r["entropy"], r["entropy_ln"]),
            ),
        },
        "real data": {
            "default": (
                "2,048 x d 384",
                lambda: (real_data.real_view(rd_default), real_data.layer_stats([rd_default])),
                lambda r: (np.abs(r[0].after), r[0].kept_after, r[1].angle_median),
            ),
            "large": (
                "16,384 x d 768",
                lambda: (real_data.real_view(rd_large), real_data.layer_stats([rd_large])),
                lambda r: (np.abs(r[0].after), r[0].kept_after, r[1].angle_median),
            ),
        },
    }


def _capture_case():
    """MiniLM's capture on 64 sentences x 32 tokens, if transformers and the bundled model are installed."""
    from normviz.io import capture

    try:
        model, tok = capture.load_model(capture.MINILM)
    except ValueError as err:
        print(f"(capture row skipped: {err})")
        return None
    sentences = (capture.split_sentences(capture.DEFAULT_TEXT) * 8)[:64]

    def run():
        model.to(device.device())  # load_model put it on device(); the table moves it per column
        cap = capture.capture_text(model, tok, sentences, max_tokens=32, pad_to_max=True)
        return cap

    return ("64 x 32 tokens, MiniLM", run, lambda c: tuple(x[c.mask].numpy() for x in c.inputs[:3]))


def check_norms() -> int:
    """Every norm on CUDA against float64 on the CPU; returns the number of failures."""
    failures = 0
    dev = torch.device("cuda")
    x = inputs.sample("outliers", batch=4, tokens=64, dim=96, seed=1)  # (4, 64, 96)
    lengths = torch.tensor([64, 50, 33, 7])
    mask = torch.arange(64)[None, :] < lengths[:, None]  # (4, 64)
    gamma, beta = torch.linspace(0.5, 2.0, 96), torch.linspace(-1.0, 1.0, 96)
    for name in norms.NORMS:
        for m in (None, mask):
            kw = {"groups": 8, "eps": 1e-5}
            ref = norms.apply(name, x.double(), mask=m, weight=gamma.double(), bias=beta.double(), **kw)
            got = norms.apply(
                name, x.to(dev), mask=None if m is None else m.to(dev), weight=gamma.to(dev), bias=beta.to(dev), **kw
            )
            assert got.device.type == "cuda" and got.dtype == torch.float32
            err = float((got.cpu().double() - ref).abs().max())
            ok = err < TOL
            failures += not ok
            print(
                f"{name:>12} mask={'yes' if m is not None else 'no ':3} max |cuda - cpu float64| = {err:.2e} "
                f"{'ok' if ok else 'FAIL'}"
            )
    return failures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per cell after one warm-up (median)")
    ap.add_argument("--sizes", default="default,large", help="comma-separated: default, large")
    ap.add_argument("--no-capture", action="store_true", help="skip the MiniLM capture row")
    args = ap.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]

    print(f"device: {device.describe()} | torch {torch.__version__} | CPU threads {torch.get_num_threads()}")
    failures = check_norms() if CUDA else 0
    if not CUDA:
        print("no CUDA: timing the CPU only (the cuda columns read '-')")

    cases = _cases()
    if not args.no_capture:
        cap = _capture_case()
        if cap is not None:
            cases["real data: capture"] = {"default": cap}

    head = f"{'page':<22} {'size':<8} {'what':<36} {'cpu ms':>9} {'cuda ms':>9} {'speed-up':>8} {'max|cuda-cpu|':>14}"
    print(head)
    print("-" * len(head))
    for page, by_size in cases.items():
        for size in sizes:
            if size not in by_size:
                continue
            what, fn, numbers = by_size[size]
            with device.forced("cpu"):
                t_cpu, ref = _median_ms(fn, args.repeats)
            cuda_ms = speed = diff = "-"
            if CUDA:
                with device.forced("cuda"):
                    t_gpu, got = _median_ms(fn, args.repeats)
                ref, got = _flat(numbers(ref)), _flat(numbers(got))
                err = float(np.abs(got - ref).max()) if got.shape == ref.shape else math.inf
                ok = err <= PAGE_TOL * max(1.0, float(np.abs(ref).max()))
                failures += not ok
                cuda_ms, speed, diff = f"{t_gpu:.1f}", f"{t_cpu / t_gpu:.1f}x", f"{err:.1e}{'' if ok else ' FAIL'}"
            print(f"{page:<22} {size:<8} {what:<36} {t_cpu:>9.1f} {cuda_ms:>9} {speed:>8} {diff:>14}")
            sys.stdout.flush()

    print("\nwhat runs where (the sidebar's list):")
    for line in device.placement_notes():
        print(f"  - {line}")
    if not CUDA:
        print("no CUDA")
        return 0
    print("ALL OK" if failures == 0 else f"{failures} FAILURES")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
