"""Browser tests for live controls (ui/live.py): the Batch page's 3D cloud follows the B slider while it
is dragged with the mouse or stepped with the keys, before any rerun; the camera stays; on release the page
(URL, captions, the figure from Python) catches up with the value the drag ended on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.browser import VIEW, camera, no_exception, open_view, revision, turn_camera, wait_idle, xs

pytestmark = pytest.mark.browser

B = "input[type=range][aria-label='Batch size B']"
SIZES = [2, 4, 8, 16, 32, 64, 128, 256, 512]


def _frames_ready(page, view: str = "bt_cloud", control: str = "bt_batch") -> None:
    page.wait_for_function(
        "([v, c]) => { const s = (window.__normvizFrames || {})[v]; const live = (window.__normvizLive || {})[v];"
        " return !!s && !!live && live.has(c); }",
        arg=[view, control],
        timeout=60_000,
    )


def _shows(page, index: int) -> None:
    """Wait until view 0 has drawn frame ``index`` (the frame of the slider's value ``index``)."""
    page.wait_for_function(
        f"(i) => document.querySelector('{VIEW}').dataset.frame === String(i)", arg=index, timeout=10_000
    )


def _caption_with(page, text: str) -> bool:
    return any(text in c for c in page.locator("[data-testid='stCaptionContainer']").all_inner_texts())


def test_dragging_b_redraws_the_cloud_at_every_value_before_release_and_the_page_catches_up(page, app_url):
    open_view(page, app_url, "batch")
    _frames_ready(page)
    turned = turn_camera(page, 0.5)
    rev, url = revision(page), page.url
    slider = page.locator(B)
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()  # the thumb jumps to the left end: B = 2
    seen: dict[int, list[float]] = {}
    moves = 24
    for k in range(1, moves + 1):
        page.mouse.move(box["x"] + 2 + (box["width"] - 4) * k / moves, y)
        index = int(slider.input_value())
        _shows(page, index)
        seen[SIZES[index]] = xs(page, 0)
        assert revision(page) == rev and page.url == url, "the page reran while the slider was held"
    assert set(seen) == set(SIZES), f"the view did not show every value passed: {sorted(seen)}"
    spreads = {b: max(v) - min(v) for b, v in seen.items()}
    assert spreads[512] < spreads[2] / 4, "the cloud drawn during the drag did not shrink with B"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the drag reset the camera"
    page.mouse.up()
    page.wait_for_function(f"(old) => document.querySelector('{VIEW}').dataset.revision !== old", arg=rev)
    wait_idle(page)
    assert "bt_batch=512" in page.url
    assert _caption_with(page, "random batches of B = 512 sequences")
    assert xs(page, 0) == pytest.approx(seen[512], abs=0), "the frame shown at B = 512 is not the page's figure"
    assert camera(page) == pytest.approx(turned, abs=1e-6), "the release rerun reset the camera"
    assert slider.get_attribute("aria-valuetext") == "512"
    assert no_exception(page)


def test_arrow_keys_home_and_end_step_b_and_the_view_follows(page, app_url):
    open_view(page, app_url, "batch")
    _frames_ready(page)
    slider = page.locator(B)
    assert slider.get_attribute("title"), "the slider has no tooltip"
    slider.focus()
    before = xs(page, 0)
    slider.press("ArrowRight")  # B = 4 -> 8
    _shows(page, 2)
    assert xs(page, 0) != pytest.approx(before)
    slider.press("End")
    _shows(page, 8)
    slider.press("Home")
    _shows(page, 0)
    slider.press("ArrowRight")
    _shows(page, 1)  # back at the default: the URL leaves it out
    page.wait_for_timeout(600)
    wait_idle(page)
    assert "bt_batch" not in page.url
    slider.press("ArrowLeft")
    _shows(page, 0)
    page.wait_for_function("() => location.search.includes('bt_batch=2')", timeout=30_000)
    wait_idle(page)
    assert _caption_with(page, "random batches of B = 2 sequences")
    assert slider.get_attribute("aria-valuetext") == "2"
    assert no_exception(page)


def test_hypersphere_gamma_scale_asks_for_its_frames_then_both_scenes_follow_the_drag(page, app_url):
    open_view(page, app_url, "hypersphere")
    turned = turn_camera(page, 0.75)  # the output scene: the linked input scene turns with it
    slider = page.locator("input[type=range][aria-label='γ scale']")
    slider.focus()  # a focus asks for this slider's frames (computed on demand)
    _frames_ready(page, "hs_view", "hs_gscale")
    rev = revision(page)
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()  # γ scale = 0.25
    radii = {}
    for k in range(1, 21):
        page.mouse.move(box["x"] + 2 + (box["width"] - 4) * k / 20, y)
        index = int(slider.input_value())
        _shows(page, index)
        # anisotropic input, LayerNorm with γ = g: d = 3 is drawn exactly, every output at radius g·√3
        out = page.evaluate(
            f"() => {{ const t = document.querySelector('{VIEW}')._fullData[1]; return [t.x[0], t.y[0], t.z[0]]; }}"
        )
        radii[index] = sum(c * c for c in out) ** 0.5
        assert revision(page) == rev, "the page reran while the slider was held"
    page.mouse.up()
    assert len(radii) >= 15
    for index, r in radii.items():
        assert r == pytest.approx((0.25 + 0.05 * index) * 3**0.5, rel=1e-3)
    assert camera(page, "scene") == pytest.approx(turned, abs=1e-6)
    assert camera(page, "scene2") == pytest.approx(turned, abs=1e-6), "the drag unlinked the two scenes"
    page.wait_for_function("() => location.search.includes('hs_gscale=3')", timeout=60_000)
    wait_idle(page)
    assert slider.get_attribute("aria-valuetext") == "3.00"
    assert no_exception(page)


def test_instance_t_follows_the_keys_and_frames_shown_again_keep_the_camera(page, app_url):
    open_view(page, app_url, "instance")
    slider = page.locator("input[type=range][aria-label='Tokens per sequence T']")
    slider.focus()  # a focus asks for the T slider's frames (computed on demand)
    _frames_ready(page, "in_view", "in_T")
    eye = camera(page, "scene")
    title = "() => document.querySelector('.normviz-plot')._fullLayout.scene.xaxis.title.text"
    assert page.evaluate(title) == "token 1"  # T = 3: exact coordinates
    for key, index in [("ArrowRight", 2), ("ArrowLeft", 1), ("ArrowRight", 2), ("ArrowLeft", 1), ("ArrowRight", 2)]:
        slider.press(key)
        _shows(page, index)
        # a frame drawn again is drawn as before: its camera is not fitted to the column a second time
        assert camera(page, "scene") == pytest.approx(eye, abs=1e-9), f"the camera moved at {key} -> T = {index + 2}"
        assert camera(page, "scene2") == pytest.approx(eye, abs=1e-9)
    assert page.evaluate(title) == "all-tokens axis 1/√T"  # T = 4: projected
    page.wait_for_function("() => location.search.includes('in_T=4')", timeout=60_000)
    wait_idle(page)
    assert slider.get_attribute("aria-valuetext") == "4"
    # the URL changes when the value reaches Python; the caption once that rerun has drawn
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"[data-testid='stCaptionContainer']\")]"
        ".some(c => c.innerText.includes('at the T = 4 tokens'))",
        timeout=60_000,
    )
    assert camera(page, "scene") == pytest.approx(eye, abs=1e-9), "the release rerun moved the camera"
    assert no_exception(page)


