"""Load a user's activations from file bytes, safely: nothing from the file is ever unpickled or run.

Accepted: ``.npy``, ``.npz``, ``.safetensors``, ``.pt``/``.pth`` and ``.csv`` holding one numeric
array shaped ``(N, d)`` (N tokens) or ``(B, T, d)`` (B sequences of T tokens), d >= 2.
``np.load(allow_pickle=False)`` and ``torch.load(weights_only=True)`` refuse pickled objects;
every bad file raises ``ValueError`` naming what is wrong and what is accepted.

A padding mask travels beside the activations: in ``.npz``, ``.safetensors`` and a ``.pt`` dict of tensors, an
array named ``mask`` of shape ``(B, T)`` (``(N,)`` for an ``(N, d)`` array), True = real token, bool or integers
0/1 (a Hugging Face ``attention_mask`` as it is). Masked-out positions never reach a statistic and may hold
anything, NaN included. Example: ``np.savez("acts.npz", activations=x, mask=attention_mask)``.
"""

from __future__ import annotations

import io
import math
import pickle
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
import torch

from normviz.core import inputs

__all__ = ["ACCEPTED", "EXTENSIONS", "MAX_MB", "Upload", "load"]

MAX_MB = 100  # matches server.maxUploadSize in .streamlit/config.toml

MAX_BYTES = MAX_MB * 1024 * 1024

EXTENSIONS = ("npy", "npz", "safetensors", "pt", "pth", "csv")

ACCEPTED = (
    "Accepted: .npy, .npz, .safetensors, .pt/.pth (tensors only) or .csv with one numeric array shaped "
    f"(N, d) or (B, T, d), d ≥ 2, finite values, at most {MAX_MB} MB; in .npz, .safetensors or a .pt dict, an "
    "optional padding mask named 'mask' beside it, shaped (B, T), True = real token."
)

_PREFERRED_KEYS = ("activations", "hidden_states", "x")

MASK_KEY = "mask"


@dataclass(frozen=True)
class Upload:
    """Activations from a file: ``x`` is ``(B, T, d)`` float32 (B = 1 for an (N, d) file), ``mask`` ``(B, T)``
    bool (False for tokens dropped because they held NaN/Inf), ``note`` says which array was read."""

    x: torch.Tensor
    mask: torch.Tensor
    note: str
    dropped: int = 0

    def real(self) -> torch.Tensor:
        """The kept tokens as ``(N, d)``."""
        return self.x[self.mask]  # (N, d)


def _bad(what: str) -> ValueError:
    return ValueError(f"{what} {ACCEPTED}")


def load(name: str, data: bytes, *, drop_nonfinite: bool = False) -> Upload:
    """Read activations from the bytes of a file called ``name``; whatever the bytes, the only error raised is
    ``ValueError`` saying what to fix (headers are checked against the file's size before anything is allocated).

    ``drop_nonfinite=True`` drops tokens holding NaN or ±Inf (masked out) instead of refusing the file.

    >>> buf = io.BytesIO(); np.save(buf, np.ones((4, 3), np.float32))
    >>> u = load("x.npy", buf.getvalue()); tuple(u.x.shape), u.note
    ((1, 4, 3), 'array of shape (4, 3), float32')
    """
    ext = PurePath(name or "").suffix.lower().lstrip(".")
    if ext not in EXTENSIONS:
        raise _bad(f"{name!r}: the file type .{ext or '?'} is not supported.")
    if len(data) > MAX_BYTES:
        raise _bad(f"{name!r} is {len(data) / 2**20:.1f} MB, over the {MAX_MB} MB cap.")
    if not data:
        raise _bad(f"{name!r} is empty (0 bytes).")
    try:
        with warnings.catch_warnings():  # a parser's warning means a file it half understood: refuse it
            warnings.simplefilter("error")
            arr, key, mask = _with_mask(_READERS[ext](bytes(data)))
            return _validate(arr, key, drop_nonfinite=drop_nonfinite, mask=mask)
    except ValueError:
        raise
    except Exception as err:  # any parser's own error (zip, pickle, torch, MemoryError, a warning): say so
        kind = "." + ("pt" if ext == "pth" else ext)
        raise _bad(f"This is not a readable {kind} file ({type(err).__name__}: {str(err)[:200]}).") from err


