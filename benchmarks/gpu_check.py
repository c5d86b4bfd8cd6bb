"""One-shot check of the CUDA path, for a machine with an NVIDIA GPU (not part of the tests: CI has none).

    python benchmarks/gpu_check.py

1. Every norm on CUDA (float32, with and without a padding mask) against the same call on the
   CPU in float64, the reference; prints the worst absolute error per norm.
2. The Hypersphere pipeline (hypersphere.compute) with the tokens on CUDA: runs, and its exact
   measurements agree with the CPU run.
3. Timings, medians: hypersphere.compute at 65,536 x 768 on CUDA against the CPU of the same machine.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import torch

from normviz.core import device, inputs, norms
from normviz.experiments import hypersphere

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


TOL = 1e-4  # float32 on the GPU against float64 on the CPU, outputs of size ~1


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (CUDA context, kernels, caches)
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    dev = device.device()
    print(f"device: {device.describe()} | torch {torch.__version__} | CPU threads {torch.get_num_threads()}")
    if dev.type != "cuda":
        print("no CUDA device: nothing to check here")
        return 1

    failures = 0
    x = inputs.sample("outliers", batch=4, tokens=64, dim=96, seed=1)  # (4, 64, 96)
    lengths = torch.tensor([64, 50, 33, 7])
    mask = torch.arange(64)[None, :] < lengths[:, None]  # (4, 64)
    gamma, beta = torch.linspace(0.5, 2.0, 96), torch.linspace(-1.0, 1.0, 96)
    for name in norms.NORMS:
        for m in (None, mask):
            kw = {"groups": 8, "eps": 1e-5, "weight": gamma, "bias": beta}
            ref = norms.apply(name, x.double(), mask=m, **{**kw, "weight": gamma.double(), "bias": beta.double()})
            got = norms.apply(
                name,
                x.to(dev),
                mask=None if m is None else m.to(dev),
                **{**kw, "weight": gamma.to(dev), "bias": beta.to(dev)},
            )
            assert got.device.type == "cuda" and got.dtype == torch.float32
            err = float((got.cpu().double() - ref).abs().max())
            ok = err < TOL
            failures += not ok
            print(
                f"{name:>12} mask={'yes' if m is not None else 'no ':3} max |cuda - cpu float64| = {err:.2e} "
                f"{'ok' if ok else 'FAIL'}"
            )

    n, d = 65_536, 768
    x_cpu = inputs.sample("heavy_tailed", batch=1, tokens=n, dim=d, seed=0)
    x_gpu = x_cpu.to(dev)
    v_gpu = hypersphere.compute(x_gpu, "layernorm")
    v_cpu = hypersphere.compute(x_cpu, "layernorm")
    same = (
        abs(v_gpu.radius_hist.mean - v_cpu.radius_hist.mean) < 1e-4
        and abs(v_gpu.radius_hist.mean - math.sqrt(d)) < 1e-2
        and v_gpu.n_tokens == n
    )
    failures += not same
    print(
        f"hypersphere.compute on cuda: mean radius {v_gpu.radius_hist.mean:.6f} (cpu {v_cpu.radius_hist.mean:.6f}, "
        f"sqrt(d) = {math.sqrt(d):.6f}) {'ok' if same else 'FAIL'}"
    )

    t_gpu = _median_time(lambda: hypersphere.compute(x_gpu, "layernorm"), 5)
    t_cpu = _median_time(lambda: hypersphere.compute(x_cpu, "layernorm"), 3)
    t_ln_gpu = _median_time(lambda: torch.nn.functional.layer_norm(x_gpu, (d,)), 20)
    print(
        f"hypersphere.compute 65,536 x 768: cuda {t_gpu * 1e3:.0f} ms | cpu ({torch.get_num_threads()} threads) "
        f"{t_cpu * 1e3:.0f} ms | speed-up {t_cpu / t_gpu:.1f}x | F.layer_norm alone on cuda {t_ln_gpu * 1e3:.2f} ms"
    )
    print("ALL OK" if failures == 0 else f"{failures} FAILURES")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
