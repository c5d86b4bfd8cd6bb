"""AppTest for live controls: a page's frames (ui.live) are its own figures at every value of the control.

The frames element is decoded and each frame, laid over the figure drawn now, is compared with the figure the
page draws when the control is set to that value (Python's side of what ui/plot_view.js does in the browser).
"""

from __future__ import annotations

import json

import numpy as np
import torch.nn.functional as F

from normviz.core import inputs
from tests.helpers.apptest import open_page, raw_figure
from tests.helpers.figure_data import decode, over

SIZES = [2, 4, 8, 16, 32, 64, 128, 256, 512]


def _frames(at, view: str) -> list[dict]:
    found = [
        json.loads(e.proto.json)
        for e in at.get("bidi_component")
        if e.proto.component_name == "normviz.live" and json.loads(e.proto.json).get("role") == "frames"
    ]
    found = [f for f in found if f["view"] == view]
    assert len(found) == 1, f"{len(found)} frame elements for {view!r}"
    return json.loads(found[0]["frames"])


def test_batch_frames_are_the_page_cloud_at_every_b():
    at = open_page("batch", {"bt_dim": "3", "bt_batches": "20", "bt_tokens": "2"})
    frames = _frames(at, "bt_cloud")
    assert len(frames) == len(SIZES)
    base = raw_figure(at, "bt_cloud")  # drawn at the default B = 4
    for b in (2, 64, 512):
        at.session_state["bt_batch"] = b
        at.run()
        assert not at.exception
        drawn = decode(raw_figure(at, "bt_cloud"))
        shown = decode(over(base, frames[SIZES.index(b)]))
        for axis in "xyz":
            np.testing.assert_array_equal(shown["data"][0][axis], drawn["data"][0][axis])
        assert json.dumps(shown["layout"], sort_keys=True, default=str) == json.dumps(
            drawn["layout"], sort_keys=True, default=str
        )
        assert at.query_params["bt_batch"] == str(b)  # the link holds the value, as for a native slider
    assert any("B = 512 sequences" in c.value for c in at.caption)


def test_instance_frames_are_the_page_view_at_every_t():
    at = open_page("instance", {"in_B": "2", "in_d": "8"})
    at.session_state["_live_want_in_view"] = "in_T"  # what a press on the T slider asks (ui.live._wanted)
    at.session_state["_live_ask_in_view"] = True
    at.run()
    frames = _frames(at, "in_view")
    assert len(frames) == 31  # T = 2 … 32
    base = raw_figure(at, "in_view")  # drawn at the default T = 3
    for t in (2, 3, 9, 32):
        at.session_state["in_T"] = t
        at.run()
        assert not at.exception
        drawn = raw_figure(at, "in_view")
        shown = over(base, frames[t - 2])
        assert json.dumps(shown, sort_keys=True) == json.dumps(drawn, sort_keys=True), t
        assert at.query_params.get("in_T", "3") == str(t)
    # independent of the page: at T = 3 every output is a feature's three values, standardized over the tokens
    out = decode(frames[1]["f"])["data"][1]
    after = np.stack([out["x"], out["y"], out["z"]], 1).astype(np.float64)
    x = inputs.sample("shifted", batch=2, tokens=3, dim=8, seed=0).double()
    ref = F.instance_norm(x.transpose(1, 2)).reshape(-1, 3).numpy()  # (B*d, T): torch itself
    np.testing.assert_allclose(np.sort(np.linalg.norm(after, axis=1)), np.sort(np.linalg.norm(ref, axis=1)), rtol=1e-5)
    np.testing.assert_allclose(after.sum(1), 0.0, atol=5e-5)
