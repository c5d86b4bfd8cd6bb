"""Decode what a page sent to the browser: Plotly figure JSON with base64 typed arrays."""

from __future__ import annotations

import base64
import copy
import json

import numpy as np

_DTYPES = {
    "f4": np.float32,
    "f8": np.float64,
    "i1": np.int8,
    "i2": np.int16,
    "i4": np.int32,
    "u1": np.uint8,
    "u2": np.uint16,
    "u4": np.uint32,
    "i8": np.int64,
}


def decode(value):
    """Turn plotly's ``{"dtype", "bdata", "shape"?}`` into numpy, recursively; lists into arrays."""
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_DTYPES[value["dtype"]])
        if "shape" in value:
            shape = value["shape"]
            shape = [int(s) for s in shape.split(",")] if isinstance(shape, str) else shape
            arr = arr.reshape(shape)
        return arr
    if isinstance(value, dict):
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def component_figure(element) -> dict:
    """The figure a ``ui.plotly_view`` element carries (AppTest ``UnknownElement``)."""
    payload = json.loads(element.proto.json)
    return decode(json.loads(payload["figure"]))


def chart_figure(element) -> dict:
    """The figure an ``st.plotly_chart`` element carries."""
    return decode(json.loads(element.proto.spec))


def over(base: dict, frame: dict) -> dict:
    """A live control's frame (ui.live.frames) laid over the figure drawn, as ui/plot_view.js ``setPaths`` does:
    each dotted path (``"scene2.xaxis.range"``) of each trace and of the layout set to its value, null removing
    it; a whole-figure frame (``{"f": figure}``) replaces the figure, keeping the drawn figure's ``layout.meta``
    (the view's own settings: linked cameras)."""
    if "f" in frame:
        layout = {k: v for k, v in frame["f"]["layout"].items() if k != "meta"}
        meta = {"meta": base["layout"]["meta"]} if "meta" in base["layout"] else {}
        return {"data": frame["f"]["data"], "layout": layout | meta}

    def set_paths(obj: dict, paths: dict) -> dict:
        out = copy.deepcopy(obj)
        for path, value in paths.items():
            *parents, last = path.split(".")
            o = out
            for k in parents:
                o = o.setdefault(k, {})
            if value is None:
                o.pop(last, None)
            else:
                o[last] = value
        return out

    data = [set_paths(t, frame["t"].get(str(k), {})) for k, t in enumerate(base["data"])]
    return {"data": data, "layout": set_paths(base["layout"], frame["l"])}
