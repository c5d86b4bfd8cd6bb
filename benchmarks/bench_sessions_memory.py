"""Benchmark: the app server's resident memory with 1, then N idle sessions on the Hypersphere page.

Run it from the repository root (two to four minutes on a shared 2-core machine):

    python benchmarks/bench_sessions_memory.py            # options: --sessions 10 --settle 3

One ``streamlit run app.py`` serves; one headless Chromium (Playwright) opens each session in its own browser
context (its own cookies: one Streamlit session each) and waits until its 3D view is drawn and the run is
over. VmRSS of the server process is read from /proc after each phase:

1. started, no session yet;
2. one session on /hypersphere (the default view);
3. N sessions on /hypersphere, all on the default view (the figure comes from Streamlit's cache: what an
   idle class costs when everyone follows one link);
4. the same N sessions, each moved to its own view (Seed = 1 … N: N cached figures, the worst case of
   a class exploring on its own at this size);
5. all sessions closed, ``--settle`` × 10 s later.

The per-session figures (phase 3 − phase 2 over N − 1 sessions; phase 4 − phase 3 over N views) are what
README.md's Deploy section and deploy/k8s/deployment.yaml size replicas with. VmHWM is the peak.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report import machine, table  # noqa: E402
from tests.helpers.browser import CHROMIUM, FLAGS, VIEW, serve, wait_idle  # noqa: E402


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of process ``pid`` in MiB, from /proc/PID/status."""
    status = Path(f"/proc/{pid}/status").read_text()
    kib = {ln.split(":")[0]: int(ln.split()[1]) for ln in status.splitlines() if ln.startswith(("VmRSS", "VmHWM"))}
    return kib["VmRSS"] / 1024, kib["VmHWM"] / 1024


def open_session(browser, url: str):
    """A fresh browser context (one Streamlit session) on the Hypersphere page, its view drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/hypersphere")
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=300_000)
    wait_idle(page, timeout=300_000)
    return context, page


def own_view(page, seed: int) -> None:
    """Type ``seed`` into the page's Seed box: a rerun of this session with a figure nobody else has."""
    before = page.evaluate(f"() => document.querySelector('{VIEW}').dataset.revision")
    box = page.locator("input[aria-label='Seed']")
    box.fill(str(seed))
    box.press("Enter")
    page.wait_for_function(
        f"(old) => document.querySelector('{VIEW}')?.dataset.revision !== old", arg=before, timeout=300_000
    )
    wait_idle(page, timeout=300_000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--settle", type=int, default=3, help="tens of seconds to wait after closing the sessions")
    args = ap.parse_args()
    n = args.sessions
    from playwright.sync_api import sync_playwright

    machine()
    proc, url = serve("app.py", Path("/tmp/normviz-bench-sessions.log"))
    rows = []

    def measure(label: str, sessions: int, t0: float) -> float:
        time.sleep(2)  # let the last run's garbage go
        rss, hwm = memory(proc.pid)
        rows.append([label, str(sessions), f"{rss:,.0f}", f"{hwm:,.0f}", f"{time.perf_counter() - t0:.0f}"])
        print(f"  {label}: VmRSS {rss:,.0f} MiB", flush=True)
        return rss

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            t0 = time.perf_counter()
            started = measure("started, no session", 0, t0)
            sessions = [open_session(browser, url)]
            one = measure("1 session, default view", 1, t0)
            sessions += [open_session(browser, url) for _ in range(n - 1)]
            idle = measure(f"{n} sessions, default view", n, t0)
            for i, (_, page) in enumerate(sessions, start=1):
                own_view(page, i)
            own = measure(f"{n} sessions, each its own seed", n, t0)
            for context, _ in sessions:
                context.close()
            browser.close()
            time.sleep(10 * args.settle)
            closed = measure(f"all closed, {10 * args.settle} s later", 0, t0)
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    table(["phase", "sessions", "VmRSS MiB", "VmHWM MiB", "t s"], rows)
    print(f"\nthe first session adds {one - started:,.0f} MiB (imports, models, the first figure: once per replica)")
    print(f"each further idle session on the same view adds {(idle - one) / (n - 1):,.1f} MiB")
    print(f"each session's own view (a cached figure of its own) adds {(own - idle) / n:,.1f} MiB")
    print(f"after closing them all: {closed:,.0f} MiB ({closed - own:+,.0f} MiB)")


if __name__ == "__main__":
    main()