# One rerun delivered by hand, in the page's own task: the slider ``in_T`` is given ``index`` as a rerun of Python's
# would (ui/live.js, the same code, imported again; it finds its slider in the page and keeps its state there)
_RERUN = """async ([js, moves]) => {
  const live = (await import(URL.createObjectURL(new Blob([js], {type: 'text/javascript'})))).default;
  const box = window.__normvizSliders['in_T'], input = box.__parts.input, seen = [];
  for (const [kind, value] of moves) {
    if (kind === 'user') {  // a click on the track: the value, sent at once
      input.value = String(value);
      input.dispatchEvent(new Event('input', {bubbles: true}));
      input.dispatchEvent(new Event('change', {bubbles: true}));
    } else {  // a rerun's slider arrives with Python's index
      const data = {role: 'slider', key: box.__key, view: box.__view, labels: box.__labels, index: value,
                    label: box.__parts.label.textContent, help: box.__parts.input.title, disabled: false};
      live({data, parentElement: box.parentElement, setStateValue: box.__send, setTriggerValue: box.__trigger});
    }
    seen.push(input.value);
  }
  return seen;
}"""


def test_a_rerun_that_brings_back_a_value_the_user_left_does_not_move_the_slider(page, app_url):
    """CI caught it: a key press is sent after a 250 ms pause, and when the next key came while that rerun ran, the
    rerun set the slider back to the value the user had left; the next key then went one too far (T = 5, not 4)."""
    open_view(page, app_url, "instance")
    slider = page.locator("input[type=range][aria-label='Tokens per sequence T']")
    slider.focus()
    _frames_ready(page, "in_view", "in_T")
    slider.press("ArrowRight")  # T = 3 -> 4, sent after its pause; Python's rerun shows it
    page.wait_for_function("() => location.search.includes('in_T=4')", timeout=60_000)
    wait_idle(page)
    live_js = (Path(__file__).resolve().parents[2] / "ui" / "live.js").read_text()
    # all in one task, so no real rerun comes between: the user goes back to T = 3 (index 1); the rerun that
    # started for T = 4 delivers its slider (index 2): the slider stays where the user put it
    assert page.evaluate(_RERUN, [live_js, [["user", 1], ["rerun", 2]]]) == ["1", "1"]
    # the user's value wins: T = 3 is the default, which a link leaves out
    page.wait_for_function("() => !location.search.includes('in_T=')", timeout=60_000)
    wait_idle(page)
    assert slider.input_value() == "1" and slider.get_attribute("aria-valuetext") == "3"
    # an index the user never left is Python's own (a lesson step, a link): it is set, and so is the one after
    assert page.evaluate(_RERUN, [live_js, [["rerun", 3], ["rerun", 1]]]) == ["3", "1"]
    assert no_exception(page)
