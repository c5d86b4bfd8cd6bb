"""What holds for every page of ui/navigation.py: its AppTest, link and export tests live in one file named like it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui import navigation

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("info", [navigation.HOME, *navigation.PAGES], ids=lambda p: p.url_path)
def test_every_page_has_its_test_file(info):
    name = f"test_{info.url_path.replace('-', '_')}.py"
    assert (HERE / name).is_file(), f"{info.path}: its AppTest, link and export tests belong in tests/pages/{name}"
