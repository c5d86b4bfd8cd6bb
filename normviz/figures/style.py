"""The look every figure shares: Okabe & Ito's colour-blind-safe palette, grids, cameras, 3D axes.

Colours follow Okabe & Ito; continuous colour is Cividis. Arrays go to Plotly as float32 numpy.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "CAMERA",
    "GRID",
    "LEGEND_ABOVE",
    "PALETTE",
    "SERIES_CYCLE",
    "SYMBOLS",
    "TRANSPARENT",
    "UIREVISION",
    "base_layout",
    "cube_axes",
    "f32",
    "inset_ticks",
    "panel_title",
    "presentation",
    "scene_axes",
    "scene_domains",
    "scene_layout",
    "scene_title",
    "xyz",
]

# Okabe-Ito: readable for the common colour-vision deficiencies, on light and dark backgrounds.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}

UIREVISION = "normviz"  # constant: plotly keeps the user's camera across updates

TRANSPARENT = "rgba(0,0,0,0)"

GRID = "rgba(128,128,128,0.35)"

LEGEND_ABOVE = {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}  # a horizontal legend over a chart


def base_layout(*, height: int, margin: tuple[int, int, int, int] = (60, 20, 30, 50), **layout) -> dict:
    """The layout every figure starts from: its height, margins (left, right, top, bottom), transparent
    paper and plot (the app's theme shows through), then ``layout``'s own keys.

    >>> base_layout(height=300, margin=(0, 0, 10, 0))["margin"]
    {'l': 0, 'r': 0, 't': 10, 'b': 0}
    """
    left, right, top, bottom = margin
    return {
        "height": height,
        "margin": {"l": left, "r": right, "t": top, "b": bottom},
        "paper_bgcolor": TRANSPARENT,
        "plot_bgcolor": TRANSPARENT,
        **layout,
    }


CAMERA = {"eye": {"x": 1.6, "y": 1.6, "z": 1.1}}  # first view only: uirevision keeps the user's after


def cube_axes(labels, point_sets) -> dict:
    """Equal ranges on all three axes (aspectmode "cube"), so a sphere looks round and a flat
    set (LayerNorm's plane seen in the ones+PC basis, d = 2) stays visible instead of collapsing."""
    half = max((float(np.abs(p).max()) for p in point_sets if p.size), default=1.0)
    half = 1.08 * half if half > 0 else 1.0
    return {"aspectmode": "cube", **scene_axes(labels, half)}


def scene_axes(labels, half: float) -> dict:
    """A 3D scene's three axes, titled ``labels``, each spanning −half … half, ticked by :func:`inset_ticks`."""
    return {
        ax: {
            "title": {"text": label},
            "gridcolor": GRID,
            "zerolinecolor": GRID,
            "backgroundcolor": TRANSPARENT,
            "range": [-half, half],
            **inset_ticks(-half, half),
        }
        for ax, label in zip(("xaxis", "yaxis", "zaxis"), labels, strict=True)
    }


_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)


def inset_ticks(lo: float, hi: float, *, most: int = 4, inset: float = 0.12) -> dict:
    """At most ``most`` round tick values on [lo, hi], none within ``inset`` of the span from either end.

    Plotly's own 3D ticks reach the ends of each range, where the labels of two axes meeting at a corner of
    the box fall on top of each other ("−1.5" over "−1.5"); ticks kept off the ends leave every corner clear.
    Labels use the true minus sign, as Plotly's do.

    >>> inset_ticks(-1.62, 1.62)["ticktext"]
    ['−1', '0', '1']
    >>> inset_ticks(0.0, 37.0)["tickvals"]
    [10.0, 20.0, 30.0]
    >>> inset_ticks(-0.3, 1.7)["ticktext"]
    ['0', '0.5', '1']
    """
    span = hi - lo
    if not span > 0:
        return {}
    inner_lo, inner_hi = lo + inset * span, hi - inset * span
    for nice in (n * 10.0**e for e in range(int(np.floor(np.log10(span))) - 2, int(np.ceil(np.log10(span))) + 1)
                 for n in _NICE):  # fmt: skip
        first, last = np.ceil(inner_lo / nice), np.floor(inner_hi / nice)
        if last - first + 1 <= most:
            # + 0.0: np.ceil(-0.3) is -0.0, whose label would read "−0" (Batch's PC 3 axis showed one)
            vals = [round(float(k * nice), 12) + 0.0 for k in np.arange(first, last + 1)]
            break
    else:  # pragma: no cover - the largest step (≥ the span) always leaves at most one tick
        return {}
    return {"tickvals": vals, "ticktext": [f"{v:.4g}".replace("-", "−") for v in vals]}


def scene_layout(*, height: int, top: int = 10, **layout) -> dict:
    """:func:`base_layout` for 3D figures: no side margins, and the user's camera kept across updates."""
    return base_layout(height=height, margin=(0, 0, top, 0), uirevision=UIREVISION, **layout)


def xyz(points) -> dict:
    """A 3D trace's coordinates from ``(n, 3)`` points, as float32."""
    p = np.asarray(points, dtype=np.float32)
    return {"x": p[:, 0], "y": p[:, 1], "z": p[:, 2]}


def f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


SERIES_CYCLE = [PALETTE[c] for c in ("blue", "vermillion", "green", "orange", "purple", "sky")]
SYMBOLS = ("circle", "square", "diamond", "cross")  # scatter3d markers: one per turn of SERIES_CYCLE


def scene_domains(n: int, cols: int, *, top: float = 1.0) -> list[dict]:
    rows = -(-n // cols)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x0, x1 = c / cols, (c + 1) / cols
        y1 = top - r * top / rows
        out.append({"x": [x0 + 0.005, x1 - 0.005], "y": [y1 - top / rows + 0.01, y1 - 0.06 * top / rows]})
    return out


def scene_title(text: str, domain: dict) -> dict:
    """A panel's title, centred over its domain ``{"x": [x0, x1], "y": [y0, y1]}`` (paper coordinates)."""
    return panel_title(text, domain["x"], y=domain["y"][1])


def panel_title(text: str, x: tuple[float, float], *, y: float = 1.0) -> dict:
    """An annotation centred over the paper span ``x = (x0, x1)``, its bottom at ``y``."""
    return {
        "text": text,
        "x": (x[0] + x[1]) / 2,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",  # plotly's "auto" anchors the left third's titles left, the right third's right
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 14},
    }


PRESENT_FONT = 16  # px: the smallest type a projector shows (every font of a figure in presentation mode)
PRESENT_TITLE = 22  # px: the figure's title
_BASE_FONT = 12  # plotly's default size: explicit sizes grow by PRESENT_FONT / _BASE_FONT
_FONT_KEY = re.compile(r"^(font|\w*font)$")  # font, tickfont, textfont, insidetextfont, …
_CARTESIAN = re.compile(r"^[xy]axis\d*$")


def presentation(fig: dict, *, font: int = PRESENT_FONT, title: int = PRESENT_TITLE, taller: float = 1.25) -> dict:
    """The figure ``fig`` (a ``go.Figure.to_dict()``) for a projector, as a new dict (``fig`` is left as it is):

    - the base font at least ``font`` px, so every font that inherits it (axis ticks and titles, 2D and 3D,
      legend, colour bars, hover labels) is too;
    - every explicitly sized font (annotations such as panel titles, colour bars, trace text) scaled like the
      base font (×``font``/12) and at least ``font`` px; the figure's title at least ``title`` px;
    - margins scaled alike, 2D axes given room for their larger ticks (automargin), the height ×``taller``,
      and no fixed width (the figure follows its column).

    >>> p = presentation({"data": [], "layout": {"height": 400, "annotations": [{"text": "A", "font": {"size": 14}}]}})
    >>> p["layout"]["font"]["size"], p["layout"]["title"]["font"]["size"], p["layout"]["annotations"][0]["font"]
    (16, 22, {'size': 19})
    >>> p["layout"]["height"]
    500
    """
    factor = font / _BASE_FONT
    source = fig.get("layout", {})
    layout = {k: v if k == "template" else _scaled(v, factor, font) for k, v in source.items()}
    base = dict(layout.get("font") or {})
    layout["font"] = base | {"size": max(font, base.get("size") or 0)}
    head = dict(layout.get("title") or {})
    head_font = dict(head.get("font") or {})
    layout["title"] = head | {"font": head_font | {"size": max(title, head_font.get("size") or 0)}}
    if "margin" in layout:
        margin = layout["margin"]
        layout["margin"] = {k: round(v * factor) if isinstance(v, int | float) else v for k, v in margin.items()}
    for k in [k for k in layout if _CARTESIAN.match(k)]:
        layout[k] = {**layout[k], "automargin": True}
    if layout.get("height"):
        layout["height"] = round(layout["height"] * taller)
    layout.pop("width", None)
    layout["autosize"] = True
    return {**fig, "data": [_scaled(t, factor, font) for t in fig.get("data", [])], "layout": layout}


def _scaled(value, factor: float, floor: int):
    """``value`` with every ``…font`` dict's explicit size ×``factor`` and at least ``floor``; new dicts and
    lists along the way, the rest (arrays, strings, numbers) shared, not copied."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, dict) and _FONT_KEY.match(k) and isinstance(v.get("size"), int | float):
                v = {**v, "size": max(floor, round(v["size"] * factor))}
            out[k] = _scaled(v, factor, floor)
        return out
    if isinstance(value, list | tuple) and any(isinstance(v, dict | list | tuple) for v in value):
        return [_scaled(v, factor, floor) for v in value]
    return value
