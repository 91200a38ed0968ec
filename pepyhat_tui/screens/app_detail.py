"""One app: tabs Roles, Permissions, Members and Keys, each a server-paged table."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from pepyhat import schemas
from pepyhat_tui.client import ClientError, all_pages
from pepyhat_tui.formatting import grant_summary, key_badge, relative, yes_no
from pepyhat_tui.screens.base import FILTER_DEBOUNCE, GuardedScreen
from pepyhat_tui.widgets.banner import Banner
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from pepyhat_tui.widgets.filter_input import FilterInput
from pepyhat_tui.widgets.paged_table import PagedTable

TABS = ("roles", "permissions", "members", "keys")


class AppDetailScreen(GuardedScreen):
    BINDINGS = [
        Binding("n", "new", "New", id="new"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("d", "delete", "Delete", id="delete"),
        Binding("slash", "filter", "Filter", id="filter"),
        # Universal keys stay out of the footer so it fits 80 columns; `?` and ctrl+p list them.
        Binding("ctrl+r", "refresh", "Refresh", id="refresh", show=False),
        Binding("escape", "back", "Back", id="back", show=False),
        Binding("1", "tab('roles')", "Roles", id="tab-roles", show=False),
        Binding("2", "tab('permissions')", "Permissions", id="tab-permissions", show=False),
        Binding("3", "tab('members')", "Members", id="tab-members", show=False),
        Binding("4", "tab('keys')", "Keys", id="tab-keys", show=False),
    ]

    def __init__(self, slug: str) -> None:
        super().__init__()
        self.slug = slug
        self.HEADING = f"App {slug}"
        self.details: schemas.App | None = None
        self._debounce: Timer | None = None

    # -- which action exists on which tab ------------------------------------

    def action_requirement(self, action: str):
        tab = self.active_tab
        slug = self.slug
        table = {
            ("roles", "new"): ("apps.write", f"apps/{slug}/roles/*", "write"),
            ("roles", "edit"): ("apps.write", f"apps/{slug}/roles/*", "write"),
            ("roles", "delete"): ("apps.write", f"apps/{slug}/roles/*", "delete"),
            ("permissions", "new"): ("apps.write", f"apps/{slug}/permissions/*", "write"),
            ("permissions", "delete"): ("apps.write", f"apps/{slug}/permissions/*", "delete"),
            ("members", "new"): ("grants.write", f"apps/{slug}/members/*", "write"),
            ("members", "delete"): ("grants.write", f"apps/{slug}/members/*", "delete"),
        }
        if action in ("new", "edit", "delete"):
            return table.get((tab, action), ("never", None, "read"))
        return None

    @property
    def active_tab(self) -> str:
        try:
            return self.query_one(TabbedContent).active or "roles"
        except Exception:
            return "roles"

    def table(self, tab: str | None = None) -> PagedTable:
        return self.query_one(f"#table-{tab or self.active_tab}", PagedTable)

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        client = lambda: self.app.client  # noqa: E731  (resolved per call: it appears after connecting)
        slug = self.slug
        yield EnvironmentBar(id="environment")
        yield Static(f"[b]App {slug}[/b]", id="title")
        yield FilterInput(id="filter")
        yield Banner(id="banner")
        with TabbedContent(initial="roles"):
            with TabPane("Roles", id="roles"):
                yield PagedTable(
                    (("Slug", "slug"), ("Name", "name"), ("Members", "members"), ("Permissions", "permissions")),
                    lambda cursor, q: client().list_roles(slug, q=q, cursor=cursor),
                    lambda r: (r.slug, r.name, r.member_count, ", ".join(r.permissions)),
                    lambda r: r.slug,
                    id="table-roles",
                )
            with TabPane("Permissions", id="permissions"):
                yield PagedTable(
                    (("Slug", "slug"), ("Description", "description")),
                    lambda cursor, q: client().list_permissions(slug, q=q, cursor=cursor),
                    lambda p: (p.slug, p.description),
                    lambda p: p.slug,
                    id="table-permissions",
                )
            with TabPane("Members", id="members"):
                yield PagedTable(
                    (("Email", "email"), ("Name", "name"), ("Status", "status"), ("Roles", "roles")),
                    lambda cursor, q: client().list_members(slug, q=q, cursor=cursor),
                    lambda m: (m.email, m.name, yes_no(m.active), grant_summary(m.grants, self.app.now())),
                    lambda m: m.email,
                    id="table-members",
                )
            with TabPane("Keys", id="keys"):
                yield PagedTable(
                    (("Name", "name"), ("Start", "start"), ("Status", "status"), ("Last used", "used"),
                     ("Created by", "by"), ("Expires", "expires")),
                    lambda cursor, q: client().list_keys(app=slug, kind="app", q=q, cursor=cursor),
                    lambda k: (
                        k.name, k.start, key_badge(k, self.app.now()), relative(k.last_used_at, self.app.now()),
                        k.created_by, relative(k.expires_at, self.app.now(), never="—"),
                    ),
                    lambda k: k.id,
                    id="table-keys",
                )
        yield Footer(compact=True)  # dense, so a screen's keys fit 80 columns

    def on_mount(self) -> None:
        self.load_details()
        self.table("roles").reload()
        self.table("roles").focus()

    def load_details(self) -> None:
        async def run() -> None:
            try:
                client = await self.app.wait_client()
                self.details = await client.get_app(self.slug)
            except ClientError as exc:
                self.query_one(Banner).show(exc.message)
                self.report(exc, "Loading failed")
                return
            d = self.details
            self.query_one("#title", Static).update(
                f"[b]App {d.slug}[/b] — {d.name}  [dim]{d.description}[/dim]  "
                f"{d.role_count} roles · {d.member_count} members · {d.active_key_count} active keys"
            )

        self.run_worker(run(), group="details", exclusive=True)

    # -- events ---------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        table = self.table()
        if not table.loaded_once and not table.loading_page:
            table.reload()
        self.filter_input.value = table.query_text or ""
        table.focus()
        self.refresh_bindings()

    @on(PagedTable.Loaded)
    def _loaded(self, event: PagedTable.Loaded) -> None:
        self.query_one(Banner).hide()

    @on(PagedTable.Failed)
    def _failed(self, event: PagedTable.Failed) -> None:
        self.query_one(Banner).show(event.error.message)
        self.report(event.error, "Loading failed")

    @on(PagedTable.RowSelected)
    def _open(self, event: PagedTable.RowSelected) -> None:
        if self.active_tab == "members":
            member = self.table().selected()
            if member is not None:
                from pepyhat_tui.screens.user_detail import UserDetailScreen

                self.app.push_screen(UserDetailScreen(member.email))
        elif self.active_tab == "roles" and self.check_action("edit", ()):
            self.action_edit()
        elif self.active_tab == "keys":
            key = self.table().selected()
            if key is not None:
                from pepyhat_tui.screens.key_detail import KeyDetailScreen

                self.app.push_screen(KeyDetailScreen(key))

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#filter", FilterInput)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        table = self.table()
        self._debounce = self.set_timer(FILTER_DEBOUNCE, lambda: table.reload(event.value.strip()))

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        table = self.table()
        if event.value.strip() != (table.query_text or ""):
            table.reload(event.value.strip())
        self.filter_input.display = False
        table.focus()

    # -- actions --------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_refresh(self) -> None:
        if self.app.connection_error is not None:
            self.app.connect()
        self.load_details()
        self.table().reload(self.table().query_text)

    def action_back(self) -> None:
        table = self.table()
        if self.filter_input.display or table.query_text:
            self.filter_input.value = ""
            self.filter_input.display = False
            if self._debounce is not None:
                self._debounce.stop()
            if table.query_text:
                table.reload(None)
            table.focus()
        else:
            self.app.pop_screen()

    def _after_change(self, _result=None) -> None:
        self.table().reload(self.table().query_text)
        self.load_details()

    def action_new(self) -> None:
        tab = self.active_tab
        client = self.app.client
        if tab == "permissions":
            from pepyhat_tui.screens.permission_form import PermissionForm

            self.app.push_screen(
                PermissionForm(lambda body: client.create_permission(self.slug, body), self.slug),
                lambda created: created and self._after_change(),
            )
        elif tab == "roles":
            self._role_form(None)
        elif tab == "members":
            from pepyhat_tui.screens.grant_form import GrantForm

            self.app.push_screen(GrantForm(client, app=self.slug), lambda done: done and self._after_change())

    def action_edit(self) -> None:
        if self.active_tab == "roles":
            role = self.table().selected()
            if role is not None:
                self._role_form(role)

    def _role_form(self, role: schemas.Role | None) -> None:
        from pepyhat_tui.screens.role_form import RoleForm

        client = self.app.client

        async def open_form() -> None:
            try:
                permissions = [p async for p in all_pages(client.list_permissions, app=self.slug)]
            except ClientError as exc:
                self.report(exc, "Loading permissions failed")
                return
            if role is None:
                submit = lambda body: client.create_role(self.slug, body)  # noqa: E731
            else:
                submit = lambda body: client.update_role(self.slug, role.slug, body)  # noqa: E731

            def saved(result) -> None:
                if result is None:
                    return
                impact = getattr(result, "impact", None)
                if impact is not None and (impact.gained or impact.lost):
                    gained = ", ".join(f"+{p} ({n})" for p, n in impact.gained.items())
                    lost = ", ".join(f"-{p} ({n})" for p, n in impact.lost.items())
                    self.notify(f"{impact.members} members: {' '.join(filter(None, [gained, lost]))}", title=f"Role {result.slug} saved")
                else:
                    self.notify(f"Role {result.slug} saved")
                self._after_change()

            self.app.push_screen(RoleForm(submit, self.slug, permissions, role), saved)

        self.run_worker(open_form(), group="form", exclusive=True)

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        tab = self.active_tab
        item = self.table().selected()
        if item is None:
            return
        client = self.app.client
        red = self.app.target.color == "red"
        if tab == "roles":
            lines = [f"Role [b]{self.slug}/{item.slug}[/b] ({item.name}).", f"{item.member_count} members lose it and its permissions."]
            self.app.push_screen(
                ConfirmScreen(f"Delete role {item.slug}?", lines, type_to_confirm=item.slug if red else None),
                lambda yes: yes and self.mutate(lambda: client.delete_role(self.slug, item.slug), f"Deleted role {item.slug}", self._after_change),
            )
        elif tab == "permissions":
            lines = [f"Permission [b]{item.slug}[/b] in {self.slug}.", "Every role holding it loses it."]
            self.app.push_screen(
                ConfirmScreen(f"Delete permission {item.slug}?", lines, type_to_confirm=item.slug if red else None),
                lambda yes: yes and self.mutate(
                    lambda: client.delete_permission(self.slug, item.slug), f"Deleted permission {item.slug}", self._after_change
                ),
            )
        elif tab == "members":
            self._remove_grant(item)

    def _remove_grant(self, member: schemas.Member) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen
        from pepyhat_tui.screens.pick import PickScreen

        client = self.app.client
        red = self.app.target.color == "red"

        def remove(role: str | None) -> None:
            if role is None:
                return
            lines = [f"[b]{member.email}[/b] loses role [b]{role}[/b] in {self.slug}."]
            self.app.push_screen(
                ConfirmScreen(f"Remove {role} from {member.email}?", lines, confirm_label="Remove", type_to_confirm=member.email if red else None),
                lambda yes: yes and self.mutate(
                    lambda: client.revoke_grant(self.slug, member.email, role), f"Removed {role} from {member.email}", self._after_change
                ),
            )

        roles = [g.role for g in member.grants]
        if len(roles) == 1:
            remove(roles[0])
        elif roles:
            self.app.push_screen(PickScreen(f"Remove which role from {member.email}?", [(r, r) for r in roles]), remove)
