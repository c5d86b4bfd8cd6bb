"""ui/code_lines.py: a page's line of code as inline code, checked with AppTest (what the page's Markdown says)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def _app(code: str, lead: str):
    from ui.code_lines import code_line

    code_line(code, lead=lead)


def test_a_line_is_inline_code_after_its_lead():
    at = AppTest.from_function(_app, args=("y = F.layer_norm(x, (d,))", "In torch:")).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["In torch: `y = F.layer_norm(x, (d,))`"]
    assert not at.code  # no st.code: it would load the 1.6 MB highlighter in the browser


@pytest.mark.parametrize("code", ["print(`x`)", "a = 1\nb = 2"])
def test_backticks_and_several_lines_are_refused_with_a_message(code):
    from ui.code_lines import code_line

    with pytest.raises(ValueError, match="one line of code"):
        code_line(code)
