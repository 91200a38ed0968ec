"""An Input that never holds a raw control character, whatever is pasted into it."""

from __future__ import annotations

from textual.widgets import Input

from pepyhat_tui.text import printable


class TextInput(Input):
    def insert_text_at_cursor(self, text: str) -> None:
        # A pasted ESC or bidi override would reach the operator's own terminal raw;
        # it becomes its visible escape instead (the service refuses such text anyway).
        super().insert_text_at_cursor(printable(text))
