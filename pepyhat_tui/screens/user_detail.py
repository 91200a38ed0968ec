"""One user: roles and permissions in every app, with each grant's origin and expiry."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from pepyhat import schemas
from pepyhat_tui.client import ClientError
from pepyhat_tui.formatting import relative, yes_no
from pepyhat_tui.screens.base import GuardedScreen
from pepyhat_tui.widgets.banner import Banner
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from pepyhat_tui.widgets.table import Table


class UserDetailScreen(GuardedScreen):
    BINDINGS = [
        Binding("g", "grant", "Grant role", id="grant"),
        Binding("d", "remove", "Remove role", id="remove-grant"),
        Binding("x", "toggle_active", "(De)activate", id="toggle-active"),
        Binding("e", "edit", "Edit", id="edit"),
        # Universal keys stay out of the footer so it fits 80 columns; `?` and ctrl+p list them.
        Binding("ctrl+r", "refresh", "Refresh", id="refresh", show=False),
        Binding("escape", "back", "Back", id="back", show=False),
    ]
    ACTION_CAPABILITIES = {
        "grant": ("grants.write", "apps/*/members/*", "write"),
        "remove": ("grants.write", "apps/*/members/*", "delete"),
        "toggle_active": ("users.write", "users/*", "write"),
        "edit": ("users.write", "users/*", "write"),
    }

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email.lower()
        self.HEADING = f"User {self.email}"
        self.access: schemas.UserAccess | None = None

    def compose(self) -> ComposeResult:
        yield EnvironmentBar(id="environment")
        yield Static(f"[b]User {self.email}[/b]  loading…", id="title")
        yield Banner(id="banner")
        yield Table(id="access", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)  # dense, so a screen's keys fit 80 columns

    def on_mount(self) -> None:
        table = self.query_one("#access", Table)
        table.add_column("App", key="app")
        table.add_column("Role", key="role")
        table.add_column("Granted by", key="by")
        table.add_column("Granted", key="at")
        table.add_column("Expires", key="expires")
        table.add_column("Permissions", key="permissions")
        table.focus()
        self.load()

    def load(self) -> None:
        async def run() -> None:
            try:
                client = await self.app.wait_client()
                self.access = await client.user_access(self.email)
            except ClientError as exc:
                self.query_one(Banner).show(exc.message)
                self.report(exc, "Loading failed")
                return
            self.query_one(Banner).hide()
            self.show()

        self.run_worker(run(), group="load", exclusive=True)

    def show(self) -> None:
        access = self.access
        now = self.app.now()
        title = Text.from_markup(f"[b]User {access.email}[/b]  {access.name}  ")
        title.append_text(yes_no(access.active))
        title.append(f"  ·  {sum(len(a.roles) for a in access.apps)} live roles in {len(access.apps)} apps")
        if not access.active:
            title.append("  ·  deactivated: no access anywhere, grants kept", style="bold red")
        self.query_one("#title", Static).update(title)
        table = self.query_one("#access", Table)
        table.clear()
        for app in access.apps:
            perms_by_role = ", ".join(app.permissions)
            for grant in app.grants:
                expires = Text("expired", style="red") if grant.expired else Text(relative(grant.expires_at, now, never="—"))
                role = Text(grant.role, style="strike dim" if grant.expired else "")
                table.add_row(
                    app.app, role, grant.granted_by, relative(grant.granted_at, now), expires,
                    perms_by_role if not grant.expired else "", key=f"{app.app}/{grant.role}",
                )
        if not access.apps:
            self.query_one("#title", Static).update(title.append("  ·  no grants"))

    def selected_grant(self) -> tuple[str, str] | None:
        table = self.query_one("#access", Table)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        app, _, role = key.partition("/")
        return app, role

    def action_refresh(self) -> None:
        if self.app.connection_error is not None:
            self.app.connect()
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_grant(self) -> None:
        from pepyhat_tui.screens.grant_form import GrantForm

        self.app.push_screen(GrantForm(self.app.client, email=self.email), lambda done: done and self.load())

    def action_remove(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        chosen = self.selected_grant()
        if chosen is None:
            return
        app, role = chosen
        typed = self.email if self.app.target.color == "red" else None
        self.app.push_screen(
            ConfirmScreen(f"Remove {role} from {self.email}?", [f"[b]{self.email}[/b] loses role [b]{role}[/b] in {app}."],
                          confirm_label="Remove", type_to_confirm=typed),
            lambda yes: yes and self.mutate(
                lambda: self.app.client.revoke_grant(app, self.email, role), f"Removed {role} in {app}", lambda _: self.load()
            ),
        )

    def action_toggle_active(self) -> None:
        if self.access is None:
            return
        active = self.access.active
        self.mutate(
            lambda: self.app.client.update_user(self.email, schemas.UserUpdate(active=not active)),
            f"{'Deactivated' if active else 'Reactivated'} {self.email}",
            lambda _: self.load(),
        )

    def action_edit(self) -> None:
        from pepyhat_tui.screens.user_form import UserForm

        if self.access is None:
            return
        user = schemas.User(email=self.access.email, name=self.access.name, active=self.access.active, created_at=self.access.created_at)
        self.app.push_screen(
            UserForm(lambda body: self.app.client.update_user(self.email, body), user), lambda saved: saved and self.load()
        )
