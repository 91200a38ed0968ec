"""Keys: app keys and admin tokens, with status, expiry, last use and creator.

The Keys screen shows every key; an app's Keys tab is the same pane narrowed to
that app's keys, so what can be done to a key is written once, here.
"""

from __future__ import annotations

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.formatting import key_badge, relative
from pepyhat_tui.panes.base import ListPane

KINDS = (None, "app", "admin")
KIND_LABELS = {None: "app keys and admin tokens", "app": "app keys", "admin": "admin tokens"}
STATUSES = (None, "active", "expired", "revoked")
ALL_COLUMNS = (
    ("Name", "name"),
    ("Kind", "kind"),
    ("App", "app"),
    ("Start", "start"),
    ("Status", "status"),
    ("Last used", "used"),
    ("Expires", "expires"),
    ("Created by", "by"),
)
APP_COLUMNS = tuple(c for c in ALL_COLUMNS if c[1] not in ("kind", "app"))  # one app's keys: both are given


class KeysPane(ListPane):
    NOUN = "key"
    BINDINGS = bindings("keys.kind", "keys.status")

    def __init__(self, app_slug: str | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.app_slug = app_slug
        self.kind: str | None = "app" if app_slug else None
        self.status: str | None = None

    def action_context(self) -> dict[str, str]:
        return {"app": self.app_slug} if self.app_slug else {}

    def columns(self):
        return APP_COLUMNS if self.app_slug else ALL_COLUMNS

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_keys(
            app=self.app_slug, kind=self.kind, status=self.status, q=query, cursor=cursor
        )

    def cells(self, key: schemas.Key):
        now = self.dashboard.now()
        cells = {
            "name": key.name,
            "kind": key.kind,
            "app": key.app or "—",
            "start": key.start,
            "status": key_badge(key, now),
            "used": relative(key.last_used_at, now),
            "expires": relative(key.expires_at, now, never="—"),
            "by": key.created_by,
        }
        return tuple(cells[column] for _, column in self.columns())

    def row_key(self, key: schemas.Key) -> str:
        return key.id

    def subtitle(self) -> str:
        status = f", {self.status}" if self.status else ""
        return f"({KIND_LABELS[self.kind]}{status})"

    def open(self, key: schemas.Key) -> None:
        from pepyhat_tui.screens.key_detail import KeyDetailScreen

        self.dashboard.push_screen(KeyDetailScreen(key))

    def action_available(self, action: str) -> bool:
        if action == "cycle_kind":
            return self.app_slug is None  # an app's keys are app keys
        return super().action_available(action)

    def action_cycle_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self.table.reload(self.table.query_text)

    def action_cycle_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.table.reload(self.table.query_text)
