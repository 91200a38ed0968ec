"""Users: server-side search, an active filter; enter opens a user's access everywhere."""

from __future__ import annotations

from pepyhat_tui.panes.users import UsersPane
from pepyhat_tui.screens.base import ListScreen


class UsersScreen(ListScreen):
    HEADING = "Users"

    def make_pane(self) -> UsersPane:
        return UsersPane(id="users")
