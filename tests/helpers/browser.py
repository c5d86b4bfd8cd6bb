"""The browser-test harness: Debian's chromium for pytest-playwright, `streamlit run` servers on free
ports, and helpers that wait for Streamlit and for the in-place 3D views (`.normviz-plot`).

Fixtures live in ``tests/conftest.py``; browser test files (tests/browser/test_<page>.py) and
``benchmarks/bench_browser_latency.py`` import the helpers from here. A page's views are numbered in
page order (``index``), as ``document.querySelectorAll('.normviz-plot')`` finds them.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEW = ".normviz-plot"
# the browser tests' servers: a docs pool of 128 sentences (B ≤ 16) captures in a second or two, not 2,000
POOL_SENTENCES = "128"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(script: str, log_path: Path, *, cwd: Path = ROOT, env: dict[str, str] | None = None, flags: tuple = ()):
    """``streamlit run script`` in ``cwd`` on a free port (more command-line ``flags``: ``("--runner.postScriptGC",
    "true")``); returns (process, url) once it answers."""
    port = free_port()
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            script,
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            *flags,
        ],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()  # the child keeps its own handle
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit run {script} did not start: {log_path.read_text()[-2000:]}")


@contextmanager
def served(script: str, log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``streamlit run script`` on a free port for the ``with`` block; its URL."""
    proc, url = serve(script, log_path, env=env)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wait_idle(page, timeout: int = 60_000):
    """Wait until Streamlit has finished the current run (no 'Running...' status widget)."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


def open_view(page, url: str, path: str, views: int = 1, height: int = 1100) -> float:
    """Open ``url/path`` and wait until its first ``views`` 3D views / charts are drawn; seconds that took."""
    page.set_viewport_size({"width": 1400, "height": height})
    t0 = time.perf_counter()
    page.goto(f"{url}/{path}")
    page.wait_for_function(
        f"(n) => Array.from(document.querySelectorAll('{VIEW}')).filter(d => d.dataset.revision).length >= n",
        arg=views,
        timeout=120_000,
    )
    shown = time.perf_counter() - t0
    wait_idle(page, timeout=120_000)  # the charts below the first views (the Batch page computes four more)
    return shown


def js(page, expr: str, index: int = 0):
    """Evaluate ``expr`` with ``d`` the page's ``index``-th view (a plotly graph div)."""
    return page.evaluate(f"(i) => {{ const d = document.querySelectorAll('{VIEW}')[i]; return {expr}; }}", index)


def revision(page, index: int = 0) -> str:
    return js(page, "d?.dataset.revision || ''", index)


def xs(page, trace: int, index: int = 0) -> list[float]:
    """The x coordinates trace ``trace`` of view ``index`` draws."""
    return js(page, f"Array.from(d._fullData[{trace}].x)", index)


def camera(page, scene: str = "scene", index: int = 0) -> dict:
    return js(page, f"JSON.parse(JSON.stringify(d._fullLayout.{scene}.camera.eye))", index)


def scenes_with_gl(page, index: int = 0) -> list[bool]:
    """For each 3D scene of view ``index``: does it draw through WebGL?"""
    return js(
        page,
        "Object.keys(d._fullLayout).filter(k => /^scene\\d*$/.test(k))"
        ".map(s => !!(d._fullLayout[s]._scene && d._fullLayout[s]._scene.glplot))",
        index,
    )


def has_webgl(page, selector: str = VIEW) -> bool:
    """Does the first ``selector`` element's first scene draw through WebGL?"""
    return page.evaluate(
        f"""() => {{ const d = document.querySelector('{selector}');
            return !!(d && d._fullLayout && d._fullLayout.scene._scene && d._fullLayout.scene._scene.glplot); }}"""
    )


def turn_camera(page, at_x: float = 0.5, index: int = 0, at_y: float = 0.5) -> dict:
    """Drag across view ``index`` at (``at_x``, ``at_y``) of its size, as a user turns a 3D scene; the new eye."""
    box = page.locator(VIEW).nth(index).bounding_box()
    x0, y0 = box["x"] + box["width"] * at_x, box["y"] + box["height"] * at_y
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + 12 * i, y0 + 5 * i)
    page.mouse.up()
    page.wait_for_timeout(300)
    return camera(page, index=index)


def press_and_wait_view(page, label: str, key: str = "ArrowRight", index: int = 0) -> float:
    """Press a key on a slider; seconds until view ``index`` shows the new figure (then waits for the run)."""
    before = revision(page, index)
    slider = page.locator(f"[role=slider][aria-label='{label}'], input[type=range][aria-label='{label}']").first
    slider.focus()
    t0 = time.perf_counter()
    slider.press(key)
    page.wait_for_function(
        f"([i, old]) => {{ const d = document.querySelectorAll('{VIEW}')[i];"
        " return !!d && d.dataset.revision !== old; }",
        arg=[index, before],
        timeout=60_000,
    )
    elapsed = time.perf_counter() - t0
    wait_idle(page)
    return elapsed


def no_exception(page) -> bool:
    """No Streamlit exception box on the page."""
    return page.locator("[data-testid='stException']").count() == 0


_IN_PAGE_FLOOR = """(want) => { window.__floor = new Promise((done) => {
    let t0 = null;
    document.addEventListener("keydown", () => { t0 = performance.now(); }, { capture: true, once: true });
    const seen = new MutationObserver(() => {
        if (t0 !== null && document.body.innerText.includes("value is " + want)) {
            seen.disconnect(); done(performance.now() - t0);
        }
    });
    seen.observe(document.body, { subtree: true, childList: true, characterData: true });
}); }"""


def median_text_rerun(page, url, n=7, *, in_page: bool = False) -> float:
    """The floor: median seconds from a key press to the text-only app (tests/apps/text_only.py) showing it.

    As Playwright sees it (press sent -> text found), or with ``in_page`` inside the page: the key's ``keydown``
    to the new text in the DOM (a MutationObserver), the clock a live drag step's in-page time runs on."""
    page.goto(url)
    wait_idle(page)
    times = []
    for _ in range(n):
        slider = page.locator("input[type=range][aria-label='value']")
        want = str(int(slider.input_value()) + 1)
        slider.focus()
        if in_page:
            page.evaluate(_IN_PAGE_FLOOR, want)
            slider.press("ArrowRight")
            times.append(page.evaluate("window.__floor") / 1000)
        else:
            t0 = time.perf_counter()
            slider.press("ArrowRight")
            page.wait_for_function("(v) => document.body.innerText.includes('value is ' + v)", arg=want)
            times.append(time.perf_counter() - t0)
        wait_idle(page)
    return statistics.median(times)
