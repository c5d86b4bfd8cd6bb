"""AppTest for the Instance page: every feature on the token circle, padding masked or counted; links and the CSV.

Each test decodes the figure data the page sent and checks it against maths done here independently
(torch functional ops, numpy float64), then drives controls to their ends looking for tracebacks.
"""

from __future__ import annotations

import numpy as np
import torch.nn.functional as F

from normviz.core import inputs
from tests.helpers.apptest import csv_columns, figure, figure_keys, open_garbage, open_link, open_page, widget


def test_instance_page_puts_every_feature_on_the_token_circle():
    at = open_page("instance")
    fig = figure(at, "in_view")  # shifted input, B = 4, T = 3, d = 64
    after = np.stack([fig["data"][1][k] for k in "xyz"], 1).astype(np.float64)
    x = inputs.sample("shifted", batch=4, tokens=3, dim=64, seed=0).double()
    ref = F.instance_norm(x.transpose(1, 2)).reshape(-1, 3).numpy()  # (B*d, T), torch itself
    np.testing.assert_allclose(np.sort(np.linalg.norm(after, axis=1)), np.sort(np.linalg.norm(ref, axis=1)), rtol=1e-5)
    np.testing.assert_allclose(after.sum(1), 0.0, atol=5e-5)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["InstanceNorm: token 1 moves"]) > 0.1
    assert float(metrics["The claim (LayerNorm, no γ, β): token 1"]) == 0.0
    assert float(metrics["InstanceNorm: token 1 of sequence 2"]) == 0.0


def test_instance_page_padding_masked_against_counted():
    at = open_page("instance")
    at.session_state["in_T"] = 8  # the live T slider keeps its value in session state
    at.run()
    fig = figure(at, "in_pad_mean")
    masked, counted = (np.asarray(t["customdata"]) for t in fig["data"])
    assert (masked < 1e-5).all() and (counted[1:] > 1e-2).all()
    drawn = np.asarray(fig["data"][0]["y"])
    np.testing.assert_array_equal(drawn, 0.0)  # below 1e-12 of the chart's largest: drawn as exactly 0
    assert fig["layout"].get("yaxis", {}).get("type") != "log"  # a 0 cannot sit on a log axis
    assert any("0 up to float rounding" in c.value for c in at.caption)
    at.radio(key="in_pad").set_value("garbage (±10)").run()
    assert not at.exception
    for end in (widget(at, "Sequences B").min, widget(at, "Sequences B").max):
        widget(at, "Sequences B").set_value(end).run()
        assert not at.exception, end
    for end in (2, 32):  # the live T slider's ends
        at.session_state["in_T"] = end
        at.run()
        assert not at.exception, end


def test_the_page_says_what_torch_did_for_the_chosen_t_and_d():
    at = open_page("instance")  # T = 3, d = 64: torch warns, and raises with affine=True
    text = " ".join(m.value for m in at.markdown)
    assert "T = 3 ≠ d = 64, so torch **warns**" in text and "to match num_features (64), but got: 3" in text
    at = open_page("instance", {"in_T": "8", "in_d": "8"})
    text = " ".join(m.value for m in at.markdown)
    assert "T = d = 8, so torch is **silent**" in text and "**warns**" not in text


LINK = {"in_kind": "Low-rank", "in_B": "3", "in_T": "5", "in_d": "8", "in_pad": "garbage (±10)"}
RESTORED = {"in_kind": "low_rank", "in_B": 3, "in_T": 5, "in_d": 8, "in_pad": "garbage (±10)"}


def test_a_link_restores_every_control():
    open_link("instance", LINK, RESTORED)


def test_garbage_falls_back_with_one_notice():
    garbage = {"in_T": "1", "in_d": "nan", "in_pad": "lava"}
    at = open_garbage("instance", garbage)  # every key is the page's
    assert figure_keys(at), "the page still draws its views"


def test_exported_csv_holds_what_the_view_draws(csv_files):
    at = open_page("instance", {"in_B": "2"})
    view = figure(at, "in_view")
    cols = csv_columns(csv_files, "normviz-instance.csv")
    drawn = np.stack([view["data"][1][k] for k in "xyz"], 1)
    np.testing.assert_allclose(np.stack([cols[f"output_axis{i}"] for i in (1, 2, 3)], 1), drawn, rtol=1e-6)


def test_the_sequence_is_a_category_drawn_in_discrete_colours():
    at = open_page("instance", {"in_B": "3"})
    fig = figure(at, "in_view")
    assert not any(t.get("marker", {}).get("showscale") for t in fig["data"])  # no colour bar for a category
    legend = [t["name"] for t in fig["data"] if t.get("name", "").startswith("sequence ")]
    assert legend == ["sequence 1", "sequence 2", "sequence 3"] and fig["layout"]["showlegend"]
    assert len(set(fig["data"][1]["marker"]["color"])) == 3
