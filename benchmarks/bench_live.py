"""Benchmark: live controls (ui/live.py) — a drag step to its frame drawn, beside the text-only rerun floor.

Run it from the repository root (a few minutes on an idle 2-core machine):

    python benchmarks/bench_live.py            # options: --repeats 9

It serves app.py twice (frames on, and frames off with ``NORMVIZ_LIVE=0``) and the text-only app
(tests/apps/text_only.py) with the browser tests' harness, then, in one chromium page, prints:

* floor: the median seconds from a key press on the text-only slider to its text showing the value, as Playwright
  sees it and inside the page (the key event to the text in the page: the same clock as a drag step's in-page
  time, so the two in-page numbers compare without Playwright's round trips);
* per live control: the median seconds from one small mouse move on the held slider to the view's
  frame for the new value drawn (``data-frame``), over a drag across the range, as Playwright sees it (the
  same way the floor is measured) and inside the page (the input event to the frame drawn); the same figure redrawn by
  the browser from memory (``Plotly.react`` with a copy of its data: what any in-place update costs);
* per page: the first figure (page opened -> main view drawn) with frames and without (target <= 1.2x);
* per control that reruns (d, which changes the space itself): the median seconds from a key press on it to its
  page's main view redrawn, alternating right and left (so all but the first value come from the cache, as for a
  lecturer moving it back and forth), against the floor as Playwright sees it (target <= 2x).

A benchmark, not a test: it asserts nothing and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.helpers.browser import (
    CHROMIUM,
    FLAGS,
    VIEW,
    median_text_rerun,
    open_view,
    press_and_wait_view,
    serve,
    served,
)

# path, the view index, its key, the live slider's label, its key
CASES = [
    ("batch", 0, "bt_cloud", "Batch size B", "bt_batch"),
    ("hypersphere", 0, "hs_view", "γ scale", "hs_gscale"),
    ("groups", 0, "gn_groups", "Groups G", "gn_G_12"),
    ("jacobian", 0, "jc_view", "Input scale s", "jc_scale"),
    ("cube", 0, "cb_cube", "Feature j", "cb_j_8"),
]
FIRST = ["batch", "hypersphere"]  # pages whose first figure is timed with and without frames
# path, the control's label, the key that moves it away from its default first (Batch's d = 64 is its largest)
RERUN = [
    ("hypersphere", "Features d", "ArrowRight"),
    ("groups", "Features d", "ArrowRight"),
    ("batch", "Features d", "ArrowLeft"),
    ("instance", "Features d", "ArrowLeft"),
]


@contextmanager
def _served_with(script: str, log: Path, env: dict[str, str]):
    proc, url = serve(script, log, env={**os.environ, **env})
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _frames_ready(page, view: str, control: str) -> bool:
    """Press the slider once (a press asks for frames where the page computes them on demand) and wait."""
    try:
        page.wait_for_function(
            "([v, c]) => { const l = (window.__normvizLive || {})[v]; return !!l && l.has(c); }",
            arg=[view, control],
            timeout=60_000,
        )
        return True
    except Exception:
        return False


def _drag_steps(page, label: str, index: int) -> tuple[list[float], list[float]]:
    """Seconds from each small mouse move of a drag across the slider to the view's new frame drawn: as
    Playwright sees it (move sent -> frame seen), and inside the page (input event -> frame drawn)."""
    slider = page.locator(f"input[type=range][aria-label='{label}']")
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    n = int(slider.get_attribute("max")) + 1
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    page.wait_for_timeout(300)
    times, in_page, last = [], [], int(slider.input_value())
    for k in range(1, 4 * n + 1):
        x = box["x"] + 2 + (box["width"] - 4) * k / (4 * n)
        t0 = time.perf_counter()
        page.mouse.move(x, y)
        value = int(slider.input_value())
        if value != last:
            page.wait_for_function(
                f"([i, v]) => document.querySelectorAll('{VIEW}')[i].dataset.frame === String(v)",
                arg=[index, value],
                polling="raf",
            )
            times.append(time.perf_counter() - t0)
            in_page.append(
                page.evaluate(
                    f"([i, s]) => (Number(document.querySelectorAll('{VIEW}')[i].dataset.frameAt)"
                    " - Number(document.querySelector(s).dataset.inputAt)) / 1000",
                    [index, f"input[type=range][aria-label='{label}']"],
                )
            )
            last = value
    page.mouse.up()
    return times, in_page


def _redraw_from_memory(page, index: int, repeats: int) -> float:
    """Median seconds for the browser to redraw the view's figure from a copy of what it holds: every trace's
    decoded coordinates (and colours) handed to ``Plotly.react`` as fresh typed arrays, so plotly recomputes
    and redraws every trace, as any in-place update of all the data must. (The figure's own ``data`` holds
    base64 specs, ``{dtype, bdata}``: copying those with ``Array.from`` would draw empty traces.)"""
    ms = page.evaluate(
        f"""async ([i, n]) => {{
            const d = document.querySelectorAll('{VIEW}')[i], out = [];
            const copy = () => d.data.map((t, k) => {{
                const full = d._fullData.find((f) => f.index === k) || {{}}, c = {{...t}};
                for (const key of ["x", "y", "z", "surfacecolor"]) {{
                    if (full[key] && full[key].slice) c[key] = full[key].slice();
                }}
                const color = full.marker && full.marker.color;
                if (t.marker && color && color.slice) c.marker = {{...t.marker, color: color.slice()}};
                return c;
            }});
            for (let k = 0; k < n; k++) {{
                const data = copy();
                const t0 = performance.now();
                await window.Plotly.react(d, data, d.layout);
                await new Promise((r) => requestAnimationFrame(() => r()));
                out.push(performance.now() - t0);
            }}
            out.sort((a, b) => a - b);
            return out[Math.floor(n / 2)];
        }}""",
        [index, repeats],
    )
    return ms / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9, help="page opens and redraws per case (medians reported)")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("no chromium on PATH (apt-get install -y chromium)")
    logs = Path(tempfile.mkdtemp(prefix="bench-live-"))
    with (
        served("app.py", logs / "app.log") as app,
        _served_with("app.py", logs / "off.log", {"NORMVIZ_LIVE": "0"}) as off,
        served("tests/apps/text_only.py", logs / "text.log") as text,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        floor = median_text_rerun(page, text, n=args.repeats)
        floor_in_page = median_text_rerun(page, text, n=args.repeats, in_page=True)
        print(
            f"text-only rerun (the floor): median {floor * 1000:.0f} ms over {args.repeats} presses as Playwright sees "
            f"it; {floor_in_page * 1000:.0f} ms inside the page (key event -> new text)"
        )
        print(f"{'page':<12} {'control':<26} {'drag step ms':>12} {'redraw ms':>10} {'floor ms':>9} {'step/floor':>10}")
        for path, index, view, label, control in CASES:
            open_view(page, app, path, height=1400)
            page.locator(f"input[type=range][aria-label='{label}']").focus()
            if not _frames_ready(page, view, control):
                print(f"{path:<12} {label:<26} no frames (over the budget?)")
                continue
            drags = [_drag_steps(page, label, index) for _ in range(2)]
            steps, inside = [s for d in drags for s in d[0]], [s for d in drags for s in d[1]]
            open_view(page, app, path, height=1400)
            redraw = _redraw_from_memory(page, index, args.repeats)
            step, step_in_page = statistics.median(steps), statistics.median(inside)
            print(
                f"{path:<12} {label:<26} {step * 1000:>12.0f} {redraw * 1000:>10.0f} {floor * 1000:>9.0f} "
                f"{step / floor:>9.2f}x   ({len(steps)} steps, max {max(steps) * 1000:.0f} ms; in the page, "
                f"input -> frame drawn: median {step_in_page * 1000:.0f} ms, "
                f"{step_in_page / floor_in_page:.2f}x the in-page floor)"
            )
        print(f"{'page':<12} {'first figure, frames s':>24} {'without s':>10} {'ratio':>6}")
        for path in FIRST:
            with_frames = statistics.median(open_view(page, app, path) for _ in range(max(3, args.repeats // 3)))
            without = statistics.median(open_view(page, off, path) for _ in range(max(3, args.repeats // 3)))
            print(f"{path:<12} {with_frames:>24.2f} {without:>10.2f} {with_frames / without:>5.2f}x")
        print(f"{'page':<12} {'control that reruns':<26} {'press -> view ms':>16} {'floor ms':>9} {'ratio':>6}")
        for path, label, away in RERUN:
            open_view(page, app, path, height=1400)
            back = "ArrowLeft" if away == "ArrowRight" else "ArrowRight"
            keys = [away, back] * max(2, args.repeats // 2)
            times = [press_and_wait_view(page, label, key) for key in keys]
            t = statistics.median(times)
            print(
                f"{path:<12} {label:<26} {t * 1000:>16.0f} {floor * 1000:>9.0f} {t / floor:>5.2f}x   "
                f"(first press {times[0] * 1000:.0f} ms, {len(times)} presses)"
            )
        browser.close()
    print(
        "targets: drag step <= the floor (both as Playwright sees them, and both inside the page); redraw from "
        "memory <= the floor; first figure with frames <= 1.2x; a control that reruns <= 2x the floor"
    )


if __name__ == "__main__":
    main()
