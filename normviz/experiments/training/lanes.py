"""One session's runs trained by a few workers together: :class:`Shared`.

The Training page trains a session's runs (every configuration and seed) in up to two heavy jobs of the one
pool (``normviz.core.jobs``), each on one torch thread. Both jobs call :meth:`Shared.work` on the same
:class:`Shared`: each in turn claims the least-trained run that no other worker holds, trains it ``chunk``
steps, and gives it back. So all the curves grow together, a worker never waits for another (there is always
an unclaimed run, or nothing left for it to do), no run is stepped by two workers at once, and a stop request
is seen within one chunk. ``benchmarks/bench_training.py`` times a preset's first click through this same code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from normviz.experiments.training.trainer import Trainer

__all__ = ["CHUNK", "Shared"]

CHUNK = 5  # steps a worker trains one run before it looks at the stop request and picks the next run


class Shared:
    """``trainers`` to be trained to ``targets[trainer.key]`` steps (or until they finish), by several workers."""

    def __init__(self, trainers: list[Trainer], targets: dict[str, int], *, chunk: int = CHUNK) -> None:
        if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1:
            raise ValueError(f"chunk must be a whole number ≥ 1, got {chunk!r}.")
        missing = [t.key for t in trainers if t.key not in targets]
        if missing:
            raise ValueError(f"targets has no step count for run(s) {missing}: give one per trainer's key.")
        self.trainers, self.targets, self.chunk = list(trainers), dict(targets), chunk
        self._lock = threading.Lock()
        self._claimed: set[int] = set()  # indexes of the runs some worker is training now
        self._start = {i: t.steps_done for i, t in enumerate(self.trainers)}

    def _left(self, i: int) -> int:
        t = self.trainers[i]
        return 0 if t.finished else max(0, self.targets[t.key] - t.steps_done)

    def _claim(self) -> int | None:
        with self._lock:
            free = [i for i in range(len(self.trainers)) if i not in self._claimed and self._left(i) > 0]
            if not free:
                return None
            i = min(free, key=lambda j: (self.trainers[j].steps_done, j))  # the least trained first
            self._claimed.add(i)
            return i

    def work(
        self,
        stop: Callable[[], bool] = lambda: False,
        on_finished: Callable[[Trainer], None] = lambda t: None,
        on_chunk: Callable[[], None] = lambda: None,
    ) -> None:
        """Train claimed runs a chunk at a time until none is left unclaimed or ``stop()`` says so.

        ``on_finished(trainer)`` is called once a run has finished (reached its ``steps`` or diverged);
        ``on_chunk()`` after every chunk (e.g. to report progress)."""
        while not stop():
            i = self._claim()
            if i is None:
                return
            t = self.trainers[i]
            try:
                t.step(min(self.chunk, self._left(i)))
            finally:
                with self._lock:
                    self._claimed.discard(i)
            if t.finished:
                on_finished(t)
            on_chunk()

    @property
    def done(self) -> bool:
        """Every run has reached its target (or finished)."""
        return all(self._left(i) == 0 for i in range(len(self.trainers)))

    def progress(self) -> tuple[float, int]:
        """The fraction of this work's steps done (a diverged run's skipped steps count as done), and the
        steps the least-trained unfinished run has taken."""
        total = sum(max(0, self.targets[t.key] - self._start[i]) for i, t in enumerate(self.trainers)) or 1
        left = sum(self._left(i) for i in range(len(self.trainers)))
        open_ = [t.steps_done for i, t in enumerate(self.trainers) if self._left(i) > 0]
        return 1 - left / total, min(open_, default=max((t.steps_done for t in self.trainers), default=0))
