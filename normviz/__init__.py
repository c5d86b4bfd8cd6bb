"""normviz: see what normalization layers do to a transformer's token vectors.

The library never imports Streamlit: pages call these modules and draw what they return.
"""

from normviz import (
    activations_view,
    batch,
    capture,
    device,
    exports,
    figures,
    figures_real,
    geometry,
    inputs,
    norms,
    projection,
    running,
    sphere,
    uploads,
)

__all__ = [
    "activations_view",
    "batch",
    "capture",
    "device",
    "exports",
    "figures",
    "figures_real",
    "geometry",
    "inputs",
    "norms",
    "projection",
    "running",
    "sphere",
    "uploads",
]
