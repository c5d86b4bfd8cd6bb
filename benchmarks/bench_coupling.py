"""Benchmark: the Coupling page's exact Jacobian against a plain autograd loop.

Run it from the repository root (about a minute on an idle 2-core CPU machine):

    cd /work/main && /work/venv/bin/python benchmarks/bench_coupling.py
    # options: --repeats 5 --batch 4 --tokens 16 --dim 64

* ours: ``coupling.jacobian_blocks(norm, x)`` for x: (4, 16, 64): the full (4096 x 4096) Jacobian by
  ``torch.func.jacrev`` (one vmapped backward pass), reduced to the 64 x 64 token block norms.
* baseline: the same Jacobian from a plain autograd loop, one ``torch.autograd.grad`` per output
  element (4096 backward passes through the norm), reduced the same way. Both must agree.

Target: ours <= 0.5 s per norm (median of the repeats), on a 2-core CPU. The ratio is printed from
the same run, so a shared, noisy machine shows in both numbers.
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

import torch  # noqa: E402

from normviz.core import norms  # noqa: E402
from normviz.experiments import coupling  # noqa: E402

NORMS = ("layernorm", "rmsnorm", "groupnorm", "instancenorm", "batchnorm", "dyt")


def loop_blocks(name: str, x: torch.Tensor, groups: int) -> torch.Tensor:
    """The baseline: one backward pass per output element."""
    B, T, d = x.shape
    x = x.detach().requires_grad_(True)
    y = norms.apply(name, x, groups=groups).reshape(-1)  # (N*d,)
    rows = [torch.autograd.grad(y[k], x, retain_graph=True)[0].reshape(-1) for k in range(y.numel())]
    J = torch.stack(rows).reshape(B * T, d, B * T, d)
    return J.square().sum(dim=(1, 3)).sqrt()


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--dim", type=int, default=64)
    a = ap.parse_args()
    torch.manual_seed(0)
    x = torch.randn(a.batch, a.tokens, a.dim)
    groups = 8 if a.dim % 8 == 0 else 1
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; x: {tuple(x.shape)}, "
          f"Jacobian {x.numel()} x {x.numel()}")  # fmt: skip
    coupling.jacobian_blocks("layernorm", x)  # warm-up
    print(f"{'norm':<13} {'ours (median)':>14} {'autograd loop':>14} {'speed-up':>9}  target <= 0.5 s")
    worst = 0.0
    for name in NORMS:
        ours = []
        for _ in range(a.repeats):
            t, c = timed(coupling.jacobian_blocks, name, x, groups=groups)
            ours.append(t)
        t_loop, ref = timed(loop_blocks, name, x, groups)
        torch.testing.assert_close(c, ref, rtol=1e-4, atol=1e-6)  # the same numbers
        med = statistics.median(ours)
        worst = max(worst, med)
        print(f"{name:<13} {med * 1000:>11.0f} ms {t_loop * 1000:>11.0f} ms {t_loop / med:>8.1f}x  "
              f"{'ok' if med <= 0.5 else 'MISSED'}")  # fmt: skip
    print(f"slowest norm: {worst * 1000:.0f} ms (target <= 500 ms)")


if __name__ == "__main__":
    main()
