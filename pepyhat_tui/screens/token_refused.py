"""The dashboard's own token was refused mid-session (revoked, expired, deleted): quit, switch, retry, stay.

Retrying cannot bring back a revoked token by itself, so unlike an outage this
asks the operator.  Switching signs in with another profile of ``config.toml``
(its token or token_command) and, once the service takes it, starts the
dashboard again on it (``pepyhat-tui`` reopens on the chosen target).
"""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError, PepyHatClient
from pepyhat_tui.config import ConfigError, Target, load_settings, resolve
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.text import join


def other_profiles(current: str | None) -> list[str]:
    """The profiles of config.toml besides the one in use (none if the file cannot be read)."""
    try:
        return sorted(name for name in load_settings().profiles if name != current)
    except (ConfigError, ValueError):
        return []


class TokenRefusedScreen(UsesDashboard, ModalScreen[None]):
    DEFAULT_CSS = """
    TokenRefusedScreen #refused-error {
        color: $error;
        height: auto;
    }
    """
    BINDINGS = bindings("refused.quit", "refused.switch", "refused.retry", "refused.stay")

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.profiles: list[str] = []

    def compose(self) -> ComposeResult:
        target = self.dashboard.target
        with Vertical(id="dialog", classes="dialog -danger"):
            yield Static("This dashboard's token was refused", classes="dialog-title")
            yield Static(join("The service at ", (target.url or target.label, "bold"), " said: ", (self.message, "")),
                         classes="dialog-line")
            yield Static("It was revoked, has expired or was deleted: nothing can be loaded or changed with it.",
                         classes="dialog-line")
            yield Static("", id="refused-error", classes="dialog-line")
            with Horizontal(classes="dialog-buttons"):
                # The keys on the buttons: the screen's footer beneath is the list's, not this dialog's.
                yield Button("Quit (q)", id="quit", variant="error")
                yield Button("Switch profile (p)", id="switch")
                yield Button("Try again (r)", id="retry")
                yield Button("Stay (esc)", id="stay")

    def on_mount(self) -> None:
        self.profiles = other_profiles(self.dashboard.target.profile)
        switch = self.query_one("#switch", Button)
        switch.display = bool(self.profiles)
        self.query_one("#retry", Button).focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "switch_profile":
            return bool(self.profiles)
        return True

    @on(Button.Pressed, "#quit")
    def action_quit(self) -> None:
        self.app.exit()

    @on(Button.Pressed, "#retry")
    def action_retry(self) -> None:
        self.dismiss(None)
        self.dashboard.watcher.retry_now()  # refused again: this comes back

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#switch")
    def action_switch_profile(self) -> None:
        from pepyhat_tui.screens.pick import PickScreen

        def chosen(name: str | None) -> None:
            if name:
                self._sign_in(name)

        options = [(name, name) for name in self.profiles]
        self.app.push_screen(PickScreen("Sign in with profile…", options), chosen)

    @work(exclusive=True, group="switch")
    async def _sign_in(self, name: str) -> None:
        error = self.query_one("#refused-error", Static)
        error.update(join("signing in with ", (name, "bold"), "…"))
        read_only = self.dashboard.target.read_only  # a flag's read-only is kept: switching cannot unlock
        try:
            target: Target = await asyncio.to_thread(resolve, profile=name, read_only=read_only)
            client = PepyHatClient.remote(target.url or "", target.token)
            try:
                identity = await client.validate()
            finally:
                await client.aclose()
        except (ConfigError, ClientError) as exc:
            error.update(join("✗ ", (name, "bold"), ": ", (getattr(exc, "message", None) or str(exc), "")))
            return
        if identity.kind != "admin":
            error.update(join("✗ ", (name, "bold"), ": that profile holds an app key, not an admin token"))
            return
        self.dashboard.switch_profile(target, identity)
