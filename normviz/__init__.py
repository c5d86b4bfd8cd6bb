"""normviz: see what normalization layers do to a transformer's token vectors.

The library never imports Streamlit: pages call these modules and draw what they return.
"""

from normviz import (
    attention,
    batch,
    device,
    dynamics,
    figures,
    figures_dynamics,
    flow_view,
    geometry,
    inputs,
    jacobian,
    norms,
    projection,
    running,
    sphere,
)

__all__ = [
    "attention",
    "batch",
    "device",
    "dynamics",
    "figures",
    "figures_dynamics",
    "flow_view",
    "geometry",
    "inputs",
    "jacobian",
    "norms",
    "projection",
    "running",
    "sphere",
]
