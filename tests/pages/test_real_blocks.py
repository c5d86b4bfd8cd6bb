"""AppTest for the Instance and Coupling pages on every real pool (ui/real_blocks.py): image patches (photos,
digits: the block lowered to what the pool holds, and said), an uploaded (B, T, d) file with its mask, and hostile
uploads (wrong mask, NaN, too big) refused with a message, never a traceback. Each view is decoded from its figure
and checked against torch's functional ops or numpy float64 on the same block of real tokens.

AppTest cannot drive st.file_uploader, so the upload tests replace ``ui.real_inputs.upload_ui`` with one that
hands the page a file's bytes exactly as the uploader would (through ``real_inputs.hold``, this session only)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from normviz.experiments import batch_real
from normviz.io import patches, token_pool
from normviz.io.real_input import PoolInput
from tests.helpers.apptest import figure, figure_keys, open_page
from ui import labels, real_inputs, token_pools
from ui.controls import guarded


@pytest.fixture(scope="module")
def images():
    for spec in (PoolInput("photos"), PoolInput("digits")):
        token_pools.submit(spec).result(timeout=120)
    return {s: patches.image_pool(s) for s in patches.IMAGE_SOURCES}


def _npz(x: np.ndarray, mask: np.ndarray | None = None) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, activations=x, **({} if mask is None else {"mask": mask}))
    return buf.getvalue()


@pytest.fixture
def uploaded(monkeypatch):
    """``uploaded(name, data)``: the page's uploader holds that file (for this AppTest session)."""
    files = {}

    def fake_upload_ui(prefix):
        import streamlit as st

        return guarded(real_inputs.hold, st.session_state, prefix, "file-1", *files["f"], False, stop=False)

    monkeypatch.setattr(real_inputs, "upload_ui", fake_upload_ui)
    return lambda name, data: files.update(f=(name, data))


def test_coupling_on_digit_patches_lowers_t_and_d_and_says_so(images):
    at = open_page("coupling", {"cp_kind": labels.KINDS["digits"], "cp_T": "8", "cp_d": "64"})
    assert not at.exception and not at.error
    words = " ".join(c.value for c in at.caption)
    assert "shown at T = 4" in words and "d = 16 (its tokens have 16 features)" in words
    raw = np.asarray(figure(at, "cp_heat")["data"][0]["customdata"], dtype=np.float64)
    assert raw.shape == (16, 16)  # B·T = 4 × 4 tokens
    x, _ = batch_real.real_block(images["digits"], batch=4, tokens=4, dim=16)  # the page's block
    J = torch.autograd.functional.jacobian(
        lambda v: F.batch_norm(v.reshape(-1, 16), None, None, training=True).reshape(v.shape), x.double()
    ).reshape(16, 16, 16, 16)
    np.testing.assert_allclose(raw, J.square().sum((1, 3)).sqrt().numpy(), rtol=1e-4, atol=1e-6)


def test_instance_on_photo_patches_and_no_padding_to_show(images):
    at = open_page("instance", {"in_kind": labels.KINDS["photos"], "in_B": "3", "in_T": "3", "in_d": "16"})
    assert not at.exception and not at.error
    after = np.stack([figure(at, "in_view")["data"][1][k] for k in "xyz"], 1).astype(np.float64)
    x, feats = batch_real.real_block(images["photos"], batch=3, tokens=3, dim=16)
    var = images["photos"].x.double().var(0, unbiased=False).numpy()
    np.testing.assert_array_equal(np.sort(feats), np.sort(np.argsort(-var, kind="stable")[:16]))  # the stated rule
    ref = F.instance_norm(x.double().transpose(1, 2)).reshape(-1, 3).numpy()  # (B·d, T)
    np.testing.assert_allclose(
        np.sort(np.linalg.norm(after, axis=1)), np.sort(np.linalg.norm(ref, axis=1)), rtol=1e-4, atol=1e-5
    )  # constant pixels: 0
    assert "in_pad_mean" not in figure_keys(at)
    assert any("none is padded" in i.value for i in at.info)


def test_instance_on_an_uploaded_file_honours_its_mask(uploaded):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 10, 8)).astype(np.float32) + 5.0
    mask = np.arange(10)[None, :] < np.array([10, 6, 4])[:, None]  # (B, T) True = real token
    x[~mask] = np.nan  # a pad may hold anything: the mask keeps it out of every statistic
    uploaded("acts.npz", _npz(x, mask))
    at = open_page("instance", {"in_kind": labels.KINDS["upload"], "in_B": "3", "in_T": "4", "in_d": "8"})
    assert not at.exception and not at.error
    bars = figure(at, "in_pad_mean")
    real = sorted(int(label.split("(")[1].split()[0]) for label in bars["data"][0]["x"])  # "2 (6 real)"
    assert real == [4, 6, 10]  # each sequence's real tokens, as the file's mask says
    np.testing.assert_allclose(np.asarray(bars["data"][0]["y"], dtype=np.float64), 0.0, atol=1e-6)  # masked: mean 0
    assert np.asarray(bars["data"][1]["y"]).max() > 0.1  # pads counted: the means move
    assert any("your uploaded file" in c.value for c in at.caption)


def test_coupling_on_an_uploaded_file(uploaded):
    x = np.random.default_rng(1).standard_normal((4, 6, 5)).astype(np.float32)
    mask = np.ones((4, 6), dtype=bool)
    mask[3, 4:] = False
    uploaded("acts.npz", _npz(x, mask))
    at = open_page("coupling", {"cp_kind": labels.KINDS["upload"], "cp_B": "2", "cp_T": "4", "cp_d": "8",
                                "cp_norm": "LayerNorm"})  # fmt: skip
    assert not at.exception and not at.error
    words = " ".join(c.value for c in at.caption)
    assert "your uploaded file" in words and "d = 5 (its tokens have 5 features)" in words
    raw = np.asarray(figure(at, "cp_heat")["data"][0]["customdata"], dtype=np.float64)
    assert raw.shape == (8, 8) and (raw[~np.eye(8, dtype=bool)] == 0).all()  # LayerNorm: no token moves another
    pool = token_pool.from_padded(torch.from_numpy(x), torch.from_numpy(mask), "x")
    block, _ = batch_real.real_block(pool, batch=2, tokens=4, dim=5)
    J = torch.autograd.functional.jacobian(lambda v: F.layer_norm(v, (5,)), block.double()).reshape(8, 5, 8, 5)
    np.testing.assert_allclose(np.diag(raw), np.diag(J.square().sum((1, 3)).sqrt().numpy()), rtol=1e-4)


@pytest.mark.parametrize(
    ("page", "data", "says"),
    [
        ("instance", _npz(np.ones((2, 5, 4), np.float32), np.ones((2, 4), bool)), "The mask has shape (2, 4)"),
        ("coupling", _npz(np.ones((2, 5, 4), np.float32), np.full((2, 5), 0.5)), "The mask holds float64 numbers"),
        ("instance", _npz(np.full((2, 5, 4), np.nan, np.float32)), "hold NaN or ±Inf"),
        ("coupling", b"PK\x03\x04 not really a zip", "This is not a readable .npz file"),
        ("instance", _npz(np.ones((2, 2, 2, 2), np.float32)), "(rank 4)"),
    ],
)
def test_hostile_uploads_get_a_message_not_a_traceback(uploaded, page, data, says):
    uploaded("acts.npz", data)
    prefix = {"instance": "in_", "coupling": "cp_"}[page]
    at = open_page(page, {f"{prefix}kind": labels.KINDS["upload"]})
    assert not at.exception
    assert any(says in e.value for e in at.error), [e.value for e in at.error]
