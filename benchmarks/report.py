"""Printing helpers the benchmarks share: medians, milliseconds, peak memory, a plain table, the machine."""

from __future__ import annotations

import os
import platform
import resource
import statistics

import numpy as np
import plotly
import sklearn
import torch


def med(xs):
    return statistics.median(xs)


def peak_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def ms(s: float) -> str:
    return f"{1e3 * s:,.0f}"


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(cells):
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in pairs)

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(fmt(r))


def load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def machine() -> None:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), model)
    except OSError:
        pass
    print(f"machine: {model}; os.cpu_count()={os.cpu_count()}, usable CPUs={affinity}; load avg {load()}")
    print(
        f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads, "
        f"{torch.get_num_interop_threads()} inter-op; numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"plotly {plotly.__version__}; python {platform.python_version()}"
    )
