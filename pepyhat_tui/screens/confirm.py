"""Confirm a destructive action: names exactly what goes; Cancel has the focus.

On a profile coloured red, the operator types the target's name to confirm.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("y", "confirm", "Yes", id="confirm"),
        Binding("n", "cancel", "No", id="cancel"),
        Binding("escape", "cancel", "Cancel", id="cancel-escape", show=False),
    ]

    def __init__(self, title: str, lines: list[str], *, confirm_label: str = "Delete", type_to_confirm: str | None = None) -> None:
        super().__init__()
        self.heading = title
        self.lines = lines
        self.confirm_label = confirm_label
        self.type_to_confirm = type_to_confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -danger"):
            yield Static(self.heading, classes="dialog-title")
            for line in self.lines:
                yield Static(line, classes="dialog-line")
            if self.type_to_confirm:
                yield Static(f"Type [b]{self.type_to_confirm}[/b] to confirm:", classes="dialog-line")
                yield Input(id="typed", placeholder=self.type_to_confirm)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=bool(self.type_to_confirm))

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def check_action(self, action: str, parameters) -> bool | None:
        # With typing required, a stray `y` must not confirm (and must reach the input).
        if self.type_to_confirm and action in ("confirm", "cancel"):
            return False
        return True

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.type_to_confirm

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.type_to_confirm and self.query_one("#typed", Input).value != self.type_to_confirm:
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
