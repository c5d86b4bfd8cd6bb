"""normviz.io.lessons: round trips, and hostile lesson files refused with a message naming the step."""

from __future__ import annotations

import json

import pytest

from normviz.io import lessons
from normviz.io.lessons import Lesson, Step

PAGES = {"home": "", "hypersphere": "hs_", "cube": "cb_"}


def _file(*steps, title="T") -> str:
    return json.dumps({"title": title, "steps": list(steps)})


def test_round_trip_keeps_every_field_and_text_exactly():
    lesson = Lesson(
        'Quotes " and \\ and ünïcode √d, ε',
        (
            Step("hypersphere", {"hs_norm": "RMSNorm", "hs_eps": "0.1"}, "RMSNorm keeps the mean.", "Shift it."),
            Step("cube", {"cb_norms": ["LayerNorm", "BatchNorm"]}, 'a "quoted"\nline', ""),
            Step("home", {}, "", ""),
        ),
    )
    text = lessons.dumps(lesson)
    assert lessons.parse(text, PAGES) == lesson
    assert lessons.parse(text.encode(), PAGES) == lesson
    assert "√d" in text  # readable in a diff, not \u escapes


def test_a_long_text_box_value_fits():
    text = "One sentence per line.\n" * 80  # 1,840 characters, as ?rd_text= carries them
    got = lessons.parse(_file({"page": "cube", "params": {"cb_text": text}}), PAGES)
    assert got.steps[0].params["cb_text"] == text


def test_missing_optional_fields_take_defaults():
    got = lessons.parse(_file({"page": "cube"}), PAGES)
    assert got.steps == (Step("cube", {}, "", ""),)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\xff\xfe\x00binary", "not UTF-8"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"title": "T"}', 'list of "steps"'),
        ('{"title": "T", "steps": []}', "no steps"),
        ('{"title": 3, "steps": [{"page": "cube"}]}', "title must be text"),
        ("[" * 100_000 + "]" * 100_000, "at most 64 KB"),
        ("[" * 30_000 + "]" * 30_000, "nested too deeply|JSON object"),
        (" " * (lessons.MAX_BYTES + 1), "at most 64 KB"),
        (_file(*[{"page": "cube"}] * (lessons.MAX_STEPS + 1)), "at most 60"),
        (_file({"page": "cube"}, title="x" * 501), "at most 500"),
    ],
)
def test_hostile_files_are_refused_with_a_message(data, match):
    with pytest.raises(ValueError, match=match):
        lessons.parse(data, PAGES)


@pytest.mark.parametrize(
    ("step", "match"),
    [
        ("just text", "a step is an object"),
        ({"page": "nowhere"}, "there is no page 'nowhere'"),
        ({"page": 7}, "the page must be text"),
        ({"page": "cube", "params": {"hs_norm": "RMSNorm"}}, "`hs_norm` is not a control of the page cube"),
        ({"page": "home", "params": {"hs_norm": "RMSNorm"}}, "it has no controls"),
        ({"page": "cube", "params": ["cb_B", "2"]}, "params must be an object"),
        ({"page": "cube", "params": {"cb_B": 2}}, "write numbers as text"),
        ({"page": "cube", "params": {"cb_B": {"nested": {"deep": []}}}}, "must be text, not dict"),
        ({"page": "cube", "params": {"cb_norms": ["a", 1]}}, "a value of `cb_norms` must be text"),
        ({"page": "cube", "params": {"cb_norms": ["a"] * 17}}, "at most 16"),
        ({"page": "cube", "takeaway": ["x"]}, "the takeaway must be text"),
        ({"page": "cube", "try": "x" * 501}, "the thing to try is 501 characters"),
        ({"page": "cube", "code": "import os"}, "unknown field code"),
        ({"page": "cube", "params": {"cb_B": "9" * 2001}}, "at most 2000"),
        ({"page": "cube", "params": {"cb_" + "x" * 500: "1"}}, "a parameter name is 503 characters"),
    ],
)
def test_a_bad_step_is_named(step, match):
    with pytest.raises(ValueError, match=f"^Step 2: .*{match}"):
        lessons.parse(_file({"page": "cube"}, step), PAGES)


def test_nothing_in_a_file_is_executed(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    got = lessons.parse(_file({"page": "cube", "takeaway": code, "params": {"cb_B": code}}), PAGES)
    assert got.steps[0].takeaway == code and not marker.exists()


def test_load_dir_reads_every_json_lesson_by_name(tmp_path):
    (tmp_path / "b.json").write_text(_file({"page": "cube"}, title="B"), encoding="utf-8")
    (tmp_path / "a.json").write_text(_file({"page": "home"}, title="A"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a lesson", encoding="utf-8")
    assert [(k, v.title) for k, v in lessons.load_dir(tmp_path, PAGES).items()] == [("a", "A"), ("b", "B")]
