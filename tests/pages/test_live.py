"""AppTest for live controls: a page's frames (ui.live) are its own figures at every value of the control.

The frames element is decoded and each frame, laid over the figure drawn now, is compared with the figure the
page draws when the control is set to that value (Python's side of what ui/plot_view.js does in the browser).
"""

from __future__ import annotations

import json

import numpy as np

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
