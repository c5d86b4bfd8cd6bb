"""Benchmark: the Hypersphere page's server-side pipeline against the floor torch + sklearn set.

Run it from the repository root (about 1.5 minutes on an idle 2-core CPU machine, longer when
other processes share it):

    python benchmarks/bench_hypersphere.py
    # options: --repeats 5 --warmup 1 --tokens 8192 65536 --kinds gaussian heavy_tailed

What it measures, at batch=1, tokens=N (8,192 and 65,536), d=768, for the "gaussian" and
"heavy_tailed" inputs, with the page's default controls and norm="layernorm":

* pipeline: exactly what pages/hypersphere.py does on a rerun, without Streamlit:
  inputs.sample -> hypersphere.compute(x, "layernorm") -> scenes.sphere_view_figure ->
  fig.to_json() (what ui.plotly_view sends), plus charts.histograms_figure and
  charts.elementwise_figure serialized the way st.plotly_chart does
  (plotly.io.to_json(fig.to_dict(), validate=False)).
* floor: the same distribution drawn by torch alone (torch.randn, or inputs.py's Student-t
  construction written out), F.layer_norm alone, and sklearn PCA(n_components=2,
  svd_solver="auto").fit on the (N, 768) float32 LayerNorm output alone, summed.

Targets it checks (printed as ok / MISS):

* pipeline / floor <= 1.3 (medians of per-repeat ratios; pipeline and floor run back to back
  in each repeat, in alternating order, because the machine is shared and noisy).
* the same ratio without sampling (compute + figures + JSON vs LayerNorm + PCA): the app
  caches the sample (ui.sample is st.cache_resource), so moving ε, γ or β costs this part only.
* the 3D figure's JSON carries its arrays as base64 typed arrays ("bdata"), never as lists;
  it prints the JSON bytes per drawn point (both scenes count) and the share of those bytes
  that is plotly's HTML-safe escaping of "/" as "\\u002f" inside the base64 text. The two 2D
  figures are checked the same way.
* the comment in normviz/norms.py (that CPU F.rms_norm is ~2.5x slower than its rsqrt
  formulation at 65536 x 768): the rsqrt formulation, F.rms_norm, F.layer_norm, a one-pass
  vector_norm candidate, and norms.apply (which adds the argument checks) side by side.

It also prints the peak resident memory (ru_maxrss) after each size and at the end, and checks
that streamlit was never imported. Timings are CPU-only (torch on the CPU, as on this machine).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import plotly.io as pio  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from report import load, machine, med, ms, peak_mib, table  # noqa: E402  (benchmarks/report.py)
from sklearn.decomposition import PCA  # noqa: E402

from normviz.core import inputs, norms  # noqa: E402
from normviz.experiments import hypersphere  # noqa: E402
from normviz.figures import charts, scenes, style  # noqa: E402

DIM = 768
TARGET = 1.3
NORM = "layernorm"
NORM_LABEL = "LayerNorm"  # pages/hypersphere.py NORM_LABELS["layernorm"]
# pages/hypersphere.py defaults for everything the benchmark does not vary
CONTROLS = dict(method="ones+pca", seed=0, eps=1e-5, gamma_scale=1.0, gamma_spread=1.0, beta_shift=0.0, alpha=0.5)

now = time.perf_counter


# --- the page, without Streamlit ----------------------------------------------------------


def page_pipeline(kind: str, tokens: int) -> tuple[dict[str, float], dict]:
    """One rerun of pages/hypersphere.py with a cold cache. Returns stage times (s) and outputs."""
    c = dict(CONTROLS, norm=NORM, kind=kind, dim=DIM, tokens=tokens)
    t0 = now()
    x = inputs.sample(kind, batch=1, tokens=tokens, dim=DIM, seed=c["seed"])  # ui.sample (CPU: .to is a no-op)
    t1 = now()
    v = hypersphere.compute(
        x,
        NORM,
        eps=c["eps"],
        gamma_scale=c["gamma_scale"],
        gamma_spread=c["gamma_spread"],
        beta_shift=c["beta_shift"],
        alpha=c["alpha"],
        method=c["method"],
        seed=c["seed"],
    )
    t2 = now()
    fig = scenes.sphere_view_figure(v, NORM_LABEL)
    t3 = now()
    fig.update_layout(meta={"link_cameras": True})  # ui.plotly_view
    fig_json = fig.to_json()
    _revision = str(hash(tuple(c.items())))
    t4 = now()
    rh, mh = v.radius_hist, v.mean_hist
    marks = [(v.sqrt_d, f"√d = {v.sqrt_d:.4g}")]
    hist = charts.histograms_figure(
        [
            {"title": "token length ‖y‖ (all tokens)", "hist": rh, "marks": marks, "xlabel": "‖y‖"},
            {"title": "token mean (1/d)Σᵢ yᵢ (all tokens)", "hist": mh, "marks": [(0.0, "0")], "xlabel": "mean"},
        ]
    )
    hist_json = _st_plotly_chart_json(hist)
    series = [("LayerNorm (no affine)", v.elementwise_ln, style.PALETTE["orange"])]
    curves = [
        (f"tanh({v.ln_alpha:.3g}·x), best fit to LayerNorm", v.curve_x, v.curve_ln_fit, style.PALETTE["vermillion"])
    ]
    el_json = _st_plotly_chart_json(charts.elementwise_figure(v.elementwise_x, series, curves))
    t5 = now()
    times = {"sample": t1 - t0, "compute": t2 - t1, "fig3d_build": t3 - t2, "fig3d_json": t4 - t3, "fig2d": t5 - t4}
    times["total"] = t5 - t0
    times["no_sample"] = t5 - t1
    out = {"fig_json": fig_json, "hist_json": hist_json, "el_json": el_json, "n_shown": v.n_shown}
    return times, out


def _st_plotly_chart_json(fig) -> str:
    """What st.plotly_chart puts on the wire (Streamlit 1.67: to_dict, then to_json unvalidated)."""
    return pio.to_json(fig.to_dict(), validate=False)


# --- the floor: torch and sklearn doing only the necessary work ----------------------------


def draw(kind: str, tokens: int, g: torch.Generator) -> torch.Tensor:
    shape = (1, tokens, DIM)
    if kind == "gaussian":
        return torch.randn(*shape, generator=g, dtype=torch.float32)
    if kind == "heavy_tailed":  # inputs.py's Student-t(3): z / sqrt(chi2_3 / 3), chi2_3 = -2 log U + z'^2
        z = torch.randn(*shape, generator=g, dtype=torch.float32)
        chi2 = torch.rand(*shape, generator=g).clamp_min_(torch.finfo(torch.float32).tiny).log_().mul_(-2.0)
        chi2.add_(torch.randn(*shape, generator=g, dtype=torch.float32).square_())
        return z.mul_(chi2.div_(3).rsqrt_())
    raise ValueError(f"no floor sampler for {kind!r}")


def floor(kind: str, tokens: int) -> dict[str, float]:
    g = torch.Generator().manual_seed(0)
    t0 = now()
    x = draw(kind, tokens, g)
    t1 = now()
    y = F.layer_norm(x, (DIM,), eps=CONTROLS["eps"])
    t2 = now()
    PCA(n_components=2, svd_solver="auto").fit(y.reshape(-1, DIM).numpy())
    t3 = now()
    return {"draw": t1 - t0, "layer_norm": t2 - t1, "pca": t3 - t2, "total": t3 - t0, "no_sample": t3 - t1}


# --- JSON checks -----------------------------------------------------------------------------


def json_arrays(fig_json: str) -> tuple[int, list[tuple[str, int]]]:
    """(number of bdata arrays, [(path, length) of numeric lists with >= 3 items]) in the traces."""
    data = json.loads(fig_json)["data"]
    n_bdata, lists = 0, []

    def walk(o, path):
        nonlocal n_bdata
        if isinstance(o, dict):
            if "bdata" in o:
                n_bdata += 1
                return
            for k, val in o.items():
                walk(val, f"{path}.{k}")
        elif isinstance(o, list):
            if len(o) >= 3 and all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in o):
                lists.append((path, len(o)))
            else:
                for i, e in enumerate(o):
                    walk(e, f"{path}[{i}]")

    for i, trace in enumerate(data):
        walk(trace, f"data[{i}]")
    return n_bdata, lists


def points_are_bdata(fig_json: str) -> bool:
    """The two point clouds' x, y, z and marker.color are base64 typed arrays."""
    data = json.loads(fig_json)["data"]
    keys = [tr[k] for tr in data[:2] for k in "xyz"] + [tr["marker"]["color"] for tr in data[:2]]
    return all(isinstance(k, dict) and "bdata" in k for k in keys)


