"""One user: roles and permissions in every app, with each grant's origin and expiry."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.formatting import relative, yes_no
from pepyhat_tui.guarded import resource_path, segment
from pepyhat_tui.panes.users import toggle_active
from pepyhat_tui.screens.base import DataScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.table import Table


class UserDetailScreen(DataScreen):
    BINDINGS = bindings("user.grant", "user.remove-grant", "user.toggle-active", "user.edit", "explain", "try.open")

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email.lower()
        self.access: schemas.UserAccess | None = None
        self.grant_rows: dict[str, tuple[str, str]] = {}  # row key -> (app, role)

    @property
    def heading(self) -> str:
        return f"User {self.email}"

    def action_context(self) -> dict[str, str]:
        context = {"email": segment(self.email)}
        chosen = self.selected_grant()
        if chosen is not None:  # explain and try act on the app of the row under the cursor
            context["app"] = segment(chosen[0])
        return context

    def compose(self) -> ComposeResult:
        yield from self.chrome_top()
        yield Table(id="access", cursor_type="row", zebra_stripes=True)
        yield from self.chrome_bottom()

    @property
    def grants_table(self) -> Table:
        return self.query_one("#access", Table)

    def on_mount(self) -> None:
        self.title_bar.show(join((f"User {self.email}", "bold")), "loading…")
        table = self.grants_table
        table.add_column("App", key="app")
        table.add_column("Role", key="role")
        table.add_column("Granted by", key="by")
        table.add_column("Granted", key="at")
        table.add_column("Expires", key="expires")
        table.add_column("Permissions", key="permissions")
        table.focus()
        self.reload()

    def reload(self) -> None:
        async def run() -> None:
            try:
                client = await self.dashboard.wait_client()
                self.access = await client.user_access(self.email)
            except ClientError as exc:
                self.load_failed(exc)
                return
            self.banner.hide()
            self.show()

        self.run_worker(run(), group="load", exclusive=True)

    def show(self) -> None:
        access = self.access
        now = self.dashboard.now()
        main = join((f"User {access.email}", "bold"))
        if access.name:
            main.append_text(join(" — ", (access.name, "")))
        if access.active:
            live = sum(len(a.roles) for a in access.apps)
            counts = join(yes_no(True), " · ", f"{plural(live, 'live role')} in {plural(len(access.apps), 'app')}")
        else:  # the one thing to know about this user
            counts = join(yes_no(False), " · ", ("deactivated: no access anywhere, grants kept", "bold red"))
        self.title_bar.show(main, counts)
        table = self.grants_table
        table.clear()
        self.grant_rows.clear()
        for app in access.apps:
            permissions = ", ".join(app.permissions)
            for grant in app.grants:
                expires = Text("expired", style="red") if grant.expired else Text(relative(grant.expires_at, now, never="—"))
                role = join((grant.role, "strike dim" if grant.expired else ""))
                key = str(len(self.grant_rows))  # slugs are not trusted to be separable
                self.grant_rows[key] = (app.app, grant.role)
                table.add_row(
                    app.app, role, grant.granted_by, relative(grant.granted_at, now), expires,
                    permissions if not grant.expired else "", key=key,
                )
        self.refresh_bindings()  # the rows (and so the row under the cursor) are new

    def selected_grant(self) -> tuple[str, str] | None:
        table = self.grants_table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.grant_rows.get(key)

    def selected_path(self) -> str | None:
        chosen = self.selected_grant()
        return None if chosen is None else resource_path("apps", chosen[0], "members", self.email)

    @on(DataTable.RowHighlighted, "#access")
    def _grant_moved(self) -> None:
        self.refresh_bindings()  # remove-grant is offered per row: crm's, not wiki's

    def action_explain(self) -> None:
        if (chosen := self.selected_grant()) is not None:
            self.dashboard.open_explain(self.email, chosen[0])

    def action_try_request(self) -> None:
        chosen = self.selected_grant()
        self.dashboard.open_try(email=self.email, app=chosen[0] if chosen else None)

    def action_grant(self) -> None:
        from pepyhat_tui.screens.grant_form import GrantForm

        self.dashboard.push_screen(GrantForm(self.dashboard.client, email=self.email), lambda done: done and self.reload())

    def action_remove(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        chosen = self.selected_grant()
        if chosen is None:
            return
        app, role = chosen
        typed = self.email if self.dashboard.target.color == "red" else None
        self.dashboard.push_screen(
            ConfirmScreen(
                join("Remove ", (role, ""), " from ", (self.email, ""), "?"),
                [join((self.email, "bold"), " loses role ", (role, "bold"), " in ", (app, ""), ".")],
                confirm_label="Remove", type_to_confirm=typed,
            ),
            lambda yes: yes and self.mutate(
                lambda: self.dashboard.client.revoke_grant(app, self.email, role), f"Removed {role} in {app}",
                lambda _: self.reload(),
            ),
        )

    def action_toggle_active(self) -> None:
        if self.access is not None:
            access = self.access
            toggle_active(self, self.email, access.name, access.active, lambda _: self.reload())

    def action_edit(self) -> None:
        from pepyhat_tui.screens.user_form import UserForm

        if self.access is None:
            return
        access = self.access
        user = schemas.User(email=access.email, name=access.name, active=access.active, created_at=access.created_at)
        self.dashboard.push_screen(
            UserForm(lambda body: self.dashboard.client.update_user(self.email, body), user),
            lambda saved: saved and self.reload(),
        )
