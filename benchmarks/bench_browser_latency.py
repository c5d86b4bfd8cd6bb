"""Benchmark: slider key press -> 3D view updated, per page, beside the text-only rerun floor (Debian's chromium).

Run it from the repository root (a few minutes on an idle 2-core machine):

    python benchmarks/bench_browser_latency.py            # options: --repeats 7

It serves app.py and the text-only app (tests/apps/text_only.py: a slider whose rerun only changes
text) with the browser tests' harness (tests/helpers/browser.py), then, in one chromium page:

* floor: the median seconds from a key press on the text-only slider to its text showing the value;
* per page: the median seconds from a key press on one slider to the page's view showing the new
  figure (its ``data-revision`` changed), at the page's default sizes (left and right presses, so the
  sizes stay at their defaults); and the Hypersphere at its largest view, 65,536 tokens × d = 768.

It prints a row a page: the median, the floor and their ratio (target <= 2x; <= 1500 ms at the
largest view). A benchmark, not a test: it asserts nothing and pytest does not collect it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import sync_playwright

from tests.helpers.browser import CHROMIUM, FLAGS, median_text_rerun, open_view, press_and_wait_view, served, wait_idle

# path, views the page must draw first, the view index to watch, the slider's label
CASES = [
    ("hypersphere", 1, 0, "β shift"),
    ("groups", 4, 0, "Groups G"),
    ("cube", 1, 0, "Feature j"),
    ("batch", 1, 0, "Batch size B"),
    ("instance", 3, 0, "Sequences B"),
    ("coupling", 3, 1, "Displacement s (in probe RMS units)"),
    ("gradient-flow", 3, 0, "Depth L"),
    ("jacobian", 1, 0, "Input scale s"),
    ("attention", 5, 4, "Keys n"),
]


def _median_press(page, label: str, index: int, repeats: int) -> float:
    keys = (["ArrowRight", "ArrowLeft"] * repeats)[:repeats]
    return statistics.median(press_and_wait_view(page, label, key, index) for key in keys)


def _largest_hypersphere(page, url: str, repeats: int) -> float:
    open_view(page, url, "hypersphere")
    press_and_wait_view(page, "Tokens", "End")
    page.locator("input[type=range][aria-label='Features d']").focus()
    page.keyboard.press("End")
    wait_idle(page)
    press_and_wait_view(page, "Features d", "ArrowLeft")  # 1024 -> 768
    return _median_press(page, "β shift", 0, max(3, repeats // 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="key presses per page (the median is reported)")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("no chromium on PATH (apt-get install -y chromium)")
    logs = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    with served("app.py", logs / "app.log") as app, served("tests/apps/text_only.py", logs / "text.log") as text:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            floor = median_text_rerun(page, text, n=args.repeats)
            print(f"text-only rerun (the floor): median {floor * 1000:.0f} ms over {args.repeats} presses")
            print(f"{'page':<34} {'slider':<38} {'view ms':>8} {'floor ms':>9} {'ratio':>6}")
            for path, views, index, label in CASES:
                open_view(page, app, path, views=views, height=1400)
                view = _median_press(page, label, index, args.repeats)
                print(f"{path:<34} {label:<38} {view * 1000:>8.0f} {floor * 1000:>9.0f} {view / floor:>5.2f}x")
            big = _largest_hypersphere(page, app, args.repeats)
            name = "hypersphere at 65,536 × 768"
            print(f"{name:<34} {'β shift':<38} {big * 1000:>8.0f} {floor * 1000:>9.0f} {big / floor:>5.2f}x")
            browser.close()
    print("targets: <= 2x the floor at default sizes; <= 1500 ms at 65,536 tokens × d = 768")


if __name__ == "__main__":
    main()