# --- readers: bytes -> (array or tensor, which key) ----------------------------------------------


def _npy_array(fp, size: int, kind: str) -> np.ndarray:
    """One array from the .npy stream ``fp`` of ``size`` bytes, its header checked against ``size`` (and the
    element cap) before a byte of data is allocated: a header claiming 10^12 values is refused, not obeyed."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(fp)
        if version not in readers:
            raise ValueError(f"format version {version}; save plain numbers with np.save")
        shape, fortran, dtype = readers[version](fp)
    except ValueError as err:  # numpy's own words, without which file or what is accepted
        raise _bad(f"This is not a readable {kind} file: its .npy header is wrong ({str(err)[:200]}).") from err
    if dtype.hasobject:
        raise _bad(f"The {kind} file holds Python objects (a pickle); they are refused, never unpickled.")
    if dtype.kind not in "biufc" or dtype.fields is not None or dtype.subdtype is not None:
        raise _bad(f"The array holds non-numeric data ({dtype}).")
    if any(n < 0 for n in shape):
        raise _bad(f"The {kind} file's header claims a negative shape {shape}.")
    count = math.prod(shape)
    if count > inputs.MAX_ELEMENTS:
        raise _bad(f"The array's header claims {count:,} values (shape {shape}), over the cap of "
                   f"{inputs.MAX_ELEMENTS:,}.")  # fmt: skip
    nbytes, left = count * dtype.itemsize, size - fp.tell()
    if nbytes > left:
        raise _bad(f"The {kind} file is cut short: its header claims shape {shape} of {dtype} ({nbytes:,} bytes), "
                   f"but only {max(left, 0):,} bytes follow it.")  # fmt: skip
    raw = fp.read(nbytes)
    if len(raw) != nbytes:
        raise _bad(f"The {kind} file is cut short: {len(raw):,} of {nbytes:,} bytes of data could be read.")
    return np.frombuffer(raw, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def _npy(data: bytes):
    return _npy_array(io.BytesIO(data), len(data), ".npy"), ""


def _zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """The archive, refused before reading when its members claim to unpack to over 4x the upload cap."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        raise _bad(f"This is not a readable {kind} file (not a zip archive).") from err
    unpacked = sum(i.file_size for i in zf.infolist())
    if unpacked > 4 * MAX_BYTES:
        raise _bad(f"The {kind} unpacks to {unpacked / 2**20:.0f} MB, over {4 * MAX_MB} MB.")
    return zf


def _npz(data: bytes):
    zf = _zip(data, ".npz")
    members = {i.filename.removesuffix(".npy"): i for i in zf.infolist() if i.filename.endswith(".npy")}
    key = _pick_key([k for k in members if k != MASK_KEY] if len(members) > 1 else list(members), ".npz")

    def read(k):
        with zf.open(members[k]) as fp:
            return _npy_array(fp, members[k].file_size, ".npz")

    return read(key), key, read(MASK_KEY) if MASK_KEY in members and key != MASK_KEY else None


def _safetensors(data: bytes):
    from safetensors.torch import load as st_load

    try:
        tensors = st_load(data)
    except Exception as err:  # safetensors raises its own SafetensorError
        raise _bad(f"This is not a readable .safetensors file ({str(err)[:200]}).") from err
    key = _pick_key([k for k in tensors if k != MASK_KEY] if len(tensors) > 1 else list(tensors), ".safetensors")
    return tensors[key], key, tensors.get(MASK_KEY) if key != MASK_KEY else None


