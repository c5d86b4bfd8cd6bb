"""Two replicas of the app behind deploy/haproxy/haproxy.cfg on loopback, driven by plain HTTP clients and real
browser sessions (one Playwright context, one cookie jar, each).

Shown: clients with their own cookie jars spread over both replicas; a session stays on its replica across
reruns and reloads; a 16 KB link passes the balancer (and fails without the config's ``tune.bufsize``); when
one replica is killed, its sessions reconnect to the survivor with every control as their URL had it, while
the survivor's sessions keep their websocket (nothing reconnects, nothing restarts). Each replica names itself
in the sidebar (``NORMVIZ_REPLICA``, named like its HAProxy server and cookie value).

Uses ``haproxy`` from PATH (Debian: ``apt-get install -y haproxy``; ``.ci/run`` installs it): without it the
module is skipped with a reason, except under ``CI=true``, where it fails, as a missing chromium does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.helpers.browser import ROOT, VIEW, free_port, press_and_wait_view, serve, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
NAMES = ("replica1", "replica2")  # haproxy.cfg's server names, which are also its SERVERID cookie values
LINK = "/hypersphere?hs_tokens=64&hs_seed={i}"  # a small view, each session its own seed


@pytest.fixture(scope="module")
def haproxy() -> str:
    found = shutil.which("haproxy")
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no haproxy on PATH: the two-replica test proves the balancer config works.")
        pytest.skip("no haproxy on PATH (apt-get install -y haproxy); the two-replica test needs the real balancer")
    return found


def _balancer(haproxy: str, config: Path, backends: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """``haproxy -db -f config`` listening on a free loopback port in front of ``backends``; (process, URL)."""
    port = free_port()
    env = {**os.environ, "NORMVIZ_LISTEN": f"127.0.0.1:{port}"}
    env.update({f"NORMVIZ_BACKEND_{i}": b for i, b in enumerate(backends, start=1)})
    with log.open("wb") as out:
        proc = subprocess.Popen([haproxy, "-db", "-f", str(config)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=5)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"haproxy did not start: {log.read_text()[-2000:]}")


@dataclass
class Cluster:
    url: str  # the balancer
    replicas: dict[str, subprocess.Popen]  # name -> its `streamlit run app.py`
    backends: dict[str, str]  # name -> host:port
    logs: Path


@pytest.fixture(scope="module")
def cluster(haproxy, tmp_path_factory):
    logs = tmp_path_factory.mktemp("balancer")
    procs: list[subprocess.Popen] = []

    def start(name: str):
        proc, url = serve(
            "app.py", logs / f"{name}.log", env={**os.environ, "NORMVIZ_REPLICA": name, "NORMVIZ_WARM": "0"}
        )
        procs.append(proc)
        return proc, url

    try:
        with ThreadPoolExecutor(len(NAMES)) as pool:
            started = dict(zip(NAMES, pool.map(start, NAMES), strict=True))
        backends = {name: url.removeprefix("http://") for name, (_, url) in started.items()}
        lb, url = _balancer(haproxy, CONFIG, list(backends.values()), logs / "haproxy.log")
        procs.append(lb)
        yield Cluster(url, {name: proc for name, (proc, _) in started.items()}, backends, logs)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=20)


def _get(url: str, jar: CookieJar) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        with opener.open(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _serverid(jar: CookieJar) -> str | None:
    return next((c.value for c in jar if c.name == "SERVERID"), None)


def test_plain_clients_with_their_own_cookie_jars_spread_over_both_replicas(cluster):
    jars = [CookieJar() for _ in range(4)]
    for jar in jars:
        assert _get(f"{cluster.url}/", jar)[0] == 200
    assert sorted(_serverid(j) for j in jars) == sorted(NAMES * 2)  # round robin: two each
    for jar in jars:  # the cookie keeps each client where it was: the balancer sets no new one
        before = _serverid(jar)
        assert _get(f"{cluster.url}/_stcore/health", jar) == (200, b"ok")
        assert _serverid(jar) == before


def test_a_16_kb_link_passes_the_balancer_and_needs_its_buffer_size(cluster, haproxy, tmp_path):
    text = " ".join(f"Sentence {i} of a long text someone put in a link." for i in range(330))
    link = "/real-data?" + urllib.parse.urlencode({"rd_source": "minilm", "rd_text": text})
    assert 16_000 <= len(link) <= 20_000, len(link)
    status, body = _get(cluster.url + link, CookieJar())
    assert status == 200 and b'<div id="root">' in body  # Streamlit's page, ready to run the link

    lines = CONFIG.read_text().splitlines()  # the same config without its tune.bufsize: HAProxy's 16 KB default
    default = tmp_path / "default-buffers.cfg"
    default.write_text("".join(ln + "\n" for ln in lines if not ln.strip().startswith("tune.bufsize")))
    proc, url = _balancer(haproxy, default, list(cluster.backends.values()), tmp_path / "haproxy.log")
    try:
        assert _get(url + link, CookieJar())[0] in (400, 414), "the link passes even without the raised buffer"
        assert _get(url + "/", CookieJar())[0] == 200
    finally:
        proc.kill()
        proc.wait(timeout=20)


@dataclass
class Session:
    page: object
    sockets: list = field(default_factory=list)  # every Streamlit websocket the page opened
    closed: list = field(default_factory=list)  # those that closed


def _replica(page) -> str:
    text = page.evaluate("() => document.querySelector(\"[data-testid='stSidebar']\")?.textContent || ''")
    found = re.search(r"Served by replica (\w+)\.", text)
    return found.group(1) if found else ""


def _drawn(page) -> None:
    page.wait_for_function(f"() => document.querySelector('{VIEW}')?.dataset.revision", timeout=180_000)
    wait_idle(page, timeout=180_000)


def _controls(page) -> dict[str, str]:
    """What the link-bound controls show: the Tokens and β shift sliders (as their thumbs read out), the Seed box."""

    def slider(label):
        return page.locator(f"input[type=range][aria-label='{label}']").first.get_attribute("aria-valuetext")

    return {
        "tokens": slider("Tokens"),
        "beta": slider("β shift"),
        "seed": page.locator("input[aria-label='Seed']").input_value(),
    }


def _query(page) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)


@pytest.fixture(scope="module")
def sessions(browser, cluster):
    """Four browser sessions through the balancer, each in its own context (its own cookies), opened together."""
    contexts, out = [], []
    try:
        for i in range(4):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            contexts.append(context)
            session = Session(context.new_page())

            def opened(ws, s=session):
                if "/_stcore/stream" in ws.url:
                    s.sockets.append(ws)
                    ws.on("close", lambda _, ws=ws, s=s: s.closed.append(ws))

            session.page.on("websocket", opened)
            session.page.goto(cluster.url + LINK.format(i=i + 1))  # returns once loaded; the replicas then run it
            out.append(session)
        for session in out:
            _drawn(session.page)
        yield out
    finally:
        for context in contexts:
            context.close()


def test_browser_sessions_spread_over_both_replicas_as_their_cookies_say(sessions):
    served = [_replica(s.page) for s in sessions]
    assert set(served) == set(NAMES), served  # round robin hands out the first visits in turn
    for s, name in zip(sessions, served, strict=True):
        cookies = {c["name"]: c["value"] for c in s.page.context.cookies()}
        assert cookies["SERVERID"] == name
        assert len(s.sockets) == 1 and not s.closed


def test_a_session_stays_on_its_replica_across_reruns_and_reloads(sessions):
    one_each = list({_replica(s.page): s for s in reversed(sessions)}.values())  # the first session on each replica
    assert len(one_each) == len(NAMES)
    for s in one_each:
        name = _replica(s.page)
        press_and_wait_view(s.page, "β shift")  # a rerun of this session: β = 0.1, into the URL
        assert _replica(s.page) == name and len(s.sockets) == 1 and not s.closed
        assert _query(s.page)["hs_beta"] == ["0.1"]
    s = sessions[0]
    name, controls = _replica(s.page), _controls(s.page)
    s.page.reload()  # a new page load and a new websocket: the cookie brings it back
    _drawn(s.page)
    assert _replica(s.page) == name and len(s.sockets) == 2
    assert _controls(s.page) == controls


def _cookie(page) -> str:
    return {c["name"]: c["value"] for c in page.context.cookies()}.get("SERVERID", "")


def test_a_killed_replicas_sessions_move_to_the_survivor_with_their_view(sessions, cluster):
    """Streamlit's page reconnects by itself but reruns nothing until the user acts (streamlit 1.67's frontend
    asks for a run on reconnecting only if it never had a session or a run was under way): the first session
    moves a slider, the run lands on the survivor with every other control as it was; every session reloads,
    and the survivor rebuilds its view from the URL alone."""
    victim = _replica(sessions[0].page)
    (survivor,) = set(NAMES) - {victim}
    moved = [s for s in sessions if _replica(s.page) == victim]
    stayed = [s for s in sessions if _replica(s.page) == survivor]
    assert moved and stayed
    before = {id(s): (_controls(s.page), _query(s.page), len(s.sockets)) for s in sessions}
    for s in stayed:  # a mark on the survivor's page: gone if the page were loaded again
        s.page.evaluate(f"() => {{ document.querySelector('{VIEW}').dataset.mark = 'still here'; }}")

    cluster.replicas[victim].kill()  # a crash: no goodbye to the browsers
    cluster.replicas[victim].wait(timeout=20)

    for s in moved:  # each page opens a new websocket by itself, which the balancer sends to the survivor
        _, _, sockets = before[id(s)]
        deadline = time.time() + 120
        while not (len(s.sockets) > sockets and _cookie(s.page) == survivor) and time.time() < deadline:
            s.page.wait_for_timeout(500)
        assert len(s.sockets) > sockets and _cookie(s.page) == survivor, "the page did not reconnect to the survivor"

    first = moved[0]
    controls, query, _ = before[id(first)]
    press_and_wait_view(first.page, "β shift")  # the first run on the survivor: the view as it was, β one step on
    beta = float(query.get("hs_beta", ["0"])[0]) + 0.1  # the slider's step
    deadline = time.time() + 60  # β is a live slider: its frame shows at once, the rerun (and URL) follow
    while _query(first.page).get("hs_beta") != [f"{beta:.1f}"] and time.time() < deadline:
        first.page.wait_for_timeout(250)
    _drawn(first.page)
    assert _replica(first.page) == survivor
    after = _controls(first.page)
    assert after.pop("beta") != controls.pop("beta") and after == controls, "the run lost the session's view"
    assert _query(first.page) == {**query, "hs_beta": [f"{beta:.1f}"]}

    for s in moved:
        controls, query = _controls(s.page), _query(s.page)
        s.page.reload()  # a fresh session on the survivor, from the link alone
        _drawn(s.page)
        assert _replica(s.page) == survivor
        assert _controls(s.page) == controls and _query(s.page) == query, "the link did not restore the view"
        assert s.page.locator("[data-testid='stException']").count() == 0

    for s in stayed:
        _, _, sockets = before[id(s)]
        assert len(s.sockets) == sockets and len(s.closed) == sockets - 1, "a survivor's session reconnected"
        assert s.page.evaluate(f"() => document.querySelector('{VIEW}').dataset.mark") == "still here"
        press_and_wait_view(s.page, "β shift")  # and it still answers, on its replica, on its websocket
        assert _replica(s.page) == survivor and len(s.sockets) == sockets
    deadline = time.time() + 60  # the operator sees it in the balancer's log, once the health checks fail
    while f"{victim} is DOWN" not in (cluster.logs / "haproxy.log").read_text() and time.time() < deadline:
        time.sleep(1)
    assert f"{victim} is DOWN" in (cluster.logs / "haproxy.log").read_text()
