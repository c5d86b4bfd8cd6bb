"""The Streamlit side of normviz: everything that imports streamlit, apart from app.py and pages/.

Pages use the names below (``ui.plotly_view``, ``ui.BIND``, …); each lives in the module named for it:

- ``startup``: what must happen before a page runs (plotly.js served, Streamlit's pages mode off)
- ``plot_view`` (+ ``plot_view.js``): the in-place 3D view that keeps the camera across reruns
- ``live`` (+ ``live.js``): live controls, sliders whose 3D view follows the drag from precomputed frames
- ``links``: every control in the URL, the bad-link notice; ``labels``: every display name
- ``controls``: index sliders, a table of select sliders, errors as messages, cached samples
- ``export_buttons``: HTML/PNG/CSV/NPZ; ``code_lines``: a page's line of torch code
- ``figure_cache``: ``shared_figure``, a view's figure (and its JSON) built once per server for every session
- ``real_inputs``: MiniLM's residual stream and uploaded files; ``sidebar``: the device line
- ``present``: presentation mode (``?present=1``): large type in figures and page, 1920 × 1080 PNGs
- ``lessons``: the lesson picker, Previous/Next and the lesson editor (app.py draws it under the pages)
- ``heavy_views``: ``heavy``, a cold heavy view as a heavy job of the one pool (its place in the queue shown)
- ``warm``: from the app's first open, every page's default view computed in the background by a headless visit
  (jobs of ``normviz.core.jobs``' one pool); pages keep their own ``st.cache_data`` wrappers, which the visit fills
"""

from ui import labels
from ui.code_lines import code_line
from ui.controls import guarded, index_slider, sample, select_sliders
from ui.export_buttons import export_buttons
from ui.figure_cache import shared_figure
from ui.heavy_views import heavy
from ui.links import BIND, share_caption
from ui.live import frames as live_frames
from ui.live import live_slider, live_view
from ui.live import wanted as live_wanted
from ui.plot_view import plotly_view
from ui.startup import require_app

__all__ = [
    "BIND",
    "code_line",
    "export_buttons",
    "guarded",
    "heavy",
    "index_slider",
    "labels",
    "live_frames",
    "live_slider",
    "live_view",
    "live_wanted",
    "plotly_view",
    "require_app",
    "sample",
    "select_sliders",
    "share_caption",
    "shared_figure",
]