def _pt(data: bytes):
    if not data.startswith(b"PK"):  # torch.save has written zip archives since torch 1.6
        raise _bad(
            "The .pt file is not a zip archive (torch.save's format since torch 1.6; older files are raw "
            "pickles): it was refused, never unpickled. Re-save it: torch.save(x, 'acts.pt')."
        )
    _zip(data, ".pt")
    try:
        with warnings.catch_warnings():  # torch warns about unusual pickle protocols before refusing them
            warnings.simplefilter("ignore")
            obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        raise _bad(
            "The .pt file holds Python objects other than tensors; torch.load(weights_only=True) refused to "
            "unpickle them (nothing was run). Save only tensors: torch.save(x, 'acts.pt')."
        ) from err
    except Exception as err:  # corrupt zip, truncated file, ...
        raise _bad(f"This is not a readable .pt file ({type(err).__name__}: {str(err)[:200]}).") from err
    if isinstance(obj, torch.Tensor):
        return obj, ""
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        named = {str(k): v for k, v in obj.items()}
        key = _pick_key([k for k in named if k != MASK_KEY] if len(named) > 1 else list(named), ".pt")
        return named[key], key, named.get(MASK_KEY) if key != MASK_KEY else None
    if isinstance(obj, (list, tuple)) and len(obj) == 1 and isinstance(obj[0], torch.Tensor):
        return obj[0], "[0]"
    raise _bad(
        f"The .pt file holds a {type(obj).__name__} that is not a tensor or a dict of tensors. "
        "Save one tensor: torch.save(x, 'acts.pt')."
    )


