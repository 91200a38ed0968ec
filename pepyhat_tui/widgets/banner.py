"""A one-line banner under the title for errors that outlive a toast."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    def show(self, message: str) -> None:
        self.update(f"⚠ {message}  (ctrl+r retries)")
        self.display = True

    def hide(self) -> None:
        self.update("")
        self.display = False

    def on_mount(self) -> None:
        self.display = False
