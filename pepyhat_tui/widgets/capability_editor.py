"""The capability editor: every admin capability with its one-line description.

Capabilities the operator's own token lacks are listed too, so the whole set is
visible, but cannot be selected: a token may only hand on what it holds.
"""

from __future__ import annotations

from typing import Iterable

from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection

from pepyhat import schemas
from pepyhat_tui.text import join


class CapabilityEditor(SelectionList[str]):
    DEFAULT_CSS = """
    CapabilityEditor {
        height: auto;  /* every capability at once: the form scrolls, not the list */
        border: round $primary;
    }
    """

    def __init__(self, selected: Iterable[str], *, held: Iterable[str], id: str | None = None) -> None:
        chosen, mine = set(selected), set(held)
        options = [
            Selection(
                join((name, "" if name in mine else "dim strike"), "  ",
                     (description if name in mine else f"{description} (your token lacks it)", "dim")),
                name,
                name in chosen,
                disabled=name not in mine,
            )
            for name, description in schemas.CAPABILITIES.items()
        ]
        super().__init__(*options, id=id)
        self.held = mine
        self.border_title = "Capabilities (space toggles)"

    @property
    def capabilities(self) -> list[str]:
        return sorted(self.selected)
