"""An Input that never holds a raw control character, whatever is pasted into it."""

from __future__ import annotations

from textual.widgets import Input

from pepyhat_tui.text import printable


class TextInput(Input):
    def insert_text_at_cursor(self, text: str) -> None:
        # A pasted ESC or bidi override would reach the operator's own terminal raw;
        # it becomes its visible escape instead (the service refuses such text anyway).
        super().insert_text_at_cursor(printable(text))

    def replace(self, text: str, start: int, end: int) -> None:
        # A paste over a selection (a field selects all on focus) comes this way.
        super().replace(printable(text), start, end)
