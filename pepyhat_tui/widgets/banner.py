"""A one-line banner under the title for errors that outlive a toast."""

from __future__ import annotations

from textual.widgets import Static

from pepyhat_tui.text import join


class Banner(Static):
    DEFAULT_CSS = """
    Banner {
        height: auto;
        padding: 0 1;
        background: $error 30%;
        color: $text;
        display: none;
    }
    """

    def show(self, message: str, hint: str = "ctrl+r retries", mark: str = "⚠") -> None:
        self.update(join(f"{mark} ", (message, ""), f"  ({hint})"))  # the service's words, literally
        self.display = True

    def hide(self) -> None:
        self.update("")
        self.display = False
