"""A masked input for a key: shown as dots, never copied out, and forgotten on demand."""

from __future__ import annotations

from textual.widgets import Input
from textual.widgets.input import Selection

from pepyhat_tui.widgets.text_input import TextInput


class SecretInput(TextInput):
    """``password=True``; cut and copy do nothing (``App.copy_to_clipboard`` would keep the key in ``app.clipboard``)."""

    def __init__(self, *, placeholder: str = "", id: str | None = None, compact: bool = False) -> None:
        super().__init__(placeholder=placeholder, password=True, id=id, compact=compact)

    def action_copy(self) -> None:
        """A key typed here stays here."""

    def action_cut(self) -> None:
        """A key typed here stays here."""

    def forget(self) -> None:
        """Drop the value, quietly: no Changed message (the screen may be leaving), no watcher."""
        self.set_reactive(Input.value, "")
        self.set_reactive(Input.selection, Selection.cursor(0))
        self.refresh()
