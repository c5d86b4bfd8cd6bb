"""The upload battery: every accepted format round-trips; every bad file gets a clear ValueError;
a pickle that would write a file when unpickled is refused and the file is never written."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tomllib
import torch
from safetensors.numpy import save as st_save

from normviz.io import uploads

ROOT = Path(__file__).resolve().parents[2]
X = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7  # (B, T, d)


def _npy(a, **kw) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, **kw)
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _pt(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


GOOD = {
    "a.npy": _npy(X),
    "a.npz": _npz(activations=X, other=np.ones(3)),
    "a.safetensors": st_save({"x": X}),
    "a.pt": _pt(torch.from_numpy(X)),
    "a.pth": _pt({"hidden_states": torch.from_numpy(X)}),
}


@pytest.mark.parametrize("name", GOOD)
def test_good_files_round_trip(name):
    u = uploads.load(name, GOOD[name])
    np.testing.assert_array_equal(u.x.numpy(), X)
    assert u.mask.all() and u.dropped == 0


def test_csv_with_and_without_header():
    rows = X.reshape(6, 4)
    text = "\n".join(",".join(repr(float(v)) for v in r) for r in rows)
    for data in (text, "f0,f1,f2,f3\n" + text):
        u = uploads.load("a.csv", data.encode())
        np.testing.assert_array_equal(u.real().numpy(), rows)


def test_int_and_float64_are_cast_to_float32():
    u = uploads.load("a.npy", _npy(np.arange(12, dtype=np.int64).reshape(3, 4)))
    assert u.x.dtype == torch.float32 and u.x.shape == (1, 3, 4)


BAD = [
    ("wrong rank 1", "a.npy", _npy(np.ones(5)), "rank 1"),
    ("wrong rank 4", "a.npy", _npy(np.ones((2, 2, 2, 2))), "rank 4"),
    ("complex", "a.npy", _npy(np.ones((3, 4), np.complex64)), "complex"),
    ("complex tensor", "a.pt", _pt(torch.ones(3, 4, dtype=torch.complex64)), "complex"),
    ("strings", "a.npy", _npy(np.array([["a", "b"], ["c", "d"]])), "non-numeric"),
    ("bool", "a.npy", _npy(np.ones((3, 4), bool)), "non-numeric"),
    ("csv text", "a.csv", b"1,2\n3,abc\n", "non-numeric"),
    ("empty file", "a.npy", b"", "empty"),
    ("empty array", "a.npy", _npy(np.ones((0, 4), np.float32)), "empty"),
    ("d = 1", "a.npy", _npy(np.ones((5, 1), np.float32)), "d = 1"),
    ("too large", "a.npy", b"\0" * (uploads.MAX_BYTES + 1), "over the 100 MB cap"),
    ("unknown type", "a.txt", b"1,2", "not supported"),
    ("pt with a string", "a.pt", _pt({"x": torch.ones(2, 3), "note": "hello"}), "not a tensor"),
    ("pt with a list", "a.pt", _pt([torch.ones(2, 3), torch.ones(2)]), "not a tensor"),
    ("pt with an int", "a.pt", _pt(3), "not a tensor"),
    ("corrupt pt", "a.pt", b"PK\x03\x04garbage", "not a readable .pt"),
    ("corrupt npz", "a.npz", b"not a zip", "not a readable .npz"),
    ("corrupt safetensors", "a.safetensors", b"\x08\0\0\0\0\0\0\0{}garbage", "not a readable .safetensors"),
    ("npz with many arrays", "a.npz", _npz(p=X, q=X), "name the one"),
    ("npy object array", "a.npy", _npy(np.array([{"a": 1}], dtype=object), allow_pickle=True), "never unpickled"),
]


@pytest.mark.parametrize(("case", "name", "data", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_raise_a_clear_error(case, name, data, match):
    with pytest.raises(ValueError, match=match) as err:
        uploads.load(name, data)
    assert "Accepted:" in str(err.value) or "NaN" in str(err.value)


def test_nan_and_inf_tokens_are_refused_or_dropped():
    a = X.copy()
    a[0, 1, 2] = np.nan
    a[1, 0, 0] = np.inf
    with pytest.raises(ValueError, match="2 of 6 tokens hold NaN"):
        uploads.load("a.npy", _npy(a))
    u = uploads.load("a.npy", _npy(a), drop_nonfinite=True)
    assert u.dropped == 2
    assert u.mask.tolist() == [[True, False, True], [False, True, True]]
    np.testing.assert_array_equal(u.real().numpy(), X[[0, 0, 1, 1], [0, 2, 1, 2]])
    with pytest.raises(ValueError, match="nothing finite"):
        uploads.load("a.npy", _npy(np.full((2, 3), np.nan)), drop_nonfinite=True)


class _WritesAFile:
    """Unpickling this calls open(path, "w"): the file appears if anything unpickles it."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("fmt", ["npy", "npz", "pt", "raw-pickle-as-pt", "pt-in-dict"])
