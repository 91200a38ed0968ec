"""The access matrix of one app: its members by its roles, filtered by email and by permission.

`/` filters by email (on the server, as every list), `p` keeps the users who
hold a permission through any role (and highlights those roles), `a` brings in
the users without any role.  `space` grants or removes the role at the cursor,
after a dialog naming user, role and app; `enter` opens the user, `w` explains
what they hold.
"""

from __future__ import annotations

from typing import Sequence

from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError, all_pages
from pepyhat_tui.formatting import relative
from pepyhat_tui.guarded import resource_path, segment
from pepyhat_tui.panes.base import AppPane
from pepyhat_tui.text import join
from pepyhat_tui.widgets.access_matrix import LEGEND, MatrixTable, mark
from pepyhat_tui.widgets.filter_input import FilterInput


class MatrixPane(AppPane):
    DEFAULT_CSS = """
    MatrixPane > #cell {
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    """
    NOUN = "member"
    BINDINGS = bindings(
        "matrix.toggle", "matrix.permission", "explain", "matrix.everyone", "export", "try.open"
    )

    def __init__(self, app_slug: str, roles: Sequence[schemas.Role], total: int, *, id: str | None = None) -> None:
        super().__init__(app_slug, id=id)
        self.roles = list(roles)
        self.total = total  # the app's members: what a role's bar is measured against
        self.permission: str | None = None  # keep the users holding this, through any role
        self.everyone = False  # the users without a role in the app too

    # -- what the pane lists -------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield FilterInput(id="filter", placeholder="email or name")
        yield MatrixTable(self.roles, self.total, self._fetch, self.cells, self.row_key, id="table")
        yield Static(LEGEND, id="cell")

    @property
    def table(self) -> MatrixTable:
        return self.query_one(MatrixTable)

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_members(
            self.app_slug, q=query, permission=self.permission, everyone=self.everyone, cursor=cursor
        )

    def cells(self, member: schemas.Member):
        now = self.dashboard.now()
        held = {g.role: g for g in member.grants}
        highlighted = self.table.highlighted if self.is_mounted else set()
        email = join((member.email, "" if member.active else "strike dim"))
        return (email, *(mark(held.get(r.slug), now, r.slug in highlighted) for r in self.roles))

    def row_key(self, member: schemas.Member) -> str:
        return member.email

    def row_path(self, member: schemas.Member) -> str:
        return resource_path("apps", self.app_slug, "members", member.email)

    def subtitle(self) -> str:
        parts = []
        if self.permission:
            givers = [r.slug for r in self.roles if self.permission in r.permissions]
            parts.append(f"who can {self.permission}: via {', '.join(givers) or 'no role'}")
        if self.everyone:
            parts.append("everyone")
        return " · ".join(parts)

    def action_context(self) -> dict[str, str]:
        context = {"app": segment(self.app_slug)}
        member = self.table.selected()
        if member is not None:
            context["email"] = segment(member.email)
        return context

    # -- the cell under the cursor -----------------------------------------------

    def at_cursor(self) -> tuple[schemas.Member | None, schemas.Role | None]:
        return self.table.selected(), self.table.role_at_cursor()

    @on(DataTable.CellHighlighted)
    def _describe_cell(self) -> None:
        """Say what the cell means, with the dates a mark cannot show."""
        member, role = self.at_cursor()
        line = self.query_one("#cell", Static)
        if member is None:
            line.update(LEGEND)
            return
        if role is None:
            state = "active" if member.active else "deactivated: no access anywhere"
            line.update(join((member.email, "bold"), " — ", (member.name, ""), f" · {state}"))
            return
        now = self.dashboard.now()
        grant = next((g for g in member.grants if g.role == role.slug), None)
        if grant is None:
            line.update(join((member.email, ""), " has no ", (role.slug, "bold")))
            return
        when = f"granted {relative(grant.granted_at, now)} by "
        if grant.expired:
            until = f", expired {grant.expires_at:%Y-%m-%d %H:%M} UTC"
        elif grant.expires_at is not None:
            until = f", until {grant.expires_at:%Y-%m-%d %H:%M} UTC ({relative(grant.expires_at, now)})"
        else:
            until = ", no end"
        line.update(join((member.email, ""), " · ", (role.slug, "bold"), ": ", when, (grant.granted_by, ""), until))

    @on(DataTable.CellSelected)
    def _open_user(self, event: DataTable.CellSelected) -> None:
        event.stop()
        member = self.table.selected()
        if member is not None:
            self.open(member)

    def open(self, member: schemas.Member) -> None:
        from pepyhat_tui.screens.user_detail import UserDetailScreen

        self.dashboard.push_screen(UserDetailScreen(member.email), lambda _: self.refresh_member(member.email))

    # -- actions --------------------------------------------------------------------

    def action_available(self, action: str) -> bool:
        if action == "toggle_grant":
            return self.table.role_at_cursor() is not None
        if action == "explain":
            return self.table.selected() is not None
        return super().action_available(action)

    def action_explain(self) -> None:
        if (member := self.table.selected()) is not None:
            self.dashboard.open_explain(member.email, self.app_slug)

    def action_try_request(self) -> None:
        member = self.table.selected()
        self.dashboard.open_try(app=self.app_slug, email=member.email if member else None)

    def action_export(self) -> None:
        self.dashboard.export_access(self.app_slug)

    def action_toggle_everyone(self) -> None:
        self.everyone = not self.everyone
        self.reload()
        self.post_message(self.Changed(self))  # (the title says what is shown)

    def action_pick_permission(self) -> None:
        from pepyhat_tui.screens.pick import PickScreen

        async def pick() -> None:
            try:
                found = [p async for p in all_pages(self.dashboard.client.list_permissions, app=self.app_slug)]
            except ClientError as exc:
                self.report(exc, "Loading failed")
                return
            slugs = dict.fromkeys(p.slug for p in found)  # (an option's id must be unique)
            options = [("(every member: no permission filter)", "")] + [(slug, slug) for slug in slugs]
            self.dashboard.push_screen(PickScreen(join("Who can … in ", (self.app_slug, ""), "?"), options), self.filter_permission)

        self.run_worker(pick(), group="options", exclusive=True)

    def filter_permission(self, permission: str | None) -> None:
        if permission is None:  # cancelled
            return
        self.permission = permission or None
        self.table.highlighted = {r.slug for r in self.roles if self.permission in r.permissions}
        self.table.redraw_headers()
        self.reload()
        self.post_message(self.Changed(self))

    def action_toggle_grant(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen
        from pepyhat_tui.screens.grant_confirm import GrantConfirmScreen

        member, role = self.at_cursor()
        if member is None or role is None:
            return
        client, app, email = self.dashboard.client, self.app_slug, member.email
        grant = next((g for g in member.grants if g.role == role.slug), None)
        done = lambda _: self.refresh_member(email)  # noqa: E731
        if grant is None or grant.expired:
            def granted(answer: tuple[bool, object] | None) -> None:
                if answer:
                    self.mutate(lambda: client.grant(app, email, role.slug, answer[1]), f"Granted {role.slug} to {email}", done)

            screen = GrantConfirmScreen(email, role.slug, app, self.dashboard.now(), role.permissions)
            self.dashboard.push_screen(screen, granted)
            return
        typed = email if self.dashboard.target.color == "red" else None
        self.dashboard.push_screen(
            ConfirmScreen(
                join("Remove ", (role.slug, ""), " from ", (email, ""), "?"),
                [join((email, "bold"), " loses role ", (role.slug, "bold"), " in ", (app, "bold"), ".")],
                confirm_label="Remove", type_to_confirm=typed,
            ),
            lambda yes: yes and self.mutate(
                lambda: client.revoke_grant(app, email, role.slug), f"Removed {role.slug} from {email}", done
            ),
        )

    def refresh_member(self, email: str) -> None:
        """After a change to one member: their row and the roles' counts, not the whole matrix."""

        async def run() -> None:
            client = self.dashboard.client
            try:
                page = await client.list_members(self.app_slug, q=email, everyone=True, limit=20)
                roles = [r async for r in all_pages(client.list_roles, app=self.app_slug)]
                app = await client.get_app(self.app_slug)
            except ClientError as exc:
                self.report(exc, "Reloading failed")
                return
            member = next((m for m in page.data if m.email == email), None)
            if member is not None:
                self.table.replace(member)
            self.roles = [next((r for r in roles if r.slug == old.slug), old) for old in self.roles]
            self.table.redraw_headers(roles, app.member_count)
            self._describe_cell()
            self.post_message(self.Changed(self))

        self.run_worker(run(), group="member")
