"""Live controls: a slider whose 3D view follows the drag, frame by frame, without waiting for a rerun.

A live control is a real ``<input type="range">`` (labelled, a tooltip, arrows/Home/End, the slider
role) drawn by a small ``st.components.v2`` component (``live.js`` beside this file). The page
computes the figure at every value of the control (the other controls held) with the same library
call and figure builder as the single view, and :func:`frames` reduces them to what changes between
values (the traces' arrays, a title). :func:`live_view` draws the figure at the current value through
``ui.plotly_view`` and hands the browser those frames once; while the thumb moves, the browser swaps
frames into the drawn figure (camera kept, no server round-trip). On release the value goes back to
Python and the page reruns once: captions, other charts and the URL catch up.

Budget: at most :data:`FRAME_BUDGET` bytes of frame JSON per control (the drawn points are capped as
in every view). Over it, :func:`frames` returns None and the control reruns on release like any
other slider (the view is redrawn then). ``NORMVIZ_LIVE=0`` in the environment turns frames off
(benchmarks/bench_live.py compares the pages with and without).

The value lives in ``st.session_state[key]`` and in the URL under ``key``, spelled as Streamlit's own
sliders spell it (``format_func(option)`` as a select slider does; ``url_format=str`` for what was a
numeric ``st.slider``), so links written before a control became live still open the same view.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from plotly.utils import PlotlyJSONEncoder

from ui import links
from ui.plot_view import figure_dict, plotly_view

FRAME_BUDGET = 2_000_000  # bytes of frame JSON per live control; over it the control reruns on release

_JS = (Path(__file__).parent / "live.js").read_text()
_component = st.components.v2.component("normviz.live", js=_JS, isolate_styles=False)


def live_slider(
    container,
    label: str,
    options: Sequence[Any],
    default: Any,
    *,
    key: str,
    view: str,
    help: str,
    disabled: bool = False,
    format_func: Callable[[Any], str] = str,
    url_format: Callable[[Any], str] | None = None,
) -> Any:
    """A slider over ``options`` whose move redraws the live view keyed ``view`` at once; its value.

    Drawn in ``container`` (a column of the controls bar). ``url_format``: how the URL spells a value
    (default ``format_func``). The value is ``st.session_state[key]``,
    bound to the URL parameter ``key``; a release (or a key press) reruns the page with the new value.
    A press or focus on a slider whose view holds no frames for it asks for them (see :func:`wanted`).
    """
    options = list(options)
    labels = [format_func(o) for o in options]
    container_key = f"{key}_live"
    value = _value(key, options, labels, default, shown=container_key in st.session_state)
    index = options.index(value)
    with container:
        _component(
            key=container_key,
            data={
                "role": "slider",
                "label": label,
                "help": help,
                "labels": labels,
                "index": index,
                "disabled": disabled,
                "view": view,
                "key": key,
            },
            default={"value": None},
            on_value_change=lambda: _released(key, container_key, options),
            on_want_change=lambda: _wanted(view, key, container_key),
        )
    st.session_state[f"_live_index_{key}"] = index  # for its view: which frame the drawn figure is
    spell = url_format or format_func
    _write_url(key, spell(options[index]), spell(default))
    return st.session_state[key]


def wanted(view: str, controls: Mapping[str, Any]) -> str | None:
    """The key of the live control of ``view`` whose frames to compute in this run, or None.

    For pages whose frames are costly: the browser asks for a slider's frames when the slider is
    pressed or focused and its view holds none for it. ``controls`` maps every control key of the page
    to its value. The answer is the asked-for control in the run the ask started, and afterwards
    while the other controls keep the values they had then (those frames are cached; the release
    rerun sends them again); after another control changes, nothing until the next ask, so a rerun
    for another control never waits for frames nobody asked for.
    """
    control = st.session_state.get(f"_live_want_{view}")
    if control is None:
        return None
    held = repr(sorted((k, repr(v)) for k, v in controls.items() if k != control))
    signature = f"_live_held_{view}"
    if st.session_state.pop(f"_live_ask_{view}", False):
        st.session_state[signature] = (control, held)
    return control if st.session_state.get(signature) == (control, held) else None


def frames(figs: Mapping[Any, go.Figure], *, present: bool, budget: int = FRAME_BUDGET) -> str | None:
    """The figures at every value of a control, reduced to what changes: JSON for :func:`live_view`.

    ``figs`` maps each option (in the slider's order) to the page's figure at that value. A frame holds,
    for each trace and for the layout, every value that differs between two of the figures, keyed by its
    dotted path into nested objects (``"scene2.xaxis.range"``, ``"marker.cmax"``; an array or a list is one
    value; null: absent from this figure); the browser sets those paths in a copy of the drawn figure
    (ui/plot_view.js ``setPaths``), so the scene objects the frame does not touch stay as drawn. Figures
    that do not share their traces (a different number or type, as G groups give G scenes) travel whole
    (``{"f": figure}``). None when the frames would pass ``budget`` bytes.
    """
    if os.environ.get("NORMVIZ_LIVE") == "0":  # benchmarks/bench_live.py: the same pages without frames
        return None
    specs = [figure_dict(f, present=present) for f in figs.values()]
    if not specs:
        return None
    enc = lambda v: json.dumps(v, cls=PlotlyJSONEncoder, separators=(",", ":"))  # noqa: E731
    kinds = [tuple(t.get("type", "scatter") for t in s["data"]) for s in specs]
    if len(set(kinds)) != 1:  # the figures differ in their traces (G panels for G groups): whole figures
        return _whole(specs, enc, budget)
    traces = {k: _changed([s["data"][k] for s in specs], enc) for k in range(len(kinds[0]))}
    traces = {k: paths for k, paths in traces.items() if paths}
    layout = _changed([s["layout"] for s in specs], enc)
    parts = []
    total = 0
    for i in range(len(specs)):
        t = {k: {path: texts[i] for path, texts in paths.items()} for k, paths in traces.items()}
        t_json = "{" + ",".join(f'"{k}":{_obj(d)}' for k, d in t.items()) + "}"
        part = '{"t":' + t_json + ',"l":' + _obj({path: texts[i] for path, texts in layout.items()}) + "}"
        total += len(part)
        if total > budget:
            return None
        parts.append(part)
    return "[" + ",".join(parts) + "]"


_ABSENT = object()  # a path one figure lacks: null in its frame, which the browser removes


def _changed(objs: list[dict], enc: Callable[[Any], str], prefix: str = "") -> dict[str, list[str]]:
    """Each dotted path into ``objs`` (one dict per figure) whose value is not the same in all of them:
    path -> each figure's value as JSON. Nested dicts are followed down to what differs; an array, a list,
    a typed-array spec, or a key holding a dot is one value."""
    out: dict[str, list[str]] = {}
    for name in dict.fromkeys(k for o in objs for k in o):
        values = [o.get(name, _ABSENT) for o in objs]
        texts = ["null" if v is _ABSENT else enc(v) for v in values]
        if len(set(texts)) == 1:
            continue
        path = prefix + name
        nested = all(isinstance(v, dict) and "bdata" not in v and all("." not in k for k in v) for v in values)
        out |= _changed(values, enc, path + ".") if nested else {path: texts}
    return out


def _whole(specs: list[dict], enc: Callable[[Any], str], budget: int) -> str | None:
    """Frames that are whole figures (``{"f": figure}``), for figures that do not share their traces."""
    parts, total = [], 0
    for spec in specs:
        part = '{"f":' + enc(spec) + "}"
        total += len(part)
        if total > budget:
            return None
        parts.append(part)
    return "[" + ",".join(parts) + "]"


def live_view(fig: go.Figure, frames_json: str | None, *, key: str, control: str | None, revision: str = "") -> None:
    """Draw ``fig`` (the figure at the current values) and, when there are frames, hand them to the
    browser so the slider keyed ``control`` can swap them in while it moves. Without frames (none
    asked for, or over the budget) every live slider of the view reruns on release, like any slider."""
    frames_id = hashlib.sha1(frames_json.encode()).hexdigest()[:16] if frames_json and control else ""
    # "over": the control whose frames passed the budget, so its slider stops asking for them
    over = control if control and not frames_id else ""
    index = st.session_state.get(f"_live_index_{control}") if control else None
    live = {"control": control or "", "frames": frames_id, "over": over, "index": index}
    plotly_view(fig, key=key, revision=revision, live=live)
    if frames_id:
        # its own element, unchanged while only the live control moves: Streamlit's message cache then
        # sends it to the browser once
        data = {"role": "frames", "view": key, "control": control, "id": frames_id, "frames": frames_json}
        _component(key=f"{key}_frames", data=data)


def _obj(d: dict[str, str]) -> str:
    """A JSON object from already encoded values."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"


def _value(key: str, options: list, labels: list[str], default: Any, *, shown: bool) -> Any:
    """The control's value: session state while the slider stays on screen (``shown``: Streamlit keeps
    its component state only then), else the link's ``?key=``, else ``default`` — as a bound widget
    starts afresh from the URL when its page is opened. A link's value that names no option is dropped
    (ui.links then names it in its notice), as Streamlit drops it."""
    if shown and st.session_state.get(key) in options:
        return st.session_state[key]
    value = default
    if key in st.query_params:
        raw = st.query_params.get_all(key)
        found = [o for o, lab in zip(options, labels, strict=True) if len(raw) == 1 and raw[0] in {lab, *_forms(o)}]
        if found:
            value = found[0]
        else:
            del st.query_params[key]
    st.session_state[key] = value
    return value


def _forms(option: Any) -> set[str]:
    return links._url_forms(option)


def _released(key: str, container_key: str, options: list) -> None:
    """The browser sent a new index (a release, or a key press): it becomes the control's value."""
    state = st.session_state.get(container_key)
    index = getattr(state, "value", None) if state is not None else None
    if index is None and isinstance(state, Mapping):
        index = state.get("value")
    if isinstance(index, int) and 0 <= index < len(options):
        st.session_state[key] = options[index]


def _wanted(view: str, key: str, container_key: str) -> None:
    """The browser asks for the frames of the slider keyed ``key`` (pressed or focused without any)."""
    st.session_state[f"_live_want_{view}"] = key
    st.session_state[f"_live_ask_{view}"] = True


def _write_url(key: str, label: str, default_label: str) -> None:
    """The URL holds the value unless it is the default (as for every bound widget)."""
    if label == default_label:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get_all(key) != [label]:
        st.query_params[key] = label
