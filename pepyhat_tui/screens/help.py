"""`?`: the keys of the screen underneath, generated from its live bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from pepyhat_tui.widgets.table import Table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="help-close"),
        Binding("question_mark", "close", "Close", id="help-close-again", show=False),
        Binding("q", "close", "Close", id="help-close-q", show=False),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "HEADING", "") or type(self.under).__name__
        with VerticalScroll(id="dialog", classes="dialog"):
            yield Static(f"Keys — {name}", classes="dialog-title")
            yield Table(id="help-keys", cursor_type="row", show_cursor=False)
            yield Static("escape closes · ctrl+p lists every action · : goes to a screen", classes="dialog-line")

    def on_mount(self) -> None:
        table = self.query_one(Table)
        table.add_columns("key", "action")
        seen = set()
        # Our own bindings (they all have ids) first: Textual's navigation keys would
        # otherwise push the screen's actions below the fold.
        bindings = sorted(self.under.active_bindings.items(), key=lambda item: item[1].binding.id is None)
        for key, active in bindings:
            binding = active.binding
            if not active.enabled or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            display = binding.key_display or self.app.get_key_display(binding)
            table.add_row(display, binding.description or binding.action)

    def action_close(self) -> None:
        self.dismiss()
