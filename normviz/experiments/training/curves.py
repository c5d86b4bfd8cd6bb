"""What the Training page draws from runs: seeds combined (mean, min … max), and the curves as one table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from normviz.experiments.training.trainer import Run

__all__ = ["Combined", "combine", "table"]


@dataclass(frozen=True)
class Combined:
    """One configuration over its seeds. Train curves cover the steps every seed has taken; eval points the
    evaluations every seed has made. Layer arrays are the seed mean; ``resid`` is at the last common eval."""

    steps: np.ndarray
    train: np.ndarray
    eval_steps: np.ndarray
    eval: np.ndarray
    eval_low: np.ndarray
    eval_high: np.ndarray
    acc: np.ndarray
    acc_low: np.ndarray
    acc_high: np.ndarray
    eval_batch_stats: np.ndarray  # BatchNorm: held-out loss with the batch's statistics (empty otherwise)
    grad_norm: np.ndarray  # (layers, steps)
    update_ratio: np.ndarray  # (layers, steps)
    resid: np.ndarray  # (layers,)
    diverged: tuple[tuple[int, float], ...]  # (step, loss) of each seed that diverged
    seeds: int


def combine(runs: list[Run]) -> Combined | None:
    """The seeds of one configuration combined; None when no seed has taken a step yet."""
    runs = [r for r in runs if r is not None and r.train_loss]
    if not runs:
        return None
    n = min(len(r.train_loss) for r in runs)
    e = min(len(r.eval_steps) for r in runs)
    train = np.array([r.train_loss[:n] for r in runs], dtype=np.float64)
    ev = np.array([r.eval_loss[:e] for r in runs], dtype=np.float64).reshape(len(runs), e)
    acc = np.array([r.eval_acc[:e] for r in runs], dtype=np.float64).reshape(len(runs), -1)
    bst = np.array([r.eval_loss_batch_stats[:e] for r in runs], dtype=np.float64).reshape(len(runs), -1)
    layers = len(runs[0].grad_norm[0])
    grads = np.array([r.grad_norm[:n] for r in runs], dtype=np.float64).mean(0).T.reshape(layers, n)
    ratio = np.array([r.update_ratio[:n] for r in runs], dtype=np.float64).mean(0).T.reshape(layers, n)
    resid = np.array([r.resid_norm[e - 1] for r in runs]).mean(0) if e else np.full(layers, np.nan)
    diverged = tuple((r.diverged_at, r.train_loss[-1]) for r in runs if r.diverged_at is not None)
    return Combined(
        np.arange(1, n + 1), train.mean(0), np.array(runs[0].eval_steps[:e]), ev.mean(0), ev.min(0), ev.max(0),
        acc.mean(0), acc.min(0) if acc.size else acc[0], acc.max(0) if acc.size else acc[0], bst.mean(0),
        grads, ratio, resid, diverged, len(runs),
    )  # fmt: skip


def table(named: dict[str, list[Run]]) -> dict[str, np.ndarray]:
    """Every step of every run as one row: configuration, seed, step, lr, train loss, and at eval steps the
    held-out loss and accuracy (NaN elsewhere). ``named``: configuration name -> its runs."""
    cols: dict[str, list] = {k: [] for k in ("config", "seed", "step", "lr", "train_loss", "eval_loss", "eval_acc")}
    for name, runs in named.items():
        for r in runs:
            if r is None:
                continue
            at = dict(zip(r.eval_steps, range(len(r.eval_steps)), strict=True))
            for i, loss in enumerate(r.train_loss):
                j = at.get(i + 1)
                cols["config"].append(name)
                cols["seed"].append(r.settings["seed"])
                cols["step"].append(i + 1)
                cols["lr"].append(r.lr[i])
                cols["train_loss"].append(loss)
                cols["eval_loss"].append(r.eval_loss[j] if j is not None else np.nan)
                cols["eval_acc"].append(r.eval_acc[j] if j is not None and r.eval_acc else np.nan)
    return {k: np.array(v) for k, v in cols.items()}
