"""One key's record: scopes, capabilities, history.  Never a plaintext: the service has none."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from pepyhat import schemas
from pepyhat_tui.formatting import key_badge, relative


class KeyDetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "close", "Close", id="key-close"), Binding("q", "close", "Close", id="key-close-q", show=False)]

    def __init__(self, key: schemas.Key) -> None:
        super().__init__()
        self.key_record = key

    def compose(self) -> ComposeResult:
        key = self.key_record
        now = self.app.now()
        badge = key_badge(key, now)
        rows = [
            ("Id", key.id),
            ("Kind", "app key" if key.kind == "app" else "admin token"),
            ("App", key.app or "—"),
            ("Start", key.start),
            ("Status", f"[{badge.style}]{badge.plain}[/]"),
            ("Created", f"{relative(key.created_at, now)} by {key.created_by}"),
            ("Expires", relative(key.expires_at, now, never="never")),
            ("Last used", relative(key.last_used_at, now)),
            ("Rate limit", f"{key.rate_limit_per_minute}/min" if key.rate_limit_per_minute else "none"),
        ]
        if key.revoked_at:
            rows.append(("Revoked", f"{relative(key.revoked_at, now)} by {key.revoked_by}: {key.revoke_reason or 'no reason given'}"))
        scopes = "\n".join(f"{s.path}  [dim]{', '.join(s.operations)}[/dim]" for s in key.scopes) or "none"
        with VerticalScroll(id="dialog", classes="dialog"):
            yield Static(f"Key {key.name}", classes="dialog-title")
            for label, value in rows:
                yield Static(f"[b]{label:<11}[/b]{value}", classes="dialog-line")
            yield Static(f"[b]Scopes[/b]\n{scopes}", classes="dialog-line")
            if key.kind == "admin":
                yield Static(f"[b]Capabilities[/b]\n{', '.join(key.capabilities) or 'none'}", classes="dialog-line")

    def action_close(self) -> None:
        self.dismiss()
