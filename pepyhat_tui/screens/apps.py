"""Apps: every app with its counts; enter opens its roles, permissions, members and keys."""

from __future__ import annotations

from pepyhat_tui.panes.apps import AppsPane
from pepyhat_tui.screens.base import ListScreen


class AppsScreen(ListScreen):
    HEADING = "Apps"

    def make_pane(self) -> AppsPane:
        return AppsPane(id="apps")
