"""Streamlit-side helpers shared by the pages: caching, the in-place Plotly view, the sidebar.

Everything Streamlit-specific lives here or in pages/; normviz/ stays free of it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import plotly
import plotly.graph_objects as go
import streamlit as st
from plotly.utils import PlotlyJSONEncoder

from normviz import device, exports, inputs

ROOT = Path(__file__).resolve().parent

KIND_LABELS = {  # input distributions as a class would name them (normviz.inputs.KINDS)
    "gaussian": "Isotropic Gaussian",
    "shifted": "Shifted mean",
    "anisotropic": "Anisotropic scales",
    "outliers": "Massive outlier features",
    "heavy_tailed": "Heavy-tailed (Student-t)",
    "lognormal_scale": "Per-token lognormal scale",
    "clustered": "Clustered (token types)",
    "low_rank": "Low-rank",
}
KIND_HELP = "\n\n".join(f"**{KIND_LABELS[k]}**: {inputs.DESCRIPTIONS[k]}" for k in inputs.KINDS)
_STATIC = ROOT / "static"  # served at app/static/ (server.enableStaticServing in .streamlit/config.toml)


def ensure_plotly_js() -> None:
    """Serve the plotly.js that ships inside the installed plotly package (same version as the figures)."""
    src = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    dst = _STATIC / "plotly.min.js"
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        _STATIC.mkdir(exist_ok=True)
        tmp = dst.with_suffix(".tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)  # atomic: a second session never reads a half-written file


ensure_plotly_js()


def _leave_pages_directory_mode() -> None:
    """Make Streamlit run app.py's st.navigation for every visit, never a page file on its own.

    Streamlit runs a ``pages/`` directory the old (v1) way until some run has called
    st.navigation: a fresh server whose first visitor opens /hypersphere would show that page
    without app.py (no sidebar, file names as page titles). Switching it off here, when the
    first script imports this module, leaves only that first run to repair (``require_app``).
    """
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


_leave_pages_directory_mode()

_APP_RAN = "_normviz_app_ran"


def mark_app_ran() -> None:
    """Called by app.py before it runs the page."""
    st.session_state[_APP_RAN] = True


def require_app() -> None:
    """Called first by every page: if app.py did not run (the first visit to a fresh server was
    a page URL), run again; app.py's navigation then shows this same page."""
    if not st.session_state.get(_APP_RAN):
        st.session_state[_APP_RAN] = True  # at most one extra run
        st.rerun()


