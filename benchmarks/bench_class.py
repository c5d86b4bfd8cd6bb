"""Benchmark: a whole class at once, on one server (Debian's chromium, WebGL off, as a class of laptops is
driven from one machine here).

Run it from the repository root (about 10 minutes on an idle 2-core machine):

    python benchmarks/bench_class.py      # options: --sessions 12 --repeats 1 --walkers 30 --minutes 5 --churn 100
                                          # --walkers 0, --churn 0, --no-burst: leave that part out

It serves app.py and the stock one-chart Streamlit app (tests/apps/one_chart.py: one ``st.plotly_chart``) with
the browser tests' harness, waits until app.py's sidebar says every page is ready, then prints:

1. **Burst**: ``--sessions`` fresh browser contexts open the Hypersphere page at the same moment; the slowest
   and the median seconds until each sees its first figure, beside the same for the one-chart app (target: the
   slowest within 1.3× the one-chart app's slowest).
2. **Soak**: ``--walkers`` sessions walk every page for ``--minutes``, each moving one slider on each page;
   page visits done, exceptions shown in the pages, tracebacks in the server log, and the server's peak
   resident memory (target: none, none, < 3 GB).
3. **Churn**: ``--churn`` sessions open Hypersphere and close, ``--wave`` at a time; resident memory before, at the
   peak and ``--settle`` s after (what a session costs and whether it is given back: Streamlit forgets a
   disconnected session after ``server.disconnectedSessionTTL``, 120 s).

A benchmark, not a test: it asserts nothing and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.helpers.browser import CHROMIUM, FLAGS, VIEW, serve, wait_idle
from ui import navigation

NO_WEBGL = [*FLAGS, "--disable-webgl", "--disable-3d-apis"]
FIGURE = f"() => Array.from(document.querySelectorAll('{VIEW}')).some(d => d.dataset.revision || d.dataset.error)"
STOCK = "() => !!document.querySelector('.js-plotly-plot .main-svg')"


def rss_mb(pid: int) -> float:
    """Resident memory of the server process and its children (kaleido's browser), in MB, from /proc."""
    total = 0
    for p in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(k) for k in kids] + [g for k in kids for g in _children(int(k))]


