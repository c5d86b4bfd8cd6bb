"""Benchmark: what a fresh session costs the server, in CPU seconds: Hypersphere beside the stock one-chart app.

Run it from the repository root (five to ten minutes on a shared 2-core machine):

    python benchmarks/bench_server_cost.py          # options: --sessions 12

Wall-clock times on a shared machine follow its load; the CPU time the server process spends does much less, so
this says what benchmarks/bench_class.py's burst asks of the server beside its browsers. For each server (app.py
as configured, app.py with Streamlit's full ``gc.collect()`` after every run turned back on, and
tests/apps/one_chart.py) it waits until the first visit is over (for app.py: every page warmed), then opens
``--sessions`` fresh browser contexts on the page at once (one Chromium, WebGL off), waits until each has drawn
its first figure and finished its run, and prints the server's CPU seconds (utime + stime from /proc) over that
burst, per session, and the slowest first figure.

A benchmark, not a test: it asserts nothing and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from benchmarks.report import machine
from tests.helpers.browser import CHROMIUM, FLAGS, VIEW, serve, wait_idle

NO_WEBGL = [*FLAGS, "--disable-webgl", "--disable-3d-apis"]
DRAWN = (
    f"() => Array.from(document.querySelectorAll('{VIEW}')).some(d => d.dataset.revision) "
    "|| !!document.querySelector('.js-plotly-plot .main-svg')"
)
SERVERS = [  # label, script, page, extra flags
    ("app.py, Hypersphere", "app.py", "hypersphere", ()),
    ("  … with gc after every run", "app.py", "hypersphere", ("--runner.postScriptGC", "true")),
    ("stock one-chart app", "tests/apps/one_chart.py", "", ()),
]


def cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid`` (every thread), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def burst(browser, url: str, n: int, pid: int) -> tuple[float, float]:
    """``n`` fresh sessions open ``url`` at once: (server CPU seconds until every run is over, slowest figure s)."""
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    pages = [browser.new_context(viewport={"width": 1400, "height": 900}).new_page() for _ in range(n)]
    for p in pages:  # start every navigation, then wait on each (playwright's sync API is single-threaded)
        p.evaluate(f"() => {{ window.location.href = '{url}'; }}")
    slowest = 0.0
    for p in pages:
        p.wait_for_function(DRAWN, timeout=900_000, polling=100)
        slowest = time.perf_counter() - t0
    for p in pages:
        wait_idle(p, 900_000)
    time.sleep(2)
    used = cpu_seconds(pid) - c0
    for p in pages:
        p.context.close()
    return used, slowest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=12)
    args = ap.parse_args()
    machine()
    print(f"{args.sessions} fresh sessions at once; server CPU seconds over the burst (load {os.getloadavg()[0]:.1f})")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=NO_WEBGL)
        for label, script, page, flags in SERVERS:
            proc, url = serve(script, Path(tmp) / "server.log", flags=flags)
            try:
                first = browser.new_page(viewport={"width": 1400, "height": 900})
                first.goto(f"{url}/{page}")
                if script == "app.py":  # the warm-up done: the burst's views are cache hits, as for a class
                    first.get_by_text("Every page is ready").wait_for(timeout=900_000)
                first.wait_for_function(DRAWN, timeout=900_000)
                wait_idle(first, 900_000)
                first.close()
                time.sleep(3)
                used, slowest = burst(browser, f"{url}/{page}", args.sessions, proc.pid)
                print(
                    f"  {label:30s} {used:6.2f} s CPU = {used / args.sessions:.3f} s a session; slowest first "
                    f"figure {slowest:6.1f} s (load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        browser.close()


if __name__ == "__main__":
    main()
