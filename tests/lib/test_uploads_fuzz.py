"""Whatever bytes a file holds, uploads.load returns a valid Upload or raises ValueError, nothing else: good
files of every format, mutated by hypothesis (cut, flipped, spliced, padded), and hand-written headers that lie
about dtype, shape and length, which must be refused before their claims are allocated."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import save as st_save

from normviz.io import uploads

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DTYPES = ["<f4", "<f8", "<f2", ">f4", "<i4", "|u1", "<i8"]


def _checked(name: str, data: bytes, drop: bool = False) -> uploads.Upload | None:
    """The load, with every property an accepted file must have; None when refused with a ValueError."""
    try:
        u = uploads.load(name, data, drop_nonfinite=drop)
    except ValueError as err:
        assert str(err), "a refusal must say what to fix"
        return None
    assert isinstance(u, uploads.Upload)
    assert u.x.dtype == torch.float32 and u.x.ndim == 3 and u.x.shape[-1] >= 2
    assert u.mask.dtype == torch.bool and u.mask.shape == u.x.shape[:2] and u.mask.any()
    assert torch.isfinite(u.x).all()  # dropped tokens are zeroed, kept ones are finite
    return u


# --- good files --------------------------------------------------------------------------------


@st.composite
def arrays(draw) -> np.ndarray:
    """(N, d) or (B, T, d), d >= 2, in one of DTYPES, with values that fit every dtype."""
    shape = draw(
        st.one_of(
            st.tuples(st.integers(1, 6), st.integers(2, 6)), st.tuples(*[st.integers(1, 4)] * 2, st.integers(2, 5))
        )
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.standard_normal(shape) * 50).astype(draw(st.sampled_from(DTYPES)))


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _npz(a: np.ndarray, compressed: bool) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, activations=a, other=np.ones(3))
    return buf.getvalue()


def _pt(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _csv(a: np.ndarray, header: bool) -> bytes:
    rows = a.reshape(-1, a.shape[-1]).astype(np.float64)
    head = ",".join(f"f{j}" for j in range(rows.shape[1])) + "\n" if header else ""
    return (head + "\n".join(",".join(repr(float(v)) for v in r) for r in rows)).encode()


@st.composite
def good_files(draw, fmt: str) -> tuple[str, bytes, np.ndarray]:
    """``(name, bytes, the (B, T, d) float32 array they hold)`` for one accepted format."""
    a = draw(arrays())
    if fmt == "npy":
        data = _npy(a)
    elif fmt == "npz":
        data = _npz(a, draw(st.booleans()))
    elif fmt == "safetensors":
        data = st_save({"x": np.ascontiguousarray(a.astype(a.dtype.newbyteorder("=")))})
    elif fmt == "pt":
        t = torch.from_numpy(a.astype(a.dtype.newbyteorder("=")))
        data = _pt(draw(st.sampled_from([t, {"hidden_states": t, "other": torch.ones(2)}, [t]])))
    else:
        data = _csv(a, draw(st.booleans()))
    expected = a.astype(np.float32)  # what a float32 view of the file must hold, token by token
    if fmt == "csv" or a.ndim == 2:  # a csv is (N, d) rows; an (N, d) array is one sequence
        expected = expected.reshape(1, -1, a.shape[-1])  # (1, N, d)
    return f"acts.{fmt}", data, expected


FORMATS = ["npy", "npz", "safetensors", "pt", "csv"]


@pytest.mark.parametrize("fmt", FORMATS)
@given(data=st.data())
@settings(max_examples=30, deadline=None, database=None)
def test_good_files_load_exactly(fmt, data):
    name, raw, expected = data.draw(good_files(fmt))
    u = _checked(name, raw)
    assert u is not None, f"a good {fmt} file was refused"
    np.testing.assert_allclose(u.x.numpy(), expected, rtol=1e-6, atol=0)  # csv: repr round-trips float64


# --- mutated files -----------------------------------------------------------------------------


@st.composite
def mutated(draw, good: bytes) -> bytes:
    """1–4 edits of ``good``: cut it, flip or set bytes (often in the first 128, where headers live), splice
    in random bytes, pad it, delete a run, duplicate a run."""
    b = bytearray(good)
    for _ in range(draw(st.integers(1, 4))):
        n = len(b)
        op = draw(st.sampled_from(["cut", "flip", "header", "digit", "splice", "pad", "delete", "repeat"]))
        i = draw(st.integers(0, max(n - 1, 0)))
        j = draw(st.integers(i, min(n, i + 64)))
        if op == "cut":
            del b[i:]
        elif op == "flip" and n:
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "header" and n:
            b[min(i, 127, n - 1)] = draw(st.integers(0, 255))
        elif op == "digit" and n:
            b[min(i, 127, n - 1)] = ord(draw(st.sampled_from("0123456789-,(")))
        elif op == "splice":
            b[i:j] = draw(st.binary(max_size=64))
        elif op == "pad":
            b += draw(st.binary(max_size=256))
        elif op == "delete":
            del b[i:j]
        elif op == "repeat":
            b[j:j] = b[i:j] * draw(st.integers(1, 8))
    return bytes(b)


@pytest.mark.parametrize("fmt", FORMATS)
@given(data=st.data())
@FUZZ
def test_mutated_files_load_or_raise_value_error(fmt, data):
    name, raw, _ = data.draw(good_files(fmt))
    _checked(name, data.draw(mutated(raw)), drop=data.draw(st.booleans()))


@pytest.mark.parametrize("fmt", FORMATS)
@given(junk=st.binary(max_size=512))
@settings(max_examples=50, deadline=None, database=None)
def test_random_bytes_load_or_raise_value_error(fmt, junk):
    _checked(f"junk.{fmt}", junk)


# --- headers that lie --------------------------------------------------------------------------


def _npy_header(descr: str, shape: tuple, data: bytes = b"\0" * 16, fortran: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": fortran, "shape": shape})
    return buf.getvalue() + data


def _safetensors(header: dict, data: bytes = b"\0" * 16, length: int | None = None) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def _with_claimed_size(zipped: bytes, size: int) -> bytes:
    """The zip with every central-directory entry claiming ``size`` unpacked bytes (offset 24 of each entry)."""
    b = bytearray(zipped)
    at = b.find(b"PK\x01\x02")
    while at >= 0:
        b[at + 24 : at + 28] = struct.pack("<I", size)
        at = b.find(b"PK\x01\x02", at + 4)
    return bytes(b)


def _pt_claiming(numel: int) -> bytes:
    """torch.save(torch.ones(4)) whose pickle claims a storage (and tensor) of ``numel`` floats."""
    zin, out = zipfile.ZipFile(io.BytesIO(_pt(torch.ones(4)))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in zin.infolist():
            d = zin.read(info.filename)
            if info.filename.endswith("data.pkl"):
                assert b"cpuq\x04K\x04t" in d and b"K\x00K\x04\x85" in d, "torch changed its pickle: update the test"
                d = d.replace(b"cpuq\x04K\x04t", b"cpuq\x04J" + struct.pack("<i", numel) + b"t")
                d = d.replace(b"K\x00K\x04\x85", b"K\x00J" + struct.pack("<i", numel) + b"\x85")
            z.writestr(info.filename, d)
    return out.getvalue()


ONES = np.ones((2, 2), np.float32)

LIES = [
    ("npy shape of 10^12 values", "a.npy", _npy_header("<f4", (10**6, 10**6)), "over the cap"),
    ("npy shape over the element cap", "a.npy", _npy_header("<f4", (uploads.inputs.MAX_ELEMENTS, 2)), "over the cap"),
    ("npy 64 MB claimed, 16 B held", "a.npy", _npy_header("<f4", (4096, 4096)), "cut short"),
    ("npy f8 header on f4 data", "a.npy", _npy_header("<f8", (2, 2)), "cut short"),
    ("npy negative shape", "a.npy", _npy_header("<f4", (-2, -2)), "negative"),
    ("npy object dtype", "a.npy", _npy_header("|O", (2, 2)), "never unpickled"),
    ("npy string dtype", "a.npy", _npy_header("<U4", (1, 1)), "non-numeric"),
    ("npy structured dtype", "a.npy", _npy_header([("a", "<f4"), ("b", "<f4")], (2,)), "non-numeric"),
    ("npy unknown dtype", "a.npy", _npy_header("<f4", (2, 2)).replace(b"<f4", b"<q9"), "not a readable .npy"),
    ("npy header not a dict", "a.npy", _npy_header("<f4", (2, 2)).replace(b"{", b"[", 1), "not a readable .npy"),
    ("npy version 9", "a.npy", b"\x93NUMPY\x09\x00" + b"\0" * 64, "not a readable .npy|version"),
    ("npz member claims 4 GB", "a.npz", _with_claimed_size(_npz(ONES, False), 2**32 - 16), "unpacks to"),
    ("npz member claims 10 bytes", "a.npz", _with_claimed_size(_npz(ONES, False), 10), "npz"),
    ("npz member lies in its header", "a.npz", None, "cut short"),
    ("pt zip claims 4 GB", "a.pt", _with_claimed_size(_pt(torch.ones(2, 2)), 2**32 - 16), "unpacks to"),
    ("pt storage of 10^9 floats, 16 B held", "a.pt", _pt_claiming(10**9), "not a readable .pt"),
    ("safetensors offsets past the end", "a.safetensors",
     _safetensors({"x": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 10**12]}}), "not a readable"),
    ("safetensors shape larger than data", "a.safetensors",
     _safetensors({"x": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 16]}}), "not a readable"),
    ("safetensors unknown dtype", "a.safetensors",
     _safetensors({"x": {"dtype": "Q99", "shape": [2, 2], "data_offsets": [0, 16]}}), "not a readable"),
    ("safetensors header length 2^60", "a.safetensors",
     _safetensors({"x": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, length=2**60), "not a readable"),
    ("safetensors header not json", "a.safetensors", struct.pack("<Q", 4) + b"{{{{" + b"\0" * 16, "not a readable"),
    ("csv of only a header row", "a.csv", b"f0,f1\n", "no rows of numbers"),
    ("csv with ragged rows", "a.csv", b"1,2,3\n4,5\n", "non-numeric"),
    ("csv of complex numbers", "a.csv", b"1,2\n1+2j,3\n", "non-numeric"),
]  # fmt: skip


def _npz_with(member: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("activations.npy", member)
    return buf.getvalue()


LIES = [(c, n, _npz_with(_npy_header("<f4", (4096, 4096))) if d is None else d, m) for c, n, d, m in LIES]


@pytest.mark.parametrize(("case", "name", "data", "match"), LIES, ids=[c for c, *_ in LIES])
def test_lying_headers_are_refused_before_allocating(case, name, data, match):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match) as err:
            uploads.load(name, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "Accepted:" in str(err.value)
    assert peak < 8 * 2**20, f"{case}: {peak / 2**20:.0f} MB allocated for a file of {len(data)} bytes"


def test_tracemalloc_sees_numpy_allocations():
    """The peak check above can fail: numpy reports its array memory to tracemalloc."""
    tracemalloc.start()
    try:
        a = np.ones(16 * 2**20, np.uint8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert a.nbytes == 16 * 2**20 and peak >= a.nbytes
