"""Rotate a key: how long the old one lives on.  0s is for a leaked key."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.screens.revoke import describe
from pepyhat_tui.text import join

GRACES = (
    ("0s", "0s — leaked: the old key stops working now"),
    ("1h", "1h — time for one deploy"),
    ("24h", "24h — the usual rollover"),
    ("7d", "7d — for clients that are slow to update"),
)


class Graces(OptionList):
    """The grace periods, top to bottom: no wrapping, so up from 24h can never land past 0s on 7d."""

    def action_cursor_up(self) -> None:
        if self.highlighted != 0:
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if self.highlighted != self.option_count - 1:
            super().action_cursor_down()


class RotateScreen(UsesDashboard, ModalScreen[str | None]):
    """Answers the grace chosen, or None."""

    BINDINGS = bindings("confirm.cancel", "form.save")

    def __init__(self, key: schemas.Key, default: str = "24h") -> None:
        super().__init__()
        self.key_record = key
        self.default = default

    def compose(self) -> ComposeResult:
        key = self.key_record
        with Vertical(id="dialog", classes="dialog"):
            yield Static(join("Rotate ", (key.name, ""), "?"), classes="dialog-title")
            yield Static(describe(key, self.dashboard.now()), classes="dialog-line")
            yield Static("A successor with the same settings is minted and shown once. The old key lives on for:",
                         classes="dialog-line")
            yield Graces(*[Option(label, id=grace) for grace, label in GRACES], id="grace")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Rotate", id="rotate", variant="warning")

    def on_mount(self) -> None:
        options = self.query_one("#grace", OptionList)
        options.highlighted = [g for g, _ in GRACES].index(self.default)
        options.focus()

    @on(OptionList.OptionSelected, "#grace")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    @on(Button.Pressed, "#rotate")
    def action_save(self) -> None:
        options = self.query_one("#grace", OptionList)
        index = options.highlighted if options.highlighted is not None else 2
        self.dismiss(GRACES[index][0])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