# --- the three parts ------------------------------------------------------------------------


def bench_pipeline(tokens_list, kinds, repeats, warmup):
    main_rows, stage_rows, json_rows = [], [], []
    for n in tokens_list:
        for kind in kinds:
            pipes, floors = [], []
            out = None
            for r in range(warmup + repeats):
                order = (0, 1) if r % 2 == 0 else (1, 0)  # alternate who goes first
                p = f = None
                for which in order:
                    gc.collect()
                    if which == 0:
                        p, o = page_pipeline(kind, n)
                        out = o
                    else:
                        f = floor(kind, n)
                if r >= warmup:
                    pipes.append(p)
                    floors.append(f)
            ratio = med([p["total"] / f["total"] for p, f in zip(pipes, floors, strict=True)])
            ratio_ns = med([p["no_sample"] / f["no_sample"] for p, f in zip(pipes, floors, strict=True)])
            # best-case ratio: noise from other processes only ever adds time, so min/min is a cross-check
            best = min(p["total"] for p in pipes) / min(f["total"] for f in floors)
            best_ns = min(p["no_sample"] for p in pipes) / min(f["no_sample"] for f in floors)
            pm = {k: med([p[k] for p in pipes]) for k in pipes[0]}
            fm = {k: med([f[k] for f in floors]) for k in floors[0]}
            main_rows.append(
                [
                    f"{n:,} x {DIM}",
                    kind,
                    ms(pm["total"]),
                    ms(fm["total"]),
                    f"{ratio:.2f}x",
                    f"{best:.2f}x",
                    "ok" if ratio <= TARGET else "MISS",
                    ms(pm["no_sample"]),
                    ms(fm["no_sample"]),
                    f"{ratio_ns:.2f}x",
                    f"{best_ns:.2f}x",
                    "ok" if ratio_ns <= TARGET else "MISS",
                ]
            )
            stage_rows.append(
                [
                    f"{n:,} x {DIM}",
                    kind,
                    ms(pm["sample"]),
                    ms(pm["compute"]),
                    ms(pm["fig3d_build"]),
                    ms(pm["fig3d_json"]),
                    ms(pm["fig2d"]),
                    ms(fm["draw"]),
                    ms(fm["layer_norm"]),
                    ms(fm["pca"]),
                ]
            )
            fj = out["fig_json"]
            n_drawn = 2 * out["n_shown"]  # the same sample of tokens in both scenes
            nbytes = len(fj.encode())
            escaped = fj.count("\\u002f") * 5  # plotly's HTML-safe escaping of "/" in base64
            n_bdata, lists = json_arrays(fj)
            ok = points_are_bdata(fj) and not lists
            json_rows.append(
                [
                    f"{n:,} x {DIM}",
                    kind,
                    f"{n_drawn:,}",
                    f"{nbytes / 1024:,.1f}",
                    f"{nbytes / n_drawn:.1f}",
                    f"{escaped / nbytes:.0%}",
                    f"{n_bdata} bdata, {len(lists)} lists",
                    "ok" if ok else "MISS",
                    "; ".join(
                        f"{name} {len(out[key].encode()) / 1024:,.0f} KiB {_json_check(out[key])}"
                        for name, key in (("hist", "hist_json"), ("elementwise", "el_json"))
                    ),
                ]
            )
            print(f"  done {n:,} x {DIM} {kind}: pipeline {ms(pm['total'])} ms, floor {ms(fm['total'])} ms", flush=True)
            del out
        print(f"  peak RSS after N={n:,}: {peak_mib():,.0f} MiB", flush=True)
    return main_rows, stage_rows, json_rows


