"""Pick one of a few options (which role to remove, which app to grant in)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pepyhat_tui.actions import bindings
from pepyhat_tui.text import literal


class PickScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    PickScreen #choices {
        height: auto;
        max-height: 14;
    }
    """
    BINDINGS = bindings("pick.cancel")

    def __init__(self, title: Text | str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.heading = title if isinstance(title, Text) else literal(title)
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(self.heading, classes="dialog-title")
            # Labels are service text (role slugs): literal; ids are the values, never shown.
            yield OptionList(*[Option(literal(label), id=value) for label, value in self.options], id="choices")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
