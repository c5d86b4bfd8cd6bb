"""Benchmark: the Batch page's default computation (normviz.batch.probe_spread) against its floor.

Run it from the repository root (about half a minute on an idle 2-core CPU machine):

    cd /work/main && /work/venv/bin/python benchmarks/bench_batch.py
    # options: --repeats 7 --warmup 1

* computation: ``batch.probe_spread("gaussian", batch_sizes=[2, 4, ..., 512], tokens=8, dim=64,
  batches=100)``: 100 batches at each of the 9 batch sizes, 52.3M values drawn in all.
* floor: torch drawing the same number of values (``torch.randn`` per batch) and torch's own
  ``F.batch_norm(training=True)`` on each batch, in a plain Python loop; nothing else.

Both run back to back in each repeat, in alternating order (the machine is shared and noisy); the
verdict is the median of per-repeat ratios (target <= 1.5x) and the median time (target <= 1 s).
Peak memory is ru_maxrss of this process (target <= 1 GB). Then a fresh child process runs the
largest sizes the library allows (one draw at ``checks.MAX_VALUES`` values) and reports its own peak
(target <= 2 GB).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from normviz.core import checks  # noqa: E402
from normviz.experiments import batch, batch_stats  # noqa: E402

SIZES = [2**i for i in range(1, 10)]  # 2 ... 512
K, T, D = 100, 8, 64
TARGET_RATIO, TARGET_S, TARGET_MIB, LARGEST_MIB = 1.5, 1.0, 1024, 2048


def computation() -> list[float]:
    return batch.probe_spread("gaussian", batch_sizes=SIZES, tokens=T, dim=D, batches=K)


def floor() -> None:
    g = torch.Generator().manual_seed(0)
    for B in SIZES:
        for _ in range(K):
            x = torch.randn(B * T, D, generator=g)  # (B*T, d): one batch
            F.batch_norm(x, None, None, training=True, eps=1e-5)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def largest() -> None:
    """Child process: the largest sizes the caps allow, heavy_tailed (the sampler with most temporaries)."""
    d_probe = checks.MAX_VALUES // (K * max(SIZES) * T)  # one draw at the cap
    t0 = time.perf_counter()
    batch.probe_spread("heavy_tailed", batch_sizes=SIZES, tokens=T, dim=d_probe, batches=K)
    t1 = time.perf_counter()
    pop_seq = -(-batch_stats.POPULATION_TOKENS // T)
    d_stats = checks.MAX_VALUES // ((K * max(SIZES) + pop_seq) * T)
    batch_stats.stats_error("heavy_tailed", batch_sizes=SIZES, tokens=T, dim=d_stats, batches=K, variable_length=True)
    t2 = time.perf_counter()
    print(
        f"probe_spread heavy_tailed, B = 2..512, K={K}, T={T}, d={d_probe} "
        f"({K * max(SIZES) * T * d_probe:,} values at B = 512): {t1 - t0:.1f} s"
    )
    print(
        f"stats_error heavy_tailed variable-length, B = 2..512, K={K}, T={T}, d={d_stats} "
        f"({(K * max(SIZES) + pop_seq) * T * d_stats:,} values at B = 512): {t2 - t1:.1f} s"
    )
    mib = peak_mib()
    print(
        f"peak memory (ru_maxrss) of this process: {mib:,.0f} MiB  {'ok' if mib <= LARGEST_MIB else 'MISS'} (<= 2 GB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--largest", action="store_true", help="(internal) run the largest sizes and exit")
    args = ap.parse_args()
    if args.largest:
        largest()
        return

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load avg {load}")
    print(f"default: B = {SIZES[0]}..{SIZES[-1]} (powers of 2), K={K}, T={T}, d={D}, gaussian; ", end="")
    print(f"{K * sum(SIZES) * T * D:,} values drawn")
    ours, floors = [], []
    for r in range(args.warmup + args.repeats):
        order = (computation, floor) if r % 2 == 0 else (floor, computation)
        times = {}
        for fn in order:
            gc.collect()
            t0 = time.perf_counter()
            fn()
            times[fn] = time.perf_counter() - t0
        if r >= args.warmup:
            ours.append(times[computation])
            floors.append(times[floor])
    ratio = statistics.median(o / f for o, f in zip(ours, floors, strict=True))
    med_o, med_f = statistics.median(ours), statistics.median(floors)
    mib = peak_mib()
    print(f"\n{'':28}{'median ms':>10}{'min ms':>9}")
    print(f"{'probe_spread (library)':28}{1e3 * med_o:10.0f}{1e3 * min(ours):9.0f}")
    print(f"{'floor (randn + batch_norm)':28}{1e3 * med_f:10.0f}{1e3 * min(floors):9.0f}")
    verdict = "ok" if ratio <= TARGET_RATIO else "MISS"
    print(f"ratio (median of per-repeat ratios): {ratio:.2f}x  {verdict} (<= {TARGET_RATIO}x)")
    print(f"min-ratio (fastest / fastest): {min(ours) / min(floors):.2f}x")
    print(f"median time: {med_o:.2f} s  {'ok' if med_o <= TARGET_S else 'MISS'} (<= {TARGET_S:.0f} s)")
    print(f"peak memory (ru_maxrss): {mib:,.0f} MiB  {'ok' if mib <= TARGET_MIB else 'MISS'} (<= 1 GB)")
    print(f"spreads: {', '.join(f'{s:.3f}' for s in computation())}")

    print("\nlargest sizes allowed (a fresh process, its own peak):", flush=True)
    out = subprocess.run([sys.executable, __file__, "--largest"], capture_output=True, text=True, check=False)
    print(out.stdout.strip() or out.stderr.strip())


if __name__ == "__main__":
    main()
