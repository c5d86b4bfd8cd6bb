"""Load a user's activations from file bytes, safely: nothing from the file is ever unpickled or run.

Accepted: ``.npy``, ``.npz``, ``.safetensors``, ``.pt``/``.pth`` and ``.csv`` holding one numeric
array shaped ``(N, d)`` (N tokens) or ``(B, T, d)`` (B sequences of T tokens), d >= 2.
``np.load(allow_pickle=False)`` and ``torch.load(weights_only=True)`` refuse pickled objects;
every bad file raises ``ValueError`` naming what is wrong and what is accepted.
"""

from __future__ import annotations

import io
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
    f"(N, d) or (B, T, d), d ≥ 2, finite values, at most {MAX_MB} MB."
)

_PREFERRED_KEYS = ("activations", "hidden_states", "x")


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
    """Read activations from the bytes of a file called ``name``.

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
    arr, key = _READERS[ext](data)
    return _validate(arr, key, drop_nonfinite=drop_nonfinite)


# --- readers: bytes -> (array or tensor, which key) ----------------------------------------------


def _npy(data: bytes):
    try:
        return np.load(io.BytesIO(data), allow_pickle=False), ""
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise _bad("The .npy file holds Python objects (a pickle); they are refused, never unpickled.") from err
        raise _bad(f"The .npy file could not be read: {err}.") from err
    except (OSError, EOFError) as err:
        raise _bad(f"This is not a readable .npy file ({err}).") from err


def _npz(data: bytes):
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as err:
        raise _bad("This is not a readable .npz file (not a zip archive).") from err
    if unpacked > 4 * MAX_BYTES:
        raise _bad(f"The .npz unpacks to {unpacked / 2**20:.0f} MB, over {4 * MAX_MB} MB.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            key = _pick_key(list(npz.files), ".npz")
            return npz[key], key
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err):
            raise _bad("The .npz file holds Python objects (a pickle); they are refused, never unpickled.") from err
        raise
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise _bad(f"This is not a readable .npz file ({err}).") from err


def _safetensors(data: bytes):
    from safetensors.torch import load as st_load

    try:
        tensors = st_load(data)
    except Exception as err:  # safetensors raises its own SafetensorError
        raise _bad(f"This is not a readable .safetensors file ({str(err)[:200]}).") from err
    key = _pick_key(list(tensors), ".safetensors")
    return tensors[key], key


def _pt(data: bytes):
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
        key = _pick_key([str(k) for k in obj], ".pt")
        return {str(k): v for k, v in obj.items()}[key], key
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
    for skip in (0, 1):  # an optional header row
        try:
            arr = np.loadtxt(io.StringIO("\n".join(lines[skip:])), delimiter=",", dtype=np.float64, ndmin=2)
            return arr, "header skipped" if skip else ""
        except ValueError as err:
            last = err
    raise _bad(f"The .csv file has non-numeric values ({str(last)[:120]}). Use one number per cell, comma-separated.")


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


def _validate(arr, key: str, *, drop_nonfinite: bool) -> Upload:
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
        shape, dtype = tuple(t.shape), str(t.dtype).removeprefix("torch.")
    where = f" (key {key!r})" if key and not key.startswith("header") else ""
    if len(shape) not in (2, 3):
        raise _bad(f"The array{where} has shape {shape} (rank {len(shape)}); it must be (N, d) or (B, T, d).")
    if 0 in shape:
        raise _bad(f"The array{where} is empty: shape {shape}.")
    if shape[-1] < 2:
        raise _bad(f"The array{where} has d = {shape[-1]} feature per token: a norm over one feature is constant.")
    if int(np.prod(shape)) > inputs.MAX_ELEMENTS:
        raise _bad(f"The array{where} holds {int(np.prod(shape)):,} values, over the cap of {inputs.MAX_ELEMENTS:,}.")
    x = (t if t is not None else torch.from_numpy(np.ascontiguousarray(a))).to(torch.float32)
    x = x.reshape(1, *shape) if len(shape) == 2 else x  # (B, T, d)
    finite = torch.isfinite(x).all(-1)  # (B, T)
    bad = int((~finite).sum())
    if bad and not drop_nonfinite:
        raise ValueError(
            f"{bad:,} of {finite.numel():,} tokens hold NaN or ±Inf. Tick 'Drop tokens with NaN/Inf' to "
            "keep only the finite tokens, or clean the file."
        )
    if bad == finite.numel():
        raise _bad("Every token holds NaN or ±Inf: nothing finite is left.")
    x = torch.where(finite[..., None], x, 0.0)  # dropped tokens are zeroed and masked out
    note = f"array{where or ''} of shape {shape}, {dtype}" + (f", {key}" if key.startswith("header") else "")
    return Upload(x=x, mask=finite, note=note, dropped=bad)
