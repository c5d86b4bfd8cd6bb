"""The browser-test harness: Debian's chromium for pytest-playwright, `streamlit run` servers on free
ports, and helpers that wait for Streamlit and for the in-place 3D view (`.normviz-plot`).

Fixtures live in ``tests/conftest.py``; browser test files import the helpers from here.
"""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(script: str, log_path: Path, *, cwd: Path = ROOT, env: dict[str, str] | None = None):
    """``streamlit run script`` in ``cwd`` on a free port; returns (process, url) once it answers."""
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


def wait_idle(page):
    """Wait until Streamlit has finished the current run (no 'Running...' status widget)."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def revision(page) -> str:
    return page.evaluate(f"() => document.querySelector('{VIEW}')?.dataset.revision || ''")


def open_sphere(page, url):
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.goto(f"{url}/hypersphere")
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=60_000)
    wait_idle(page)


def press_and_wait_view(page, label: str, key: str = "ArrowRight") -> float:
    """Press a key on a slider; seconds until the 3D view shows the new figure."""
    before = revision(page)
    slider = page.locator(f"input[type=range][aria-label='{label}']")
    slider.focus()
    t0 = time.perf_counter()
    slider.press(key)
    page.wait_for_function(
        f"(old) => {{ const d = document.querySelector('{VIEW}'); return d && d.dataset.revision !== old; }}",
        arg=before,
        timeout=60_000,
    )
    return time.perf_counter() - t0


def turn_camera(page, at_x: float) -> dict:
    """Drag across the first view at ``at_x`` of its width, as a user turns a 3D scene; the new eye."""
    box = page.locator(VIEW).first.bounding_box()
    x0, y0 = box["x"] + box["width"] * at_x, box["y"] + box["height"] * 0.5
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + 12 * i, y0 + 5 * i)
    page.mouse.up()
    page.wait_for_timeout(300)
    return camera(page)


def camera(page, scene="scene"):
    return page.evaluate(
        f"() => JSON.parse(JSON.stringify(document.querySelector('{VIEW}')._fullLayout.{scene}.camera.eye))"
    )


def median_text_rerun(page, url, n=7) -> float:
    page.goto(url)
    wait_idle(page)
    times = []
    for i in range(n):
        slider = page.locator("input[type=range][aria-label='value']")
        slider.focus()
        t0 = time.perf_counter()
        slider.press("ArrowRight")
        page.wait_for_function("(v) => document.body.innerText.includes('value is ' + v)", arg=str(51 + i))
        times.append(time.perf_counter() - t0)
        wait_idle(page)
    return statistics.median(times)
