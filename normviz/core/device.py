"""Where the maths runs: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

__all__ = ["describe", "device"]


def device() -> torch.device:
    """The best device torch can use here: cuda > mps > cpu.

    >>> device().type in {"cuda", "mps", "cpu"}
    True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe() -> str:
    """A one-line, human description of :func:`device` (for the sidebar)."""
    dev = device()
    if dev.type == "cuda":
        return f"GPU · {torch.cuda.get_device_name(dev)} (CUDA)"
    if dev.type == "mps":
        return "GPU · Apple silicon (MPS)"
    return f"CPU · {torch.get_num_threads()} threads (no GPU found)"
