"""Where the maths runs: CUDA, then Apple's MPS, then the CPU — one choice for every page.

Every experiment asks :func:`device` where to compute, draws its tokens on the CPU (a seeded
``torch.Generator``, so a link shows the same tokens on any machine), moves them there, and hands
numpy arrays or CPU tensors back. A few steps stay on the CPU on purpose; each says why in a comment
next to it, and :data:`ON_CPU` lists them for the sidebar (:func:`placement_notes`).

``NORMVIZ_DEVICE=cpu`` (or ``cuda``, ``mps``) overrides the choice, for tests and operations;
:func:`forced` does the same inside a ``with`` block (benchmarks comparing devices).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = [
    "DEVICES",
    "ENV",
    "ON_CPU",
    "ON_DEVICE",
    "describe",
    "device",
    "f64",
    "float64_device",
    "forced",
    "placement_notes",
]

ENV = "NORMVIZ_DEVICE"

DEVICES = ("cuda", "mps", "cpu")

# what runs on device(): the heavy maths of every page
ON_DEVICE = "norms, projections (the d × d covariance), Jacobians, batch sweeps, gradient-flow stacks, model capture"

# what stays on the CPU whatever the device, and why (the code says the same where it happens)
ON_CPU = (
    "sampling (a seeded CPU generator: the same tokens on every machine)",
    "eigenvectors of the d × d covariance (SciPy; d ≤ 1024, the N × d product before it runs on the device)",
    "PCA of the small clouds on the Batch and Coupling pages (scikit-learn; a few thousand points at most)",
    "convex hulls (Qhull) and the key sets around them",
    "tiny exact checks, where a GPU launch costs more than the sum (the cube's re-check, the d = 3 Jacobian "
    "arrows, one sequence's attention maps, one batch's padding shift)",
)

_forced: str | None = None  # set by forced(); not for concurrent use (tests, benchmarks)


def device() -> torch.device:
    """The device the maths runs on: ``forced()``, else ``$NORMVIZ_DEVICE``, else cuda > mps > cpu.

    >>> device().type in {"cuda", "mps", "cpu"}
    True
    """
    name = _forced or os.environ.get(ENV, "").strip().lower()
    if name:
        return _checked(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


@contextmanager
def forced(name: str) -> Iterator[torch.device]:
    """Inside ``with forced("cpu"):`` every :func:`device` call answers that device (benchmarks, tests).

    >>> with forced("cpu") as dev:
    ...     device() == dev
    True
    """
    global _forced
    dev, before = _checked(name), _forced
    _forced = dev.type
    try:
        yield dev
    finally:
        _forced = before


def float64_device() -> torch.device:
    """:func:`device`, or the CPU where that has no float64 (Apple's MPS): for maths done in float64 throughout."""
    dev = device()
    return torch.device("cpu") if dev.type == "mps" else dev


def f64(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float64 where its device has float64, else on the CPU: Apple's MPS has no float64.

    >>> f64(torch.ones(2)).dtype
    torch.float64
    """
    return t.cpu().double() if t.device.type == "mps" else t.double()


def describe() -> str:
    """A one-line, human description of :func:`device` (for the sidebar)."""
    dev = device()
    if dev.type == "cuda":
        return f"GPU · {torch.cuda.get_device_name(dev)} (CUDA)"
    if dev.type == "mps":
        return "GPU · Apple silicon (MPS)"
    why = f"{ENV}=cpu" if (_forced or os.environ.get(ENV)) else "no GPU found"
    n = torch.get_num_threads()
    return f"CPU · {n} thread{'' if n == 1 else 's'} ({why})"


def placement_notes() -> list[str]:
    """What runs where, one line each, for the sidebar: the device's share first, then the CPU's.

    >>> with forced("cpu"):
    ...     placement_notes()[0].startswith("norms, projections")
    True
    """
    dev = device()
    where = {"cuda": "CUDA", "mps": "MPS (Apple silicon)", "cpu": "CPU"}[dev.type]
    if dev.type == "cuda":
        where = f"CUDA ({torch.cuda.get_device_name(dev)})"
    lines = [f"{ON_DEVICE}: {where}"]
    if dev.type == "mps":
        lines.append("float64 statistics: CPU (MPS has no float64)")
    lines += [f"{what}: CPU" for what in ON_CPU]
    return lines


def _checked(name: str) -> torch.device:
    if name not in DEVICES:
        raise ValueError(f"{ENV}={name!r} is not a device normviz uses. Pick one of {', '.join(DEVICES)}.")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{ENV}=cuda, but torch sees no CUDA device here. Unset it, or set it to cpu.")
    if name == "mps" and not _mps_available():
        raise ValueError(f"{ENV}=mps, but torch sees no MPS device here. Unset it, or set it to cpu.")
    return torch.device(name)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()
