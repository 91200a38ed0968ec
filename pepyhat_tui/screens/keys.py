"""Keys: every app key and admin token (an app's own keys are its Keys tab: the same pane)."""

from __future__ import annotations

from pepyhat_tui.panes.keys import KeysPane
from pepyhat_tui.screens.base import ListScreen


class KeysScreen(ListScreen):
    HEADING = "Keys"

    def make_pane(self) -> KeysPane:
        return KeysPane(id="keys")
