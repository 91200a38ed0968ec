"""Users: server-side search, an active filter; enter opens a user's access everywhere."""

from __future__ import annotations

from textual import events, on
from textual.binding import Binding

from pepyhat import schemas
from pepyhat_tui.formatting import relative, yes_no
from pepyhat_tui.screens.base import ListScreen
from pepyhat_tui.widgets.paged_table import PagedTable

ACTIVE_FILTERS = (None, True, False)
ACTIVE_LABELS = {None: "all", True: "active only", False: "deactivated only"}


class UsersScreen(ListScreen):
    HEADING = "Users"
    COLUMNS = (("Email", "email"), ("Name", "name"), ("Status", "status"), ("Created", "created"))
    BINDINGS = [
        Binding("n", "new", "New", id="new"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("d", "delete", "Delete", id="delete"),
        Binding("x", "toggle_active", "(De)activate", id="toggle-active"),
        Binding("a", "cycle_filter", "Active filter", id="active-filter", show=False),  # in `?`; the footer must fit 80 columns
    ]
    ACTION_CAPABILITIES = {
        "new": ("users.write", "users/*", "write"),
        "edit": ("users.write", "users/*", "write"),
        "delete": ("users.write", "users/*", "delete"),
        "toggle_active": ("users.write", "users/*", "write"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.active_filter: bool | None = None

    async def fetch(self, cursor, query):
        return await self.app.client.list_users(q=query, active=self.active_filter, cursor=cursor)

    def cells(self, user: schemas.User):
        return (user.email, user.name, yes_no(user.active), relative(user.created_at, self.app.now()))

    def row_key(self, user: schemas.User) -> str:
        return user.email

    def subtitle(self) -> str:
        return f"[dim]({ACTIVE_LABELS[self.active_filter]})[/dim]"

    @on(events.ScreenResume)
    def _resumed(self) -> None:
        # Back from a user's detail (where they may have been edited or deactivated):
        # show the users as they are now; the reload keeps the cursor on its row.
        if self.table.loaded_once:
            self.table.reload(self.table.query_text)

    @on(PagedTable.RowSelected)
    def _open(self, event: PagedTable.RowSelected) -> None:
        user = self.table.selected()
        if user is not None:
            self.open_by_name(user.email)

    def open_by_name(self, name: str) -> None:
        from pepyhat_tui.screens.user_detail import UserDetailScreen

        self.app.push_screen(UserDetailScreen(name.lower()))

    def action_cycle_filter(self) -> None:
        index = ACTIVE_FILTERS.index(self.active_filter)
        self.active_filter = ACTIVE_FILTERS[(index + 1) % len(ACTIVE_FILTERS)]
        self.table.reload(self.table.query_text)
        self.update_title(loading=True)

    def action_new(self) -> None:
        from pepyhat_tui.screens.user_form import UserForm

        def created(user: schemas.User | None) -> None:
            if user is not None:
                self.notify(f"Created user {user.email}")
                self.table.reload(self.table.query_text)

        self.app.push_screen(UserForm(self.app.client.create_user), created)

    def action_edit(self) -> None:
        from pepyhat_tui.screens.user_form import UserForm

        user = self.table.selected()
        if user is None:
            return

        def saved(result: schemas.User | None) -> None:
            if result is not None:
                self.notify(f"Saved user {result.email}")
                self.table.replace(result)

        self.app.push_screen(UserForm(lambda body: self.app.client.update_user(user.email, body), user), saved)

    def action_toggle_active(self) -> None:
        user = self.table.selected()
        if user is None:
            return
        verb = "Deactivated" if user.active else "Reactivated"
        self.mutate(
            lambda: self.app.client.update_user(user.email, schemas.UserUpdate(active=not user.active)),
            f"{verb} {user.email}",
            self.table.replace,
        )

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        user = self.table.selected()
        if user is None:
            return
        lines = [f"User [b]{user.email}[/b] ({user.name or 'no name'}) and every grant they hold.",
                 "To keep the record but cut access, deactivate instead (x)."]
        typed = user.email if self.app.target.color == "red" else None
        self.app.push_screen(
            ConfirmScreen(f"Delete user {user.email}?", lines, type_to_confirm=typed),
            lambda yes: yes and self.mutate(
                lambda: self.app.client.delete_user(user.email),
                f"Deleted user {user.email}",
                lambda _: self.table.reload(self.table.query_text),
            ),
        )