def _csv(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise _bad("The .csv file is not UTF-8 text.") from err
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise _bad("The .csv file has no rows.")
    skip = 0 if _numbers(lines[0]) else 1  # a first row that is not numbers is a header
    if skip == len(lines):
        raise _bad("The .csv file has a header row but no rows of numbers.")
    try:
        arr = np.loadtxt(io.StringIO("\n".join(lines[skip:])), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise _bad(
            f"The .csv file has non-numeric values or rows of different lengths ({str(err)[:120]}). "
            "Use one number per cell, comma-separated, the same count on every row."
        ) from err
    return arr, "header skipped" if skip else ""


def _numbers(row: str) -> bool:
    try:
        [float(cell) for cell in row.split(",")]
    except ValueError:
        return False
    return True


_READERS = {"npy": _npy, "npz": _npz, "safetensors": _safetensors, "pt": _pt, "pth": _pt, "csv": _csv}


def _pick_key(keys: list[str], kind: str) -> str:
    if not keys:
        raise _bad(f"The {kind} file holds no arrays.")
    if len(keys) == 1:
        return keys[0]
    for k in _PREFERRED_KEYS:
        if k in keys:
            return k
    raise _bad(
        f"The {kind} file holds {len(keys)} arrays ({', '.join(keys[:8])}); name the one to show "
        f"'{_PREFERRED_KEYS[0]}' or save only one."
    )


# --- checks shared by every format ----------------------------------------------------------


def _with_mask(read: tuple) -> tuple:
    """A reader's ``(array, key)`` or ``(array, key, mask)`` as the latter."""
    return read if len(read) == 3 else (*read, None)


def _check_mask(mask, shape: tuple[int, ...]) -> torch.Tensor:
    """The ``mask`` array as a ``(B, T)`` bool tensor for activations of ``shape``, or ValueError with the fix."""
    want = shape[:-1]  # (B, T), or (N,) for an (N, d) array
    m = mask.detach().cpu() if isinstance(mask, torch.Tensor) else torch.from_numpy(np.array(mask))
    if tuple(m.shape) != tuple(want):
        raise ValueError(
            f"The mask has shape {tuple(m.shape)} but the activations {tuple(shape)} need a mask of shape "
            f"{tuple(want)}: one entry per token, True = real token (save mask=attention_mask, shaped (B, T))."
        )
    if m.dtype != torch.bool:
        if m.is_floating_point() or m.is_complex():
            raise ValueError(
                f"The mask holds {str(m.dtype).removeprefix('torch.')} numbers; it must be bool (True = real "
                "token) or integers 0/1. Save mask.astype(bool)."
            )
        if ((m != 0) & (m != 1)).any():
            raise ValueError("The mask holds integers other than 0 and 1; it must be bool (True = real token) or 0/1.")
        m = m != 0
    if not m.any():
        raise ValueError("The mask marks no token as real (all False): True = real token. Check the mask.")
    return m.reshape(1, -1) if len(shape) == 2 else m  # (B, T)


def _validate(arr, key: str, *, drop_nonfinite: bool, mask=None) -> Upload:
    t = arr if isinstance(arr, torch.Tensor) else None
    if t is None:
        a = np.asarray(arr)
        if a.dtype.kind == "c":
            raise _bad(f"The array holds complex numbers ({a.dtype}); activations must be real.")
        if a.dtype.kind not in "fiu":
            raise _bad(f"The array holds non-numeric data ({a.dtype}).")
        shape, dtype = a.shape, str(a.dtype)
    else:
        if t.is_complex():
            raise _bad(f"The tensor holds complex numbers ({t.dtype}); activations must be real.")
        if t.dtype == torch.bool:
            raise _bad(f"The tensor holds non-numeric data ({t.dtype}).")
        if t.layout != torch.strided or t.is_quantized:
            raise _bad(f"The tensor is {t.layout}{', quantized' if t.is_quantized else ''}: save a dense one, "
                       "torch.save(x.to_dense().float(), 'acts.pt').")  # fmt: skip
        shape, dtype = tuple(t.shape), str(t.dtype).removeprefix("torch.")
    where = f" (key {key!r})" if key and not key.startswith("header") else ""
    if len(shape) not in (2, 3):
        raise _bad(f"The array{where} has shape {shape} (rank {len(shape)}); it must be (N, d) or (B, T, d).")
    if 0 in shape:
        raise _bad(f"The array{where} is empty: shape {shape}.")
    if shape[-1] < 2:
        raise _bad(f"The array{where} has d = {shape[-1]} feature per token: a norm over one feature is constant.")
    if math.prod(shape) > inputs.MAX_ELEMENTS:
        raise _bad(f"The array{where} holds {math.prod(shape):,} values, over the cap of {inputs.MAX_ELEMENTS:,}.")
    if t is None:
        with np.errstate(over="ignore", invalid="ignore"):  # beyond float32's range is ±Inf, refused below
            t = torch.from_numpy(a.astype(np.float32, order="C"))  # a writable copy, native byte order
    x = t.to(torch.float32)
    x = x.reshape(1, *shape) if len(shape) == 2 else x  # (B, T, d)
    real = torch.ones(x.shape[:2], dtype=torch.bool) if mask is None else _check_mask(mask, shape)  # (B, T)
    padded = int((~real).sum())
    finite = torch.isfinite(x).all(-1) | ~real  # (B, T): what a pad holds does not matter
    bad = int((~finite).sum())
    if bad and not drop_nonfinite:
        raise ValueError(
            f"{bad:,} of {finite.numel():,} tokens hold NaN or ±Inf. Tick 'Drop tokens with NaN/Inf' to "
            "keep only the finite tokens, or clean the file."
        )
    keep = finite & real  # (B, T)
    if not keep.any():
        raise _bad("Every real token holds NaN or ±Inf: nothing finite is left.")
    x = torch.where(keep[..., None], x, 0.0)  # dropped tokens and pads are zeroed and masked out
    note = f"array{where or ''} of shape {shape}, {dtype}" + (f", {key}" if key.startswith("header") else "")
    if mask is not None:
        note += f", with its mask ({padded:,} padded positions)"
    return Upload(x=x, mask=keep, note=note, dropped=bad)
