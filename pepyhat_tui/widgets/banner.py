"""A one-line banner under the title for errors that outlive a toast."""

from __future__ import annotations

from textual.markup import escape
from textual.widgets import Static


class Banner(Static):
    def show(self, message: str) -> None:
        self.update(f"⚠ {escape(message)}  (ctrl+r retries)")  # service text, not markup
        self.display = True

    def hide(self) -> None:
        self.update("")
        self.display = False

    def on_mount(self) -> None:
        self.display = False
