"""normviz: see what normalization layers do to a transformer's token vectors.

The library never imports Streamlit: pages call these modules and draw what they return.

- ``normviz.core``: the norms (one registry), input distributions, projections, geometry, the device.
- ``normviz.experiments``: one module per page, named like the page (``batch`` is the Batch page's maths).
- ``normviz.io``: captures of real models, uploaded files, exports.
- ``normviz.figures``: Plotly builders (no maths, no torch).

``normviz.norms``, ``normviz.inputs``, ``normviz.batch``, ``normviz.dynamics`` and ``normviz.training`` stay
importable under those names (other code relies on them): they are ``core.norms``, ``core.inputs``,
``experiments.batch``, ``experiments.gradient_flow`` and ``experiments.training``.

>>> from normviz import norms, inputs
>>> x = inputs.sample("gaussian", batch=2, tokens=3, dim=4)
>>> tuple(norms.apply("layernorm", x).shape)
(2, 3, 4)
"""

import sys

from normviz.core import inputs, norms
from normviz.experiments import batch, training
from normviz.experiments import gradient_flow as dynamics

for _name, _module in {
    "norms": norms,
    "inputs": inputs,
    "batch": batch,
    "dynamics": dynamics,
    "training": training,
}.items():
    sys.modules[f"{__name__}.{_name}"] = _module  # `import normviz.norms` finds the same module object

__all__ = ["batch", "dynamics", "inputs", "norms", "training"]
