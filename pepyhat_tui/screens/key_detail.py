"""One key's record: scopes, capabilities, history.  Never a plaintext: the service has none."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.formatting import key_badge, kind_label, relative
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.text import join, literal, plural


class KeyDetailScreen(UsesDashboard, ModalScreen[None]):
    BINDINGS = bindings("key.close")

    def __init__(self, key: schemas.Key) -> None:
        super().__init__()
        self.key_record = key

    def rows(self) -> list[tuple[str, Text]]:
        key = self.key_record
        now = self.dashboard.now()
        rows = [
            ("Id", literal(key.id)),
            ("Kind", Text(kind_label(key))),
            ("App", literal(key.app or "—")),
            ("Start", literal(key.start)),
            ("Status", key_badge(key, now)),
            ("Created", join(relative(key.created_at, now), " by ", (key.created_by, ""))),
            ("Expires", Text(relative(key.expires_at, now, never="never"))),
            ("Last used", join(
                relative(key.last_used_at, now), *((" from ", (key.last_used_from, "")) if key.last_used_from else ())
            )),
            ("Rate limit", Text(f"{key.rate_limit_per_minute}/min" if key.rate_limit_per_minute else "none")),
        ]
        if key.status != "active":
            # Is a leaked key still being tried?  Counted on every node, after it stopped working.
            tried = key.refused_since_revoke
            rows.append(("Refused", Text(f"{plural(tried, 'request')} since it stopped working",
                                         style="bold red" if tried else "")))
        if key.revoked_at:
            rows.append(("Revoked", join(
                relative(key.revoked_at, now), " by ", (key.revoked_by, ""), ": ",
                (key.revoke_reason or "no reason given", ""),
            )))
        return rows

    def compose(self) -> ComposeResult:
        key = self.key_record
        with VerticalScroll(id="dialog", classes="dialog"):
            yield Static(join("Key ", (key.name, "")), classes="dialog-title")
            for label, value in self.rows():
                yield Static(join((f"{label:<11}", "bold"), value), classes="dialog-line")
            scopes = Text("\n").join(join((s.path, ""), "  ", (", ".join(s.operations), "dim")) for s in key.scopes)
            yield Static(join(("Scopes", "bold"), "\n", scopes or "none"), classes="dialog-line")
            if key.kind == "admin":
                capabilities = ", ".join(key.capabilities) or "none"
                yield Static(join(("Capabilities", "bold"), "\n", (capabilities, "")), classes="dialog-line")

    def action_close(self) -> None:
        self.dismiss()
