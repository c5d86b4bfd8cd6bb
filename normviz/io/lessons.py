"""Lessons: an ordered story through the app, one view (page + its URL state) per step, as a JSON file.

A lesson file is plain data, read with ``json.loads`` and never executed::

    {"title": "A tour of normalization",
     "steps": [{"page": "hypersphere", "params": {"hs_norm": "RMSNorm"},
                "takeaway": "RMSNorm keeps the mean.", "try": "Shift the mean."}]}

``params`` are the page's controls exactly as its link carries them (``?hs_norm=RMSNorm``): a string, or a
list of strings for a multi-select (``?cb_norms=A&cb_norms=B``). JSON rather than TOML: the standard
library reads *and* writes it on every Python the project supports (``tomllib`` is 3.11+ and read-only).
Files from users are untrusted: :func:`parse` caps their size, depth and lengths, and every problem raises
``ValueError`` naming the step, never anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MAX_BYTES", "MAX_STEPS", "MAX_TEXT", "MAX_VALUE", "Lesson", "Step", "dumps", "load_dir", "parse"]

MAX_BYTES = 64 * 1024
MAX_STEPS = 60
MAX_TEXT = 500  # characters of a title, takeaway, try or parameter name
MAX_VALUE = 2000  # characters of a parameter's value (a text box's text, as the link carries it)
MAX_VALUES = 16  # values of one multi-select parameter
MAX_PARAMS = 40  # parameters of one step
_STEP_KEYS = {"page", "params", "takeaway", "try"}


@dataclass(frozen=True)
class Step:
    page: str  # the page's url path ("hypersphere"; "home" for the home page)
    params: dict[str, str | list[str]] = field(default_factory=dict)  # control key -> URL value(s)
    takeaway: str = ""
    try_: str = ""

    def query(self) -> dict[str, str | list[str]]:
        """The step's query parameters, copied (a caller may add ``present``)."""
        return {k: list(v) if isinstance(v, list) else v for k, v in self.params.items()}


@dataclass(frozen=True)
class Lesson:
    title: str
    steps: tuple[Step, ...]


def parse(data: bytes | str, pages: Mapping[str, str]) -> Lesson:
    """Read a lesson file; ``pages`` maps each url path to its control prefix ("" for the home page).

    >>> parse('{"title": "T", "steps": [{"page": "p", "params": {"p_x": "1"}}]}', {"p": "p_"}).steps[0].params
    {'p_x': '1'}
    >>> parse('{"title": "T", "steps": [{"page": "p", "params": {"q_x": "1"}}]}', {"p": "p_"})
    Traceback (most recent call last):
    ...
    ValueError: Step 1: `q_x` is not a control of the page p (its controls are named p_…).
    """
    if len(data) > MAX_BYTES:
        raise ValueError(f"This lesson file is {len(data) // 1024} KB; a lesson is at most {MAX_BYTES // 1024} KB.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("This is not a lesson file: it is not UTF-8 text (a lesson is a .json file).") from None
    try:
        raw = json.loads(data)
    except RecursionError:
        raise ValueError("This is not a lesson file: it is nested too deeply.") from None
    except ValueError as err:
        raise ValueError(f"This is not a lesson file: it is not valid JSON ({str(err)[:120]}).") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
        raise ValueError('A lesson file is a JSON object with a "title" and a list of "steps".')
    title = _text(raw.get("title", "Untitled lesson"), "The title")
    if not raw["steps"]:
        raise ValueError("This lesson has no steps.")
    if len(raw["steps"]) > MAX_STEPS:
        raise ValueError(f"This lesson has {len(raw['steps'])} steps; a lesson has at most {MAX_STEPS}.")
    return Lesson(title or "Untitled lesson", tuple(_step(s, i + 1, pages) for i, s in enumerate(raw["steps"])))


def dumps(lesson: Lesson) -> str:
    """The lesson file for ``lesson``: what :func:`parse` reads back."""
    steps = [{"page": s.page, "params": s.query(), "takeaway": s.takeaway, "try": s.try_} for s in lesson.steps]
    return json.dumps({"title": lesson.title, "steps": steps}, indent=2, ensure_ascii=False) + "\n"


def load_dir(folder: Path, pages: Mapping[str, str]) -> dict[str, Lesson]:
    """Every ``*.json`` lesson in ``folder``, by file stem, in name order (the shipped lessons)."""
    return {p.stem: parse(p.read_bytes(), pages) for p in sorted(folder.glob("*.json"))}


def _text(value: object, what: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, not {type(value).__name__}.")
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters long; at most {limit}.")
    return value


def _step(raw: object, n: int, pages: Mapping[str, str]) -> Step:
    where = f"Step {n}"
    if not isinstance(raw, dict):
        raise ValueError(f'{where}: a step is an object with "page", "params", "takeaway" and "try".')
    unknown = sorted(str(k)[:40] for k in raw if k not in _STEP_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown field {', '.join(unknown)} (a step has {', '.join(sorted(_STEP_KEYS))}).")
    page = _text(raw.get("page"), f"{where}: the page")
    if page not in pages:
        raise ValueError(f"{where}: there is no page {page[:40]!r}; the pages are {', '.join(pages)}.")
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"{where}: params must be an object of control name -> value.")
    if len(params) > MAX_PARAMS:
        raise ValueError(f"{where}: {len(params)} params; a step has at most {MAX_PARAMS}.")
    prefix = pages[page]
    out: dict[str, str | list[str]] = {}
    for key, value in params.items():
        _text(key, f"{where}: a parameter name")
        if not prefix or not key.startswith(prefix):
            named = f"its controls are named {prefix}…" if prefix else "it has no controls"
            raise ValueError(f"{where}: `{key[:40]}` is not a control of the page {page} ({named}).")
        if isinstance(value, list):
            if len(value) > MAX_VALUES:
                raise ValueError(f"{where}: `{key}` has {len(value)} values; at most {MAX_VALUES}.")
            out[key] = [_text(v, f"{where}: a value of `{key}`", MAX_VALUE) for v in value]
        else:
            out[key] = _text(value, f"{where}: the value of `{key}` (write numbers as text, as a link does)", MAX_VALUE)
    takeaway = _text(raw.get("takeaway", ""), f"{where}: the takeaway")
    try_ = _text(raw.get("try", ""), f"{where}: the thing to try")
    return Step(page, out, takeaway, try_)
