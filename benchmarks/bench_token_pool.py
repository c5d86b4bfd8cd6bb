"""Benchmark: capturing the real token pool (MiniLM over 2,000 pydoc sentences) against a bare MiniLM forward.

Run it from the repository root (a few minutes on a shared 2-core CPU machine):

    python benchmarks/bench_token_pool.py
    # options: --sentences 2000 --points 2 12 --repeats 1 --massive 300 --compare

What it measures:

* capture: ``token_pool.capture_pool`` at each capture point: the forward pass in chunks of 64 length-sorted
  sentences, stopped at the chosen norm, keeping only the real tokens;
* floor: the bare model (``model(**batch)``, no hooks) over the same sentences in the same chunks, the whole
  forward pass; and the same without sorting by length (one padded batch cut into chunks of 64);
* memory: the pool's bytes (tokens × d × 4), and the process's peak RSS before and after.
* ``--massive N``: every capture point over the first N sentences: the [CLS] tokens' largest feature (median
  over [CLS] of |x_j|) and the other tokens' largest, each over the median |x| of all values.
* ``--compare``: PowerNorm's comparison (Shen et al. 2020, Fig. 2): batch against pool statistics for MiniLM's
  tokens at each point and for the two image-patch pools, at B = 2 … 64, K = 100 batches, masked.

Targets (ok / MISS): capture ≤ 20 s at every point, on an idle 2-core CPU (the load average is printed: on a
shared machine the time scales with it); pool ≤ 400 MB.

Measured 2026-12-01 on the shared 2-core CPU at load average 17–22 (so ~10 processes per core): 54,750 real
tokens, pool 80 MiB; point 2: capture 67.9 s against a bare full forward of 216.1 s (the capture stops after
layer 0); point 12: capture 219.8 s against 186.2 s bare (1.18; the unsorted padded forward took 310.0 s). Peak
RSS 947–999 MiB with the model (500 MiB) and the benchmark's own bare forwards. Both MISS the 20 s target at that
load; an idle machine was not available to measure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import report  # noqa: E402  (benchmarks/report.py)
import torch  # noqa: E402

from normviz.experiments import batch_real  # noqa: E402
from normviz.io import capture, patches, token_pool  # noqa: E402


def bare_forward(model, tokenizer, sentences, *, sort: bool) -> float:
    enc = tokenizer(sentences, truncation=True, max_length=64)
    lengths = np.array([len(i) for i in enc["input_ids"]])
    order = np.argsort(lengths, kind="stable") if sort else np.arange(len(sentences))
    t0 = time.perf_counter()
    if not sort:
        batch = tokenizer(sentences, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.inference_mode():
        for start in range(0, len(sentences), 64):
            if sort:
                idx = order[start : start + 64]
                b = tokenizer([sentences[i] for i in idx], padding=True, truncation=True, max_length=64,
                              return_tensors="pt")  # fmt: skip
            else:
                b = {k: v[start : start + 64] for k, v in batch.items()}
            model(**b)
    return time.perf_counter() - t0


def massive_table(model, tokenizer, n: int) -> None:
    sentences = token_pool.doc_sentences(n)
    names = [name for name, _ in capture.norm_modules(model)]
    rows = []
    for point in range(len(names)):
        pool = token_pool.capture_pool(model, tokenizer, sentences, point)
        x = pool.x.double().abs()  # (N, d)
        median = float(x.median())
        first = pool.offsets[:-1]
        cls = x[first].median(0).values  # (d,) median over [CLS] tokens of |x_j|
        rest = np.ones(x.shape[0], bool)
        rest[first] = False
        other = x[rest].median(0).values
        j, k = int(cls.argmax()), int(other.argmax())
        peak_j = int(x.max(0).values.argmax())
        rows.append([f"{point}", names[point].removeprefix("encoder."), f"{j}", f"{float(cls[j]) / median:,.0f}×",
                     f"{k}", f"{float(other[k]) / median:,.1f}×", f"{peak_j}",
                     f"{float(x.max()) / median:,.0f}×"])  # fmt: skip
    print(f"\nMassive activations over {n} sentences (ratios to the median |x| of all real values at that point):")
    report.table(
        ["pt", "norm", "[CLS] top j", "median [CLS] |x_j|", "other top j", "median other |x_j|", "argmax j", "max |x|"],
        rows,
    )


def compare(model, tokenizer, sentences, points) -> None:
    sizes = [2, 4, 8, 16, 32, 64]
    pools = {f"MiniLM point {p}": token_pool.capture_pool(model, tokenizer, sentences, p) for p in points}
    pools.update({f"patches: {s}": patches.image_pool(s) for s in patches.IMAGE_SOURCES})
    print(f"\nBatch against pool statistics, K = 100 batches of B sequences (masked), B = {sizes}:")
    rows = []
    for name, pool in pools.items():
        for masked in (True, False) if name.startswith("MiniLM") else (True,):
            st = batch_real.pool_stats(pool, batch_sizes=sizes, batches=100, masked=masked)
            rows.append([name + ("" if masked else " (pads counted)"), f"{pool.n_sequences}", f"{pool.dim}",
                         " ".join(f"{v:.3f}" for v in st.mean_error), " ".join(f"{v:.3f}" for v in st.var_error),
                         f"{st.var_slope:.2f}", " ".join(f"{v:.2g}" for v in st.dist_var),
                         f"{st.overlap[-1]:.2f}"])  # fmt: skip
    report.table(["pool", "S", "d", "RMS (μ_B−μ)/σ", "RMS (σ²_B−σ²)/σ²", "slope", "‖σ²_B−σ²‖/d", "overlap@64"], rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=token_pool.DOC_SENTENCES)
    ap.add_argument("--points", type=int, nargs="+", default=[2, 12])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--massive", type=int, default=0, help="sentences for the massive-activation table (0: skip)")
    ap.add_argument("--compare", action="store_true")
    args = ap.parse_args()
    report.machine()
    rss0 = report.peak_mib()
    model, tokenizer = capture.load_model(capture.MINILM)
    sentences = token_pool.doc_sentences(args.sentences)
    rss_model = report.peak_mib()
    print(f"{len(sentences)} sentences; peak RSS {rss0:,.0f} MiB before the model, {rss_model:,.0f} MiB with it")
    rows = []
    for point in args.points:
        cap_t, bare_t, naive_t = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            pool = token_pool.capture_pool(model, tokenizer, sentences, point)
            cap_t.append(time.perf_counter() - t0)
            bare_t.append(bare_forward(model, tokenizer, sentences, sort=True))
            naive_t.append(bare_forward(model, tokenizer, sentences, sort=False))
        c, b, n = report.med(cap_t), report.med(bare_t), report.med(naive_t)
        mb = pool.nbytes / 2**20
        rows.append([f"{point}", f"{pool.x.shape[0]:,}", f"{c:.1f}", f"{b:.1f}", f"{c / b:.2f}", f"{n:.1f}",
                     f"{mb:.0f}", f"{report.peak_mib():,.0f}",
                     "ok" if c <= 20 else "MISS", "ok" if mb <= 400 else "MISS"])  # fmt: skip
        del pool
    print(f"load average now: {report.load()}")
    report.table(
        ["point", "tokens", "capture s", "bare fwd s", "ratio", "unsorted fwd s", "pool MiB", "peak RSS MiB",
         "≤ 20 s", "≤ 400 MB"],
        rows,
    )  # fmt: skip
    if args.massive:
        massive_table(model, tokenizer, args.massive)
    if args.compare:
        compare(model, tokenizer, sentences, args.points)


if __name__ == "__main__":
    main()
