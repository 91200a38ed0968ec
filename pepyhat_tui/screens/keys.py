"""Keys: app keys and admin tokens, with status, expiry, last use and creator."""

from __future__ import annotations

from textual import on
from textual.binding import Binding

from pepyhat import schemas
from pepyhat_tui.formatting import key_badge, relative
from pepyhat_tui.screens.base import ListScreen
from pepyhat_tui.widgets.paged_table import PagedTable

KINDS = (None, "app", "admin")
KIND_LABELS = {None: "app keys and admin tokens", "app": "app keys", "admin": "admin tokens"}
STATUSES = (None, "active", "expired", "revoked")


class KeysScreen(ListScreen):
    HEADING = "Keys"
    COLUMNS = (
        ("Name", "name"),
        ("Kind", "kind"),
        ("App", "app"),
        ("Start", "start"),
        ("Status", "status"),
        ("Last used", "used"),
        ("Expires", "expires"),
        ("Created by", "by"),
    )
    BINDINGS = [
        Binding("k", "cycle_kind", "Kind", id="kind-filter"),
        Binding("s", "cycle_status", "Status", id="status-filter"),
    ]
    ACTION_CAPABILITIES = {}

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None
        self.status: str | None = None

    async def fetch(self, cursor, query):
        return await self.app.client.list_keys(kind=self.kind, status=self.status, q=query, cursor=cursor)

    def cells(self, key: schemas.Key):
        now = self.app.now()
        return (
            key.name,
            key.kind,
            key.app or "—",
            key.start,
            key_badge(key, now),
            relative(key.last_used_at, now),
            relative(key.expires_at, now, never="—"),
            key.created_by,
        )

    def row_key(self, key: schemas.Key) -> str:
        return key.id

    def subtitle(self) -> str:
        status = f", {self.status}" if self.status else ""
        return f"[dim]({KIND_LABELS[self.kind]}{status})[/dim]"

    def action_cycle_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self.table.reload(self.table.query_text)
        self.update_title(loading=True)

    def action_cycle_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.table.reload(self.table.query_text)
        self.update_title(loading=True)

    @on(PagedTable.RowSelected)
    def _open(self, event: PagedTable.RowSelected) -> None:
        from pepyhat_tui.screens.key_detail import KeyDetailScreen

        key = self.table.selected()
        if key is not None:
            self.app.push_screen(KeyDetailScreen(key))
