"""normviz: see what normalization layers do to a transformer's token vectors.

The library never imports Streamlit: pages call these modules and draw what they return.
"""

from normviz import device, figures, geometry, inputs, norms, projection, sphere

__all__ = ["device", "figures", "geometry", "inputs", "norms", "projection", "sphere"]
