"""Keys: app keys and admin tokens, with status, expiry, last use and creator.

The Keys screen shows every key; an app's Keys tab is the same pane narrowed to
that app's keys, so what can be done to a key is written once, here: mint,
edit, revoke (one, or the selected ones together), rotate, and find a leaked
key from its plaintext or start, pasted into the filter.
"""

from __future__ import annotations

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.guarded import key_path, resource_path, segment
from pepyhat_tui.formatting import EXPIRING_WITHIN, key_badge, relative
from pepyhat_tui.leaks import Suspect
from pepyhat_tui.minted import Minted
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.text import join, plural

KINDS = (None, "app", "admin")
KIND_LABELS = {None: "app keys and admin tokens", "app": "app keys", "admin": "admin tokens"}
STATUSES = (None, "active", "expiring", "expired", "revoked")
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
    BINDINGS = bindings(
        "keys.new", "keys.edit", "keys.revoke", "keys.rotate", "keys.kind", "keys.status", "keys.select",
        "keys.select-all",
    )

    def __init__(self, app_slug: str | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.app_slug = app_slug
        self.kind: str | None = "app" if app_slug else None
        self.status: str | None = None
        self.marked: set[str] = set()  # key ids selected for a bulk revoke

    def action_context(self) -> dict[str, str]:
        if self.app_slug:
            return {"app": segment(self.app_slug), "keys": resource_path("apps", self.app_slug, "keys")}
        return {"keys": "**"}  # app keys and admin tokens alike: a new one may be either

    def row_path(self, key: schemas.Key) -> str:
        return key_path(key)

    def columns(self):
        return APP_COLUMNS if self.app_slug else ALL_COLUMNS

    async def fetch(self, cursor, query):
        expiring = self.status == "expiring"
        return await self.dashboard.client.list_keys(
            app=self.app_slug, kind=self.kind, status=None if expiring else self.status, q=query, cursor=cursor,
            expires_within=EXPIRING_WITHIN if expiring else None,
        )

    def cells(self, key: schemas.Key):
        now = self.dashboard.now()
        cells = {
            "name": join("✓ " if key.id in self.marked else "", (key.name, "")),
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
        if self.status == "expiring":
            status = f", expiring within {EXPIRING_WITHIN}"
        marked = f", {len(self.marked)} selected" if self.marked else ""
        return f"({KIND_LABELS[self.kind]}{status}{marked})"

    def open(self, key: schemas.Key) -> None:
        from pepyhat_tui.screens.key_detail import KeyDetailScreen

        self.dashboard.push_screen(KeyDetailScreen(key))

    def action_available(self, action: str) -> bool:
        if action == "cycle_kind":
            return self.app_slug is None  # an app's keys are app keys
        if action in ("edit", "rotate"):
            key = self.table.selected()
            return key is not None and key.status == "active"
        if action == "revoke":
            key = self.table.selected()
            return bool(self.marked) or (key is not None and key.status != "revoked")
        return super().action_available(action)

    def show(self, keys: list[schemas.Key]) -> None:
        """Redraw these keys in place (revoked, edited, rotated away)."""
        for key in keys:
            self.table.replace(key)
        self.post_message(self.Changed(self))
        self.dashboard.count_expiring()
        self.refresh_bindings()

    def changed(self, _result: object = None) -> None:
        super().changed(_result)
        self.dashboard.count_expiring()

    # -- a key pasted into the filter ---------------------------------------------

    def secret_filter(self, value: str, found: Suspect, submitted: bool) -> None:
        """A key or a start in the filter goes to the lookup (in a body), never into a list's URL."""
        if found.problem:
            self.table.show_found([], found.shown)
            self.notify(found.problem, title=found.shown, severity="warning")
        elif submitted:
            self.action_find_leaked(value)
        else:
            self._lookup_rows(value, found)

    def _lookup_rows(self, value: str, found: Suspect) -> None:
        async def run() -> None:
            try:
                if found.kind == "key":
                    matches = await self.dashboard.client.lookup_key(key=value)
                else:
                    matches = await self.dashboard.client.lookup_key(start=value)
            except ClientError as exc:
                self.report(exc, "Lookup failed")
                return
            self.table.show_found(matches, found.shown)

        self.run_worker(run(), group="lookup", exclusive=True)

    def action_find_leaked(self, pasted: str | None = None) -> None:
        from pepyhat_tui.screens.leaked import LeakedKeyScreen

        def done(changed: list[schemas.Key] | None) -> None:
            if changed:
                self.changed()

        self.dashboard.push_screen(LeakedKeyScreen(pasted), done)

    # -- mint, edit, rotate -------------------------------------------------------

    def action_new(self) -> None:
        from pepyhat_tui.screens.key_form import KeyForm

        def created(minted: Minted | None) -> None:
            if minted is not None:
                self.show_once(minted, "New key")

        self.dashboard.push_screen(KeyForm(app=self.app_slug), created)

    def show_once(self, minted: Minted, heading: str) -> None:
        from pepyhat_tui.screens.shown_once import ShownOnceScreen

        self.table.select_after_load = minted.key.id
        self.changed()
        self.dashboard.push_screen(ShownOnceScreen(minted, heading))

    def action_edit(self) -> None:
        from pepyhat_tui.screens.key_form import KeyForm

        key = self.table.selected()
        if key is None:
            return

        def saved(result: schemas.Key | None) -> None:
            if result is not None:
                self.notify(f"Saved key {result.name}")
                self.table.replace(result)

        self.dashboard.push_screen(KeyForm(key=key), saved)

    def action_rotate(self) -> None:
        from pepyhat_tui.screens.rotate import RotateScreen

        key = self.table.selected()
        if key is None:
            return

        def chosen(grace: str | None) -> None:
            if grace is not None:
                self.mutate(lambda: self.dashboard.client.rotate_key(key.id, grace), f"Rotated {key.name}",
                            lambda minted: self.show_once(minted, "Successor"))

        self.dashboard.push_screen(RotateScreen(key), chosen)

    # -- revoke, one or several -------------------------------------------------------

    def action_toggle_select(self) -> None:
        key = self.table.selected()
        if key is None:
            return
        self.marked ^= {key.id}
        self.table.replace(key)
        self.refresh_bindings()

    def action_select_all(self) -> None:
        live = [k for k in self.table.items.values() if k.status != "revoked"]
        self.marked = set() if self.marked >= {k.id for k in live} else {k.id for k in live}
        for key in self.table.items.values():
            self.table.replace(key)
        self.refresh_bindings()

    def action_revoke(self) -> None:
        from pepyhat_tui.screens.revoke import RevokeScreen

        def revocable(key: schemas.Key) -> bool:  # a row action checks the cursor's row; these are several
            return key.status != "revoked" and self.dashboard.allows("keys.manage", key_path(key), "delete", "row")

        marked = [k for k in self.table.items.values() if k.id in self.marked and revocable(k)]
        chosen = self.table.selected()
        targets = marked or ([chosen] if chosen is not None and chosen.status != "revoked" else [])
        if not targets:
            return
        if len(targets) > 1:
            apps = {k.app or "admin" for k in targets}
            typed: str | None = apps.pop() if len(apps) == 1 else plural(len(targets), "key")
        else:
            typed = targets[0].name if self.dashboard.target.color == "red" else None

        def confirmed(reason: str | None) -> None:
            if reason is not None:
                self._revoke(targets, reason or None)

        self.dashboard.push_screen(RevokeScreen(targets, self.dashboard.now(), type_to_confirm=typed), confirmed)

    def _revoke(self, targets: list[schemas.Key], reason: str | None) -> None:
        async def run() -> None:
            done: list[schemas.Key] = []
            for key in targets:
                try:
                    done.append(await self.dashboard.client.revoke_key(key.id, reason))
                except ClientError as exc:
                    self.report(exc, f"{key.name} not revoked")
            self.marked -= {k.id for k in done}
            self.show(done)
            if done:
                names = done[0].name if len(done) == 1 else plural(len(done), "key")
                self.notify(f"Revoked {names}: refused from the next request on")

        self.run_worker(run(), group="mutate")

    def action_cycle_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self.table.reload(self.table.query_text)

    def action_cycle_status(self) -> None:
        self.status = STATUSES[(STATUSES.index(self.status) + 1) % len(STATUSES)]
        self.table.reload(self.table.query_text)
