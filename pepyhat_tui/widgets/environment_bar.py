"""The top line: which service this is, who we are, whether we may change anything, and whether it answers."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pepyhat_tui.config import Color
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.text import literal

COLORS: tuple[str, ...] = Color.__args__  # type: ignore[attr-defined]


class EnvironmentBar(UsesDashboard, Static):
    """Always names the target (embedded, demo, profile or URL), coloured by profile."""

    DEFAULT_CSS = """
    EnvironmentBar {
        height: 1;
        background: $primary;
        color: $text;
    }
    EnvironmentBar.-color-red { background: darkred; }
    EnvironmentBar.-color-green { background: darkgreen; }
    EnvironmentBar.-color-yellow { background: #8a6d00; }
    EnvironmentBar.-color-blue { background: darkblue; }
    EnvironmentBar.-color-magenta { background: darkmagenta; }
    EnvironmentBar.-color-cyan { background: darkcyan; }
    EnvironmentBar.-color-orange { background: #a04a00; }
    EnvironmentBar.-color-purple { background: #5b2a86; }
    EnvironmentBar.-color-gray { background: #444444; }
    """

    def on_mount(self) -> None:
        self.refresh_identity()

    def refresh_identity(self) -> None:
        dashboard = self.dashboard
        target = dashboard.target
        for color in COLORS:
            self.set_class(target.color == color, f"-color-{color}")
        text = Text()
        text.append(" Pepy Hat ", style="bold")
        text.append("│ ")
        text.append_text(literal(target.label, "bold"))
        if target.mode == "remote" and target.profile and target.url:
            text.append(" (")
            text.append_text(literal(target.url))
            text.append(")")
        identity = dashboard.identity
        if identity is not None and target.mode == "remote":
            text.append(" │ ")
            text.append_text(literal(identity.name))  # a token's name: service text
        if dashboard.expiring_keys not in (None, "0"):
            text.append(" │ ")
            text.append(f"⏳ {dashboard.expiring_keys} expiring", style="bold yellow")
        if dashboard.read_only:
            text.append(" │ ")
            text.append("🔒 read-only", style="bold")
        connection = dashboard.watcher.status()
        if dashboard.connection_error is not None:
            text.append(" │ ")
            text.append("disconnected", style="bold reverse")
        elif connection.text:
            text.append(" │ ")
            text.append(connection.text, style=connection.style)
        self.update(text)
