"""Confirm a destructive action: names exactly what goes; Cancel has the focus.

On a profile coloured red, the operator types the target's name to confirm.
Titles and lines are ``Text`` (built with ``text.join``) or plain strings, both
shown literally.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from pepyhat_tui.actions import bindings
from pepyhat_tui.text import join, literal, printable
from pepyhat_tui.widgets.text_input import TextInput


def _shown(line: Text | str) -> Text:
    return line if isinstance(line, Text) else literal(line)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = bindings("confirm.yes", "confirm.no", "confirm.cancel")

    def __init__(
        self,
        title: Text | str,
        lines: list[Text | str],
        *,
        confirm_label: str = "Delete",
        type_to_confirm: str | None = None,
    ) -> None:
        super().__init__()
        self.heading = _shown(title)
        self.lines = [_shown(line) for line in lines]
        self.confirm_label = confirm_label
        # What must be typed is what is shown: a name holding a control character is typed
        # as its visible escape.
        self.type_to_confirm = printable(type_to_confirm) if type_to_confirm else None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -danger"):
            yield Static(self.heading, classes="dialog-title")
            for line in self.lines:
                yield Static(line, classes="dialog-line")
            if self.type_to_confirm:
                yield Static(join("Type ", (self.type_to_confirm, "bold"), " to confirm:"), classes="dialog-line")
                # (no select-all on focus: the first letter typed from a button moves the focus here)
                yield TextInput(id="typed", placeholder=self.type_to_confirm, select_on_focus=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=bool(self.type_to_confirm))

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def check_action(self, action: str, parameters) -> bool | None:
        # With typing required, a stray `y` or `n` must not answer (and must reach the input);
        # escape still cancels.
        if self.type_to_confirm and action in ("confirm", "no"):
            return False
        return True

    def typing_target(self) -> Input | None:
        """Where text typed while a button has the focus belongs: the name to type, if asked for."""
        return self.query_one("#typed", Input) if self.type_to_confirm else None

    def on_key(self, event: events.Key) -> None:
        # Cancel has the focus, so a name typed at once would go nowhere: it goes to its field.
        target = self.typing_target()
        if target is None or isinstance(self.focused, Input) or not event.is_printable or not event.character:
            return
        if self.check_action("confirm", ()) and event.character in ("y", "n"):
            return  # the answer keys, where they answer
        event.stop()
        event.prevent_default()
        target.focus()
        target.insert_text_at_cursor(event.character)

    @on(TextInput.Changed, "#typed")
    def _typed(self, event: TextInput.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.type_to_confirm

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.type_to_confirm and self.query_one("#typed", TextInput).value != self.type_to_confirm:
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_no(self) -> None:
        self.dismiss(False)
