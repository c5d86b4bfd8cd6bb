"""AppTest of the Real data page: the 3D view shows the captured residual stream and the model's own
LayerNorm of it (checked against F.layer_norm with the module's parameters read from the model),
query parameters restore every control, garbage falls back with a notice, errors never crash."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.io import capture
from tests.helpers.apptest import check_one_notice, figure, figure_keys, open_page

D = 384
KEYS = ["rd_view", "rd_massive", "rd_layers", "rd_affine"]  # every chart, in page order


@pytest.fixture(scope="module")
def reference():
    """Every real token's input to each LayerNorm and the module's own output, from hooks written here."""
    model, tokenizer = capture.load_model(capture.MINILM)
    lns = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    batch = tokenizer(capture.split_sentences(capture.DEFAULT_TEXT), padding=True, truncation=True, max_length=64,
                      return_tensors="pt")  # fmt: skip
    seen = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: seen.append((mod, args[0].detach()))) for m in lns]
    with torch.inference_mode():
        model(**batch)
    for h in hooks:
        h.remove()
    mask = batch["attention_mask"].bool()
    first = torch.cumsum(mask.sum(1), 0) - mask.sum(1)  # (B,) index of each sentence's first token among the N
    return [(mod, x[mask]) for mod, x in seen], first  # (module, (N, d) real tokens)


def _ones_coordinate(tokens: torch.Tensor) -> np.ndarray:
    return np.sort(tokens.double().sum(-1).numpy() / math.sqrt(tokens.shape[-1]))


def test_default_view_is_the_captured_stream_and_its_own_layernorm(reference):
    at = open_page("real-data")
    assert not at.error
    assert figure_keys(at) == KEYS  # 3D pair, massive features, per-layer angles, gamma/beta
    before, after = figure(at, "rd_view")["data"][0], figure(at, "rd_view")["data"][1]
    points, first = reference
    mod, x = points[2]  # default capture point 2
    # every real token is drawn (113 < 3000); axis 1 is the all-ones direction: coordinate = sum(x)/sqrt(d)
    np.testing.assert_allclose(np.sort(before["x"]), _ones_coordinate(x), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        y = F.layer_norm(x, (D,), mod.weight, mod.bias, mod.eps)  # the model's own LayerNorm
    np.testing.assert_allclose(np.sort(after["x"]), _ones_coordinate(y), rtol=1e-4, atol=1e-4)
    # the massive-feature chart marks feature 99, whose peak is hundreds of times the median
    bars = figure(at, "rd_massive")["data"][0]
    assert int(np.argmax(bars["y"])) == 99
    assert bars["y"][99] == pytest.approx(float(x[:, 99].abs().max()), rel=1e-5)
    (text,) = [m.value for m in at.markdown if "massive feature" in m.value]
    # the tokens holding feature 99's massive values are exactly each sentence's first token, [CLS]
    carriers = torch.nonzero(x[:, 99].abs() >= 100 * x.abs().median()).flatten()
    assert carriers.tolist() == first.tolist()
    assert f"`[CLS]` ×{len(first)}" in text


def test_ones_axis_caption_says_what_is_measured_and_the_random_reference(reference):
    at = open_page("real-data")
    points, _ = reference
    medians = []
    for _, x in points:  # the angle of every real token to 1, by hand in float64
        t = x.double().numpy()
        cos = t.sum(1) / (np.linalg.norm(t, axis=1) * math.sqrt(D))
        medians.append(np.median(np.degrees(np.arccos(cos))))
    (text,) = [c.value for c in at.caption if "the all-ones axis 1" in c.value]
    assert f"median angles {min(medians):.1f}° to {max(medians):.1f}°" in text
    # a random direction in d = 384: θ ~ sin^(d−2), std ≈ 1/√d rad = 2.92°; the page's exact value rounds to 2.9
    assert f"in d = {D} lies at 90° ± {math.degrees(D**-0.5):.1f}° from 1" in text
    assert "why RMSNorm" not in text  # the caption no longer claims the angle explains RMSNorm
    (why,) = [m.value for m in at.markdown if "Zhang & Sennrich" in m.value]
    assert "re-scaling invariance" in why and "hypothesize" in why


def test_query_params_restore_every_control(reference):
    params = {"rd_point": "5", "rd_own": "false", "rd_method": "top 3 PCs", "rd_maxtok": "32",
              "rd_text": "The cat sat. A dog ran!"}  # fmt: skip
    at = open_page("real-data", params)
    assert at.text_area(key="rd_text").value == "The cat sat. A dog ran!"
    assert figure(at, "rd_view")["data"][0]["x"].size == 12  # [CLS] the cat sat . [SEP] + [CLS] a dog ran ! [SEP]
    assert at.slider(key="rd_point").value == 5
    assert at.toggle(key="rd_own").value is False
    assert at.radio(key="rd_method").value == "pca"
    assert at.select_slider(key="rd_maxtok").value == 32
    assert not at.warning
    after = figure(at, "rd_view")["data"][1]
    pts = np.stack([after["x"], after["y"], after["z"]], axis=1)
    # plain LayerNorm (no gamma, beta): every output has length sqrt(d); the 3 PCs show at most that
    assert np.linalg.norm(pts, axis=1).max() <= math.sqrt(D) * (1 + 1e-5)
    # the module's name, with a line-break opportunity after each dot only (no mid-word break in a narrow column)
    assert "<code>encoder.<wbr>layer.<wbr>2.<wbr>attention.<wbr>output.<wbr>LayerNorm</code>" in at.caption[0].value


def test_default_values_in_a_link_are_accepted_quietly():
    link = {"rd_own": "true", "rd_point": "2", "rd_source": "MiniLM (bundled, offline)", "rd_maxtok": "64"}
    at = open_page("real-data", link)
    assert not at.warning


def test_garbage_query_params_fall_back_with_a_notice():
    garbage = {"rd_point": "99", "rd_maxtok": "abc", "rd_source": "<script>alert(1)</script>", "rd_bogus": "1"}
    at = open_page("real-data", garbage)
    assert at.slider(key="rd_point").value == 2
    assert at.select_slider(key="rd_maxtok").value == 64
    assert at.radio(key="rd_source").value == "minilm"
    check_one_notice(at, ("rd_point", "rd_maxtok", "rd_source", "rd_bogus"))
    assert figure_keys(at) == KEYS  # the page still draws everything


def test_upload_without_a_file_and_an_unavailable_model_explain_themselves():
    at = open_page("real-data", {"rd_source": "Upload a file"})
    assert any("Accepted:" in i.value for i in at.info)
    assert not at.error and not figure_keys(at)
    at = open_page("real-data", {"rd_source": "Another model", "rd_model": "normviz-no-such-org/no-such-model"})
    (err,) = at.error
    assert "Could not load" in err.value and "HF_HUB_OFFLINE" in err.value
