"""`?`: the keys of the screen underneath, from the registry actions it offers right now."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from pepyhat_tui.actions import bindings
from pepyhat_tui.text import join
from pepyhat_tui.widgets.table import Table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen #help-keys {
        height: auto;
        max-height: 18;
    }
    """
    BINDINGS = bindings("help.close")

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "heading", "") or type(self.under).__name__
        with VerticalScroll(id="dialog", classes="dialog"):
            yield Static(join("Help — ", (name, "")), classes="dialog-title")
            yield Table(id="help-keys", cursor_type="row", show_cursor=False)
            yield Static("arrows and pgup/pgdn move · tab moves between fields · escape closes", classes="dialog-line")

    def on_mount(self) -> None:
        from pepyhat_tui.app import offered_actions

        table = self.query_one(Table)
        table.add_columns("key", "action", "what it does")
        for action, key, _node in offered_actions(self.under):
            table.add_row(key, action.description, action.help)

    def action_close(self) -> None:
        self.dismiss()
