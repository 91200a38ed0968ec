"""The top line: which service this is, who we are, and whether we may change anything."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class EnvironmentBar(Static):
    """Always names the target (embedded, demo, profile or URL), coloured by profile."""

    def on_mount(self) -> None:
        self.refresh_identity()

    def refresh_identity(self) -> None:
        app = self.app
        target = app.target
        for color in ("red", "green", "yellow", "blue", "magenta", "cyan", "orange", "purple", "gray"):
            self.set_class(target.color == color, f"-color-{color}")
        text = Text()
        text.append(" Pepy Hat ", style="bold")
        text.append("│ ")
        text.append(target.label, style="bold")
        if target.mode == "remote" and target.profile and target.url:
            text.append(f" ({target.url})")
        identity = app.identity
        if identity is not None and target.mode == "remote":
            text.append(f" │ {identity.name}")
        if app.read_only:
            text.append(" │ ")
            text.append("🔒 read-only", style="bold")
        if app.connection_error is not None:
            text.append(" │ ")
            text.append("disconnected", style="bold reverse")
        self.update(text)