def _wait_ready(browser, url: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_text("Every page is ready").wait_for(timeout=600_000)
    page.close()
    return time.perf_counter() - t0


def burst(browser, url: str, n: int, ready_js: str) -> list[float]:
    """Open ``url`` in ``n`` fresh contexts at once; seconds until each shows its figure."""
    pages = [browser.new_context(viewport={"width": 1400, "height": 900}).new_page() for _ in range(n)]
    t0 = time.perf_counter()
    for p in pages:  # playwright's sync API is single-threaded: start every navigation, then wait on each
        p.evaluate(f"() => {{ window.location.href = '{url}'; }}")
    times = []
    for p in pages:
        p.wait_for_function(ready_js, timeout=300_000, polling=100)
        times.append(time.perf_counter() - t0)
    for p in pages:
        p.context.close()
    return times


def soak(browser, url: str, walkers: int, minutes: float, server_pid: int) -> dict:
    """``walkers`` sessions walk every page in turn for ``minutes``: on each page they wait for its figure, move
    its first slider one step, wait for that rerun, and count the exceptions the page shows."""
    pages = [browser.new_context(viewport={"width": 1400, "height": 900}).new_page() for _ in range(walkers)]
    paths = [p.url_path for p in navigation.PAGES]
    visits = exceptions = moved = 0
    peak = rss_mb(server_pid)
    end = time.time() + minutes * 60
    i = 0
    while time.time() < end:
        for k, page in enumerate(pages):
            path = paths[(i + k) % len(paths)]
            page.goto(f"{url}/{path}", wait_until="commit")
        for page in pages:
            try:
                page.wait_for_function(FIGURE, timeout=300_000, polling=250)
                slider = page.locator("input[type=range]:enabled").first  # Streamlit's sliders and the live ones
                if slider.count():
                    slider.focus()
                    page.keyboard.press("ArrowRight")
                    moved += 1
            except Exception:  # a page that did not draw in 5 minutes counts as an exception
                exceptions += 1
            peak = max(peak, rss_mb(server_pid))
        for page in pages:
            try:
                wait_idle(page, timeout=300_000)  # the slider's rerun is over
                visits += 1
                exceptions += page.locator("[data-testid=stException]").count()
            except Exception:
                exceptions += 1
            peak = max(peak, rss_mb(server_pid))
        i += 1
    for p in pages:
        p.context.close()
    return {"visits": visits, "rounds": i, "exceptions": exceptions, "moved": moved, "peak_mb": peak}


def churn(browser, url: str, n: int, server_pid: int, settle: float, wave: int) -> tuple[float, float, float]:
    """``n`` sessions open Hypersphere, ``wave`` at a time, each wave closed once drawn; resident memory before,
    at the peak, and ``settle`` seconds after the last (Streamlit forgets a disconnected session after
    ``server.disconnectedSessionTTL``, 120 s)."""
    before, peak = rss_mb(server_pid), 0.0
    for start in range(0, n, wave):
        count = min(wave, n - start)
        pages = [browser.new_context(viewport={"width": 1400, "height": 900}).new_page() for _ in range(count)]
        for page in pages:
            page.evaluate(f"() => {{ window.location.href = '{url}/hypersphere'; }}")
        for page in pages:
            page.wait_for_function(FIGURE, timeout=300_000, polling=250)
            peak = max(peak, rss_mb(server_pid))
        for page in pages:
            page.context.close()
    time.sleep(settle)
    return before, peak, rss_mb(server_pid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--walkers", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--churn", type=int, default=100)
    ap.add_argument("--wave", type=int, default=10, help="churn sessions open at once")
    ap.add_argument("--settle", type=float, default=150, help="seconds after the churn before the last reading")
    ap.add_argument("--repeats", type=int, default=1, help="bursts, the two apps' order alternating")
    ap.add_argument("--no-burst", action="store_true", help="skip the burst (soak and churn only)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=NO_WEBGL)
        app, url = serve("app.py", Path(tmp) / "app.log")
        stock, stock_url = serve("tests/apps/one_chart.py", Path(tmp) / "stock.log")
        try:
            print(f"app opened → every page ready: {_wait_ready(browser, url):.1f} s; server {rss_mb(app.pid):.0f} MB")
            ratios = []
            for r in range(0 if args.no_burst else args.repeats):  # the order alternates: neither always goes first
                order = [("ours", f"{url}/hypersphere", FIGURE), ("base", stock_url, STOCK)][:: 1 if r % 2 == 0 else -1]
                got = {name: burst(browser, u, args.sessions, js) for name, u, js in order}
                ours, base = got["ours"], got["base"]
                ratios.append(max(ours) / max(base))
                print(f"burst {r + 1} of {args.sessions} fresh sessions (load {os.getloadavg()[0]:.1f}): first figure, "
                      "slowest / median")  # fmt: skip
                print(f"  Hypersphere   {max(ours):6.1f} s / {statistics.median(ours):5.1f} s")
                print(f"  one-chart app {max(base):6.1f} s / {statistics.median(base):5.1f} s")
                print(f"  slowest ratio {ratios[-1]:.2f}× (target ≤ 1.3×)", flush=True)
            if len(ratios) > 1:
                print(f"median slowest ratio over {len(ratios)} bursts: {statistics.median(ratios):.2f}×")
            if args.walkers:
                s = soak(browser, url, args.walkers, args.minutes, app.pid)
                log = (Path(tmp) / "app.log").read_text()
                print(
                    f"soak: {args.walkers} sessions × {args.minutes:g} min: {s['visits']} page visits ({s['rounds']} "
                    f"rounds, {s['moved']} slider moves), {s['exceptions']} exceptions, "
                    f"{log.count('Traceback')} tracebacks in the server log, "
                    f"peak {s['peak_mb']:.0f} MB (target < 3072 MB)"
                )
            if args.churn:
                before, peak, after = churn(browser, url, args.churn, app.pid, args.settle, args.wave)
                print(
                    f"churn: {args.churn} sessions opened and closed, {args.wave} at a time: {before:.0f} MB before, "
                    f"peak "
                    f"{peak:.0f} MB ({(peak - before) / args.churn:+.1f} MB a session at most), {after:.0f} MB "
                    f"{args.settle:.0f} s after ({(after - before) / args.churn:+.1f} MB a session kept)"
                )
        finally:
            for proc in (app, stock):
                proc.terminate()
                proc.wait(timeout=20)
            browser.close()


if __name__ == "__main__":
    threading.current_thread().name = "bench_class"
    main()
