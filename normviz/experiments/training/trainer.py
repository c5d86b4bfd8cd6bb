"""Train one configuration step by step, measuring what happens inside: :class:`Trainer`, :func:`run`, :class:`Run`.

Every step: the training loss, each block's gradient norm ‖∂loss/∂θ_l‖ (all of block l's parameters) and its
update-to-weight ratio ‖Δθ_l‖ / ‖θ_l‖. Every ``eval_every`` steps (and at the last): the held-out loss (and
accuracy for digits) in eval mode, each block's output norm (mean ‖x_l‖ over held-out tokens) and, for
BatchNorm, the held-out loss in train mode (batch statistics) beside eval mode (running statistics).

The learning rate rises linearly over ``warmup`` steps (lr · t / warmup at step t = 1 … warmup), then stays.
A run *diverges* when a step's loss is not finite or above twice the first step's: it stops, and
``diverged_at`` is that step (1-based). Everything is drawn from the seed's ``torch.Generator``s: the same
settings and seed give the same curve, bitwise, on one CPU thread.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import torch

from normviz.experiments.training import data, settings
from normviz.experiments.training.model import Model

__all__ = ["Run", "Trainer", "run"]

_EVALS = 25  # evaluations per run (about)


@dataclass(frozen=True)
class Run:
    """What one run measured so far. Steps count from 1; ``eval_steps`` are the steps after which it evaluated."""

    task: str
    settings: dict
    train_loss: list[float] = field(default_factory=list)  # one per step taken
    lr: list[float] = field(default_factory=list)  # the learning rate of each step
    grad_norm: list[list[float]] = field(default_factory=list)  # steps × layers
    update_ratio: list[list[float]] = field(default_factory=list)  # steps × layers
    eval_steps: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)  # held-out, eval mode
    eval_acc: list[float] = field(default_factory=list)  # digits only
    eval_loss_batch_stats: list[float] = field(default_factory=list)  # BatchNorm only: held-out, train mode
    resid_norm: list[list[float]] = field(default_factory=list)  # eval steps × layers
    diverged_at: int | None = None

    @property
    def finished(self) -> bool:
        return self.diverged_at is not None or len(self.train_loss) >= self.settings["steps"]


class Trainer:
    """One run, trained ``n`` steps at a time by :meth:`step`; :attr:`history` is what it measured so far.

    Keywords as in :data:`settings.DEFAULTS`; a bad one raises ValueError saying how to fix it.
    :meth:`step` and :attr:`history` may be called from different threads.
    """

    def __init__(self, task: str, **kw) -> None:
        self.task = task
        self.settings = s = settings.check(task, **kw)
        self.key = settings.key(task, s)
        gen = torch.Generator().manual_seed(s["seed"])
        self.model = Model(task, norm=s["norm"], placement=s["placement"], groups=s["groups"], depth=s["depth"],
                           width=s["width"], heads=s["heads"], generator=gen)  # fmt: skip
        self.batches = data.Batches(task, s["batch_size"], s["seed"])
        params = list(self.model.parameters())
        if s["optimizer"] == "adamw":
            self.opt = torch.optim.AdamW(params, lr=s["lr"], weight_decay=0.01, foreach=True)
        else:
            self.opt = torch.optim.SGD(params, lr=s["lr"], momentum=0.9, foreach=True)
        self._layers = [list(b.parameters()) for b in self.model.blocks]
        self._flat = [p for layer in self._layers for p in layer]
        self._sizes = [len(layer) for layer in self._layers]
        self.eval_every = max(1, s["steps"] // _EVALS)
        self._held = data.held_out(task)
        self._lock = threading.Lock()  # guards the measured lists
        self._stepping = threading.Lock()  # one caller steps at a time
        self._run = Run(task, s)
        self._first: float | None = None

    @property
    def steps_done(self) -> int:
        return len(self._run.train_loss)

    @property
    def finished(self) -> bool:
        return self._run.finished

    @property
    def history(self) -> Run:
        """A snapshot of what has been measured (copied lists: later steps do not change it)."""
        r = self._run
        with self._lock:
            return Run(
                r.task, dict(r.settings), list(r.train_loss), list(r.lr), [list(v) for v in r.grad_norm],
                [list(v) for v in r.update_ratio], list(r.eval_steps), list(r.eval_loss), list(r.eval_acc),
                list(r.eval_loss_batch_stats), [list(v) for v in r.resid_norm], r.diverged_at,
            )  # fmt: skip

    def step(self, n: int = 1) -> None:
        """Train ``n`` more steps; stops early once the run has diverged or reached ``steps``."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be a whole number ≥ 0, got {n!r}.")
        with self._stepping:
            for _ in range(n):
                if self.finished:
                    return
                self._one_step()

    def _lr(self, t: int) -> float:
        w, lr = self.settings["warmup"], self.settings["lr"]
        return lr * min(1.0, t / w) if w else lr

    def _one_step(self) -> None:
        t = self.steps_done + 1
        lr = self._lr(t)
        for g in self.opt.param_groups:
            g["lr"] = lr
        x, y = next(self.batches)
        self.model.train()
        loss = self.model.loss(self.model(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        value = float(loss.detach())
        bad = not math.isfinite(value) or (self._first is not None and value > 2 * self._first)
        grads, ratios = self._measure(step=not bad)
        with self._lock:
            r = self._run
            r.train_loss.append(value)
            r.lr.append(lr)
            r.grad_norm.append(grads)
            r.update_ratio.append(ratios)
            if bad:
                object.__setattr__(r, "diverged_at", t)
        if self._first is None:
            self._first = value
        if not bad and (t % self.eval_every == 0 or t == self.settings["steps"]):
            self._evaluate(t)

    @torch.no_grad()
    def _measure(self, *, step: bool) -> tuple[list[float], list[float]]:
        """Each block's gradient norm, then (when ``step``) the optimizer step and each block's ‖Δθ‖ / ‖θ‖."""
        zero = torch.zeros(())
        g = torch._foreach_norm([p.grad if p.grad is not None else zero for p in self._flat])
        grads = _per_layer(g, self._sizes)
        if not step:
            return grads, [math.nan] * len(self._sizes)
        before = torch._foreach_mul(self._flat, 1.0)  # copies
        w = torch._foreach_norm(before)
        self.opt.step()
        torch._foreach_sub_(before, self._flat)  # before − after = −Δθ
        d = torch._foreach_norm(before)
        pairs = zip(_per_layer(d, self._sizes), _per_layer(w, self._sizes), strict=True)
        return grads, [a / b if b > 0 else math.nan for a, b in pairs]

    @torch.no_grad()
    def _evaluate(self, t: int) -> None:
        x, y = self._held
        m = self.model
        m.eval()
        resid: list[torch.Tensor] = []
        logits = m(x, resid)
        loss = float(m.loss(logits, y))
        acc = float((logits.argmax(-1) == y).float().mean()) if self.task == "digits" else None
        norms_l = [float(h.norm(dim=-1).mean()) for h in resid]
        batch_loss = None
        if self.settings["norm"] == "batchnorm":
            batch_loss = float(m.loss(_with_batch_stats(m, x), y))
        with self._lock:
            r = self._run
            r.eval_steps.append(t)
            r.eval_loss.append(loss)
            r.resid_norm.append(norms_l)
            if acc is not None:
                r.eval_acc.append(acc)
            if batch_loss is not None:
                r.eval_loss_batch_stats.append(batch_loss)


def _with_batch_stats(model: Model, x: torch.Tensor) -> torch.Tensor:
    """The model's logits with every BatchNorm using the held-out batch's own statistics (running ones untouched)."""
    bns = [n for n in model.modules() if getattr(n, "name", None) == "batchnorm"]
    for n in bns:
        n.batch_stats = True
    try:
        return model(x)
    finally:
        for n in bns:
            n.batch_stats = False


def _per_layer(norms_flat: list[torch.Tensor], sizes: list[int]) -> list[float]:
    out, i = [], 0
    sq = torch.stack(norms_flat).double().square()
    for s in sizes:
        out.append(float(sq[i : i + s].sum().sqrt()))
        i += s
    return out


def run(task: str, **kw) -> Run:
    """A :class:`Trainer` stepped to ``steps`` (or until it diverges); its :class:`Run`."""
    t = Trainer(task, **kw)
    t.step(t.settings["steps"])
    return t.history