# The browser part: draws with Plotly.react into the same <div> on every rerun, so the WebGL
# scene is updated in place and the camera (layout.uirevision) stays where the user left it.
_JS = r"""
const PLOTLY_URL = new URL("app/static/plotly.min.js", window.location.href).href;

function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__normvizPlotly) {
    window.__normvizPlotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = PLOTLY_URL;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error("could not load " + PLOTLY_URL));
      document.head.appendChild(s);
    });
  }
  return window.__normvizPlotly;
}

function nextFrame(value) {
  return new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(value), 0)));
}

function themeColors() {
  const app = document.querySelector(".stApp") || document.body;
  const bg = getComputedStyle(app).backgroundColor || "rgb(255,255,255)";
  const rgb = (bg.match(/\d+(\.\d+)?/g) || [255, 255, 255]).slice(0, 3).map(Number);
  const lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255;
  return lum < 0.5
    ? { text: "#FAFAFA", bg: "#262730", grid: "#464955", zero: "#7b7e8a" }
    : { text: "#31333F", bg: "#FFFFFF", grid: "#d9d9de", zero: "#a3a3ad" };
}

function opaqueSceneGrids(layout, colors) {
  // WebGL scenes draw no grid for an rgba() gridcolor: give each 3D axis the theme's opaque grey
  for (const s of Object.keys(layout).filter((k) => /^scene\d*$/.test(k))) {
    for (const ax of ["xaxis", "yaxis", "zaxis"]) {
      const a = (layout[s][ax] = layout[s][ax] || {});
      if (!a.gridcolor || a.gridcolor.startsWith("rgba")) a.gridcolor = colors.grid;
      if (!a.zerolinecolor || a.zerolinecolor.startsWith("rgba")) a.zerolinecolor = colors.zero;
    }
  }
}

function linkCameras(root) {
  if (root.__normvizLinked) return;
  root.__normvizLinked = true;
  root.on("plotly_relayout", (ev) => {
    if (root.__normvizSyncing || !(root.layout.meta && root.layout.meta.link_cameras)) return;
    const scenes = Object.keys(root.layout).filter((k) => /^scene\d*$/.test(k));
    const src = Object.keys(ev).find((k) => /^scene\d*\.camera$/.test(k));
    if (!src) return;
    const cam = ev[src];
    root.__normvizCamera = cam;  // reapplied to every scene on the next update (see below)
    const upd = {};
    for (const s of scenes) if (s + ".camera" !== src) upd[s + ".camera"] = cam;
    root.__normvizSyncing = true;
    window.Plotly.relayout(root, upd).finally(() => { root.__normvizSyncing = false; });
  });
}

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".normviz-plot");
  if (!root) {
    root = document.createElement("div");
    root.className = "normviz-plot";
    root.style.width = "100%";
    parentElement.appendChild(root);
  }
  if (!data || !data.figure) return;
  if (root.__normvizLast === data.figure) {  // same figure as drawn: nothing to redo
    root.dataset.revision = data.revision;
    return;
  }
  root.__normvizLast = data.figure;
  const t0 = performance.now();
  root.dataset.receivedAt = String(t0);
  const spec = JSON.parse(data.figure);
  // secondary charts wait one task, so the 3D view (drawn first) is not held up behind them
  // (they wait for the main view's latest draw, then for the next frame)
  const main = window.__normvizMainDraw || Promise.resolve();
  const ready = data.defer
    ? loadPlotly().then((P) => main.then(() => nextFrame(P)))
    : loadPlotly();
  const drawn = ready.then((Plotly) => {
    const colors = themeColors();
    const layout = spec.layout || {};
    layout.font = Object.assign({ color: colors.text }, layout.font || {});
    layout.hoverlabel = Object.assign({ bgcolor: colors.bg, font: { color: colors.text } }, layout.hoverlabel || {});
    opaqueSceneGrids(layout, colors);
    if (layout.meta && layout.meta.link_cameras && root.__normvizCamera) {
      // Plotly.react keeps the camera of the scene the user dragged (uirevision) but not of the scenes
      // we turned with Plotly.relayout: hand every scene the shared camera so they stay linked
      for (const s of Object.keys(layout).filter((k) => /^scene\d*$/.test(k))) {
        layout[s].camera = JSON.parse(JSON.stringify(root.__normvizCamera));
      }
    }
    root.style.height = (layout.height || 450) + "px";
    return Plotly.react(root, spec.data, layout, { responsive: true, displaylogo: false }).then(() => {
      linkCameras(root);
      root.dataset.revision = data.revision;
      root.dataset.drawMs = String(Math.round(performance.now() - t0));
      root.dataset.drawnAt = String(performance.now());
    });
  }).catch((err) => {
    root.textContent = "The 3D view could not be drawn: " + err.message;
    root.dataset.error = String(err.message);
  });
  if (!data.defer) window.__normvizMainDraw = drawn.catch(() => {});
}
"""

_plotly_view = st.components.v2.component("normviz.plotly_view", js=_JS, isolate_styles=False)


def plotly_view(
    fig: go.Figure, *, key: str, revision: str = "", link_cameras: bool = True, defer: bool = False
) -> None:
    """Show ``fig`` through plotly.js ``Plotly.react``: updated in place, camera kept across reruns.

    ``st.plotly_chart`` rebuilds the WebGL scene on every rerun and resets the camera (Streamlit
    1.67, even with ``key=`` and ``uirevision``); this updates the existing plot instead.
    ``defer``: draw after the page's other views (for charts below a main 3D view).
    """
    fig.update_layout(meta={"link_cameras": link_cameras})
    # compact JSON without plotly's "\u002f" escaping of every "/" in the base64 arrays (-20% bytes)
    spec = json.dumps(fig.to_dict(), cls=PlotlyJSONEncoder, separators=(",", ":"))
    _plotly_view(key=key, data={"figure": spec, "revision": revision or key, "defer": defer})


@st.cache_resource(max_entries=4, show_spinner="Drawing token vectors…")
def sample(kind: str, batch: int, tokens: int, dim: int, seed: int):
    """One shared, read-only sample per argument set: moving eps or gamma never redraws it."""
    return inputs.sample(kind, batch=batch, tokens=tokens, dim=dim, seed=seed).to(device.device())


def index_slider(container, label: str, n: int, default: int, *, key: str, help: str) -> int:
    """Pick one of 1 … n (1-based, as a class counts). A select_slider, so n = 1 works (st.slider needs
    min < max); the key carries n, so shrinking n starts this slider afresh instead of out of range."""
    return container.select_slider(
        label, options=list(range(1, n + 1)), value=min(default, n), key=f"{key}_{n}", bind=BIND, help=help
    )


def guarded(fn: Callable[..., Any], *args: Any, stop: bool = True, **kwargs: Any) -> Any:
    """Call a normviz function; a ValueError becomes st.error with its fix, never a traceback.

    ``stop=True`` ends the page run there (the rest depends on the result); ``stop=False``
    returns None so the page can skip just that section and keep the others.
    """
    try:
        return fn(*args, **kwargs)
    except ValueError as err:
        st.error(str(err), icon=":material/error:")
        if stop:
            st.stop()
        return None


