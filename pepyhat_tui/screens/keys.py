"""Keys: every app key and admin token, or one app's (`:keys crm`); an app's Keys tab is the same pane."""

from __future__ import annotations

from pepyhat_tui.panes.keys import KeysPane
from pepyhat_tui.screens.base import ListScreen


class KeysScreen(ListScreen):
    HEADING = "Keys"

    def __init__(self, app_slug: str | None = None) -> None:
        super().__init__()
        self.app_slug = app_slug

    @property
    def heading(self) -> str:
        return f"Keys of {self.app_slug}" if self.app_slug else self.HEADING

    def make_pane(self) -> KeysPane:
        return KeysPane(self.app_slug, id="keys")
