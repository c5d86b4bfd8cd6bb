"""One CPU thread for small torch workloads, safe for overlapping callers (Streamlit sessions)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["one_thread"]


class _OneThread:
    """torch's thread count is per thread, but a thread created later starts from the last value any thread
    set (measured, torch 2.13 CPU), and Streamlit runs every script run in a new thread. So every caller sets
    1 and, leaving, sets back the count from before the first of any overlapping callers: no caller leaves
    its own thread, or threads created later, on one thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.original = 1

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self.lock:
            if self.users == 0:
                self.original = torch.get_num_threads()
            self.users += 1
        torch.set_num_threads(1)
        try:
            yield
        finally:
            with self.lock:
                self.users -= 1
                torch.set_num_threads(self.original)


one_thread = _OneThread()

one_thread.__doc__ = """Run torch on one CPU thread inside ``with one_thread():``, then restore the thread count.

These matmuls are small (d <= 256, <= 512 tokens): one thread is faster, and on a shared machine a
2-thread OpenMP region whose second thread is descheduled spins (measured: a 24-layer forward+backward
took 6 s on 2 busy threads, 50 ms on one). See ``_OneThread`` for overlapping callers.
"""
