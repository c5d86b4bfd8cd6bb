"""normviz: see what normalization layers do to a transformer's token vectors.

The library never imports Streamlit: pages call these modules and draw what they return.
"""

from normviz import batch, device, figures, geometry, inputs, norms, projection, running, sphere

__all__ = ["batch", "device", "figures", "geometry", "inputs", "norms", "projection", "running", "sphere"]