def test_crafted_pickle_is_refused_and_never_run(tmp_path, fmt):
    target = tmp_path / "pwned.txt"
    evil = _WritesAFile(target)
    if fmt == "npy":
        name, data = "a.npy", _npy(np.array([evil], dtype=object), allow_pickle=True)
    elif fmt == "npz":
        buf = io.BytesIO()
        np.savez(buf, activations=np.array([evil], dtype=object))
        name, data = "a.npz", buf.getvalue()
    elif fmt == "pt":
        name, data = "a.pt", _pt(evil)
    elif fmt == "pt-in-dict":
        name, data = "a.pt", _pt({"x": torch.ones(2, 3), "y": evil})
    else:
        name, data = "a.pt", pickle.dumps(evil)
    assert not target.exists()
    # sanity: the payload really writes the file when unpickled (proves the test can fail)
    if fmt == "raw-pickle-as-pt":
        pickle.loads(data).close()
        assert target.exists()
        target.unlink()
    with pytest.raises(ValueError, match=r"never unpickled|refused to unpickle"):
        uploads.load(name, data)
    assert not target.exists(), "the pickled payload ran"


def test_npz_bomb_is_refused_before_reading(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_BYTES", 1000)  # a small cap keeps the test's own memory small
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", b"\0" * 4010)
    with pytest.raises(ValueError, match="unpacks to"):
        uploads.load("a.npz", buf.getvalue())


def test_cap_matches_streamlit_max_upload_size():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == uploads.MAX_MB


# --- a padding mask beside the activations ------------------------------------------------------

MASK = np.array([[True, True, False], [True, False, False]])  # (B, T) True = real token
PADDED = np.where(MASK[..., None], X, np.nan).astype(np.float32)  # pads hold NaN: the mask must keep them out
WITH_MASK = {
    "m.npz": _npz(activations=PADDED, mask=MASK),
    "m.safetensors": st_save({"activations": PADDED, "mask": MASK}),
    "m.pt": _pt({"x": torch.from_numpy(PADDED), "mask": torch.from_numpy(MASK.astype(np.int64))}),  # HF style 0/1
}


@pytest.mark.parametrize("name", WITH_MASK)
def test_a_file_with_its_mask_round_trips(name):
    u = uploads.load(name, WITH_MASK[name])
    np.testing.assert_array_equal(u.mask.numpy(), MASK)
    np.testing.assert_array_equal(u.real().numpy(), X[MASK])
    assert (u.x[~u.mask] == 0).all() and u.dropped == 0  # pads zeroed, NaN under the mask not counted as bad
    assert "3 padded positions" in u.note


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (
            np.ones((3, 2), bool),
            r"mask has shape \(3, 2\) but the activations \(2, 3, 4\) need a mask of shape \(2, 3\)",
        ),
        (np.ones((2, 3, 4), bool), r"mask has shape \(2, 3, 4\)"),
        (MASK.astype(np.float32), "holds float32 numbers; it must be bool"),
        (MASK.astype(np.int64) * 2, "integers other than 0 and 1"),
        (np.zeros((2, 3), bool), "marks no token as real"),
    ],
)
def test_a_wrong_mask_gets_a_clear_message(mask, match):
    with pytest.raises(ValueError, match=match):
        uploads.load("m.npz", _npz(activations=X, mask=mask))


def test_a_mask_for_an_n_by_d_file_is_one_entry_per_token():
    u = uploads.load("m.npz", _npz(activations=X[0], mask=np.array([True, False, True])))
    assert u.mask.tolist() == [[True, False, True]]
    with pytest.raises(ValueError, match=r"need a mask of shape \(3,\)"):
        uploads.load("m.npz", _npz(activations=X[0], mask=MASK))
