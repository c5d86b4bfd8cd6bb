"""Learning dynamics you can watch: small transformers trained on real offline data, with each norm.

>>> from normviz import training
>>> training.TASKS
('chars', 'digits')
"""

from normviz.experiments.training.curves import Combined, combine, table
from normviz.experiments.training.lanes import CHUNK, Shared
from normviz.experiments.training.leak import LEAK_CASES, Leak, causal_leak, leak_table
from normviz.experiments.training.presets import PRESETS, Preset
from normviz.experiments.training.settings import (
    DEFAULTS,
    FIELDS,
    NORMS,
    OPTIMIZER_LABELS,
    OPTIMIZERS,
    PLACEMENTS,
    TASK_LABELS,
    TASKS,
    check,
    decode,
    encode,
    key,
)  # fmt: skip
from normviz.experiments.training.trainer import Run, Trainer, run

__all__ = [
    "CHUNK", "DEFAULTS", "FIELDS", "LEAK_CASES", "NORMS", "OPTIMIZERS", "OPTIMIZER_LABELS", "PLACEMENTS", "PRESETS",
    "TASKS", "TASK_LABELS", "Combined", "Leak", "Preset", "Run", "Shared", "Trainer", "causal_leak", "check", "combine",
    "decode", "encode", "key", "leak_table", "run", "table",
]  # fmt: skip