def sidebar() -> None:
    with st.sidebar:
        st.caption(f"Computing on: **{device.describe()}**")


# --- shareable links: every control in the URL ---------------------------------------------
# Widgets bind themselves with Streamlit's own ``bind="query-params"`` (the key is the parameter
# name; a value equal to the default is left out of the URL, an invalid one is dropped).
# ``shareable`` adds what Streamlit does silently: a notice naming the parameters it dropped.

BIND = "query-params"


def _url_forms(value: Any, fmt: Callable[[Any], str] | None) -> set[str]:
    forms = {str(value)}
    if isinstance(value, bool):
        forms.add(str(value).lower())  # toggles and checkboxes: ?key=true
    if fmt is not None:
        forms.add(str(fmt(value)))
    if isinstance(value, float | int) and not isinstance(value, bool):
        forms |= {f"{value:g}", repr(float(value))}
    return forms


def _spells(values: list[str], value: Any, fmt: Callable[[Any], str] | None) -> bool:
    """Whether a link's values for one key name the control's value (multi-selects: ?key=A&key=B, any order)."""
    if isinstance(value, list | tuple):
        if not value:
            return values == [""]  # ?key= clears a multi-select
        return len(set(values)) == len(value) and all(any(v in _url_forms(x, fmt) for x in value) for v in values)
    return len(values) == 1 and values[0] in _url_forms(value, fmt)


@contextmanager
def shareable(prefix: str, formats: dict[str, Callable[[Any], str]] | None = None) -> Iterator[None]:
    """Wrap a page's controls (created with ``key=prefix...`` and ``bind=ui.BIND``); may wrap the whole page.

    After they run, every ``prefix*`` parameter of the opened link that Streamlit did not accept
    (unknown name or a value that is not an option) is named in one notice; the control shows
    its default. ``formats``: the ``format_func`` of controls whose URL value is their label.
    """
    raw = {k: st.query_params.get_all(k) for k in st.query_params if k.startswith(prefix)}
    slot = st.empty()  # the notice goes above the controls
    yield
    rejected = []
    for k, values in raw.items():
        if k not in st.session_state:  # no control of this page has that name
            if k in st.query_params:
                del st.query_params[k]
            rejected.append(k)
            continue
        if k in st.query_params:
            continue  # accepted and kept in the URL
        if _spells(values, st.session_state[k], (formats or {}).get(k)):
            continue  # accepted: it was the default value, which the URL leaves out
        rejected.append(k)
    if rejected:
        names = ", ".join(f"`{k[:40].replace('`', '')}`" for k in rejected)
        slot.warning(
            f"This link had parameters that are not valid here: {names}. They were reset to their defaults.",
            icon=":material/link_off:",
        )


def share_caption() -> None:
    st.caption(
        ":material/link: Every control of this page is in the address bar: copy the link to share this exact view."
    )


# --- exports under a figure ------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _png_browser() -> str | None:
    return exports.png_browser()


def export_buttons(fig: go.Figure, table: dict[str, np.ndarray], *, key: str, name: str) -> None:
    """Download buttons under a figure: standalone HTML (offline), PNG, and the data as CSV and NPZ.

    ``table``: equal-length columns holding the points the figure shows (CSV and NPZ).
    Every file is made only when its button is clicked: a rerun costs four buttons, nothing more.
    """
    cols = st.columns([1, 1, 1, 1, 3])
    cols[0].download_button(
        "HTML", lambda: exports.figure_html(fig), file_name=f"{name}.html", mime="text/html", key=f"{key}_html",
        on_click="ignore", icon=":material/download:",
        help="The interactive figure as one HTML file with plotly.js inside: opens offline in any browser.",
    )  # fmt: skip
    if _png_browser() is not None:
        cols[1].download_button(
            "PNG", lambda: exports.figure_png(fig), file_name=f"{name}.png", mime="image/png", key=f"{key}_png",
            on_click="ignore", icon=":material/image:",
            help="A 2400×1400 picture of the current figure (takes a few seconds: it starts a headless browser).",
        )  # fmt: skip
    cols[2].download_button(
        "CSV", lambda: exports.table_csv(table), file_name=f"{name}.csv", mime="text/csv", key=f"{key}_csv",
        on_click="ignore", icon=":material/table:", help="The points the figure shows, one row each.",
    )  # fmt: skip
    cols[3].download_button(
        "NPZ", lambda: exports.table_npz(table), file_name=f"{name}.npz", mime="application/octet-stream",
        key=f"{key}_npz", on_click="ignore", icon=":material/data_array:",
        help="The same columns as numpy arrays: np.load(path).",
    )  # fmt: skip
    if _png_browser() is None:
        cols[4].caption(
            "PNG export needs a Chromium-based browser for kaleido (apt-get install chromium); "
            "the HTML file has a camera button that saves a PNG."
        )
