"""normviz: see what normalization layers do to a transformer's token vectors.

The library never imports Streamlit: pages call these modules and draw what they return.
"""

from normviz import (
    attention,
    batch,
    coupling,
    cube,
    device,
    dynamics,
    figures,
    figures_dynamics,
    figures_sharing,
    flow_view,
    geometry,
    groups,
    inputs,
    instance,
    jacobian,
    norms,
    projection,
    running,
    sphere,
)

__all__ = [
    "attention",
    "batch",
    "coupling",
    "cube",
    "device",
    "dynamics",
    "figures",
    "figures_dynamics",
    "figures_sharing",
    "flow_view",
    "geometry",
    "groups",
    "inputs",
    "instance",
    "jacobian",
    "norms",
    "projection",
    "running",
    "sphere",
]