def _json_check(s: str) -> str:
    n_bdata, lists = json_arrays(s)
    return f"({n_bdata} bdata, {len(lists)} lists{': ' + ', '.join(p for p, _ in lists) if lists else ''})"


def _rms_vector_norm(x, eps):
    """A one-pass-statistics RMSNorm (not in norms.py): no (B, T, d) temporary for x²."""
    inv = torch.linalg.vector_norm(x, dim=-1, keepdim=True).square_().div_(x.shape[-1]).add_(eps).rsqrt_()
    return x * inv  # (B, T, d)


def bench_rms(tokens, repeats, warmup):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, tokens, DIM, generator=g)
    eps = CONTROLS["eps"]
    variants = [
        ("rsqrt formulation (norms._rmsnorm)", lambda: norms._rmsnorm(x, eps=eps, weight=None, bias=None)),
        ("F.rms_norm", lambda: F.rms_norm(x, (DIM,), eps=eps)),
        ("F.layer_norm", lambda: F.layer_norm(x, (DIM,), eps=eps)),
        ("candidate: x * rsqrt(vector_norm(x)^2/d + eps)", lambda: _rms_vector_norm(x, eps)),
        ('norms.apply("rmsnorm") (with checks)', lambda: norms.apply("rmsnorm", x, eps=eps)),
        ('norms.apply("layernorm") (with checks)', lambda: norms.apply("layernorm", x, eps=eps)),
    ]
    times = {name: [] for name, _ in variants}
    for r in range(warmup + repeats):
        k = r % len(variants)
        for name, fn in variants[k:] + variants[:k]:  # rotate the order every repeat
            gc.collect()
            t0 = now()
            fn()
            dt = now() - t0
            if r >= warmup:
                times[name].append(dt)
    ours = norms._rmsnorm(x, eps=eps, weight=None, bias=None)
    diffs = {
        "F.rms_norm": float((ours - F.rms_norm(x, (DIM,), eps=eps)).abs().max()),
        "candidate": float((ours - _rms_vector_norm(x, eps)).abs().max()),
    }
    base = med(times[variants[0][0]])
    rows = [[name, ms(med(ts)), ms(min(ts)), f"{med(ts) / base:.2f}x"] for name, ts in times.items()]
    return rows, diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--tokens", type=int, nargs="+", default=[8192, 65536])
    ap.add_argument("--kinds", nargs="+", default=["gaussian", "heavy_tailed"], choices=["gaussian", "heavy_tailed"])
    args = ap.parse_args()
    t_start = now()

    machine()
    print(
        f"{args.warmup} warm-up + {args.repeats} timed repeats per row; medians; target pipeline/floor <= {TARGET}x\n",
        flush=True,
    )

    main_rows, stage_rows, json_rows = bench_pipeline(args.tokens, args.kinds, args.repeats, args.warmup)
    rms_rows, rms_diff = bench_rms(max(args.tokens), args.repeats, args.warmup)

    print("\n1. Page pipeline vs floor (ms, medians). ratio = median of per-repeat ratios (the verdict);")
    print("   min-ratio = fastest pipeline / fastest floor (a cross-check: other processes only add time).")
    print("   floor = draw + F.layer_norm + sklearn PCA(2).fit. 'w/o sample' drops inputs.sample and the draw:")
    print("   the app caches samples (ui.sample is st.cache_resource), so a slider move pays only that part.")
    table(
        [
            "N x d",
            "input",
            "pipeline",
            "floor",
            "ratio",
            "min-ratio",
            "<=1.3",
            "pipe w/o sample",
            "floor w/o draw",
            "ratio",
            "min-ratio",
            "<=1.3",
        ],
        main_rows,
    )

    print("\n2. Stages (ms, medians): pipeline | floor")
    table(
        [
            "N x d",
            "input",
            "sample",
            "hypersphere.compute",
            "3D fig build",
            "3D to_json",
            "2D figs+json",
            "| draw",
            "layer_norm",
            "PCA fit",
        ],
        stage_rows,
    )

    print("\n3. The 3D figure's JSON (what ui.plotly_view sends); points drawn = both scenes")
    table(
        ["N x d", "input", "points", "KiB", "bytes/point", "\\u002f escapes", "trace arrays", "bdata", "2D figures"],
        json_rows,
    )

    print(f"\n4. RMSNorm vs LayerNorm at {max(args.tokens):,} x {DIM} (ms; ratio vs the rsqrt formulation)")
    table(["formulation", "median", "min", "ratio"], rms_rows)
    print("   max |rsqrt formulation - other| = " + ", ".join(f"{k} {v:.1e}" for k, v in rms_diff.items()))

    print(f"\npeak memory (ru_maxrss): {peak_mib():,.0f} MiB")
    print(f"streamlit imported: {'streamlit' in sys.modules}")
    print(f"total benchmark time: {now() - t_start:.0f} s; load avg now {load()}")
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > (os.cpu_count() or 1):
        print("warning: the machine was busier than its CPU count: absolute times are inflated, compare the ratios")


if __name__ == "__main__":
    main()
