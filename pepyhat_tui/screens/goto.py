"""`:` go to a screen by name, with completion (`:users`, `:apps crm`)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from pepyhat_tui.actions import bindings
from pepyhat_tui.text import join
from pepyhat_tui.widgets.text_input import TextInput


class GotoScreen(ModalScreen[tuple[str, str | None] | None]):
    # Shell-like: tab takes the completion shown after the cursor (`:us` tab -> `:users`).
    BINDINGS = bindings("goto.cancel", "goto.complete")

    def __init__(self, destinations: list[str]) -> None:
        super().__init__()
        self.destinations = destinations

    def compose(self) -> ComposeResult:
        with Vertical(id="goto", classes="prompt"):
            yield TextInput(
                placeholder=" | ".join(self.destinations),
                suggester=SuggestFromList(self.destinations, case_sensitive=False),
                id="goto-input",
            )
            yield Static("", id="goto-error", classes="form-error")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        words = event.value.strip().lstrip(":").split(maxsplit=1)
        if not words:
            self.dismiss(None)
            return
        name = words[0].lower()
        matches = [d for d in self.destinations if d.startswith(name) or d.rstrip("s") == name]
        if len(matches) != 1:
            error = join("no screen ", (repr(name), ""), f": try {', '.join(self.destinations)}")
            self.query_one("#goto-error", Static).update(error)
            return
        self.dismiss((matches[0], words[1] if len(words) > 1 else None))

    def action_complete(self) -> None:
        field = self.query_one("#goto-input", Input)
        field.cursor_position = len(field.value)
        field.action_cursor_right()

    def action_cancel(self) -> None:
        self.dismiss(None)
