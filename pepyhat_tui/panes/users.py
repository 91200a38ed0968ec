"""Users: server-side search, an active filter; enter opens a user's access everywhere."""

from __future__ import annotations

from typing import Callable

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.formatting import relative, yes_no
from pepyhat_tui.guarded import Guarded, resource_path
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.text import join

ACTIVE_FILTERS = (None, True, False)
ACTIVE_LABELS = {None: "all", True: "active only", False: "deactivated only"}


def toggle_active(node: Guarded, email: str, name: str | None, active: bool, then: Callable[[schemas.User], None]) -> None:
    """`x` on a user, from the list or their page.

    Deactivating cuts every access at once, so it asks first, like a delete (the
    email typed on a red profile).  Reactivating restores what the grants give and
    destroys nothing, so it does not ask.
    """
    dashboard = node.dashboard

    def send() -> None:
        node.mutate(
            lambda: dashboard.client.update_user(email, schemas.UserUpdate(active=not active)),
            f"{'Deactivated' if active else 'Reactivated'} {email}",
            then,
        )

    if not active:
        send()
        return
    from pepyhat_tui.screens.confirm import ConfirmScreen

    lines = [
        join("User ", (email, "bold"), " (", (name or "no name", ""), ") loses ", ("all access in every app", "bold"),
             " at once: every app asking about them is told no roles, no permissions."),
        "Their grants are kept: reactivate (x) and the access comes back as it was.",
    ]
    dashboard.push_screen(
        ConfirmScreen(
            join("Deactivate user ", (email, ""), "?"), lines, confirm_label="Deactivate",
            type_to_confirm=email if dashboard.target.color == "red" else None,
        ),
        lambda yes: send() if yes else None,
    )


class UsersPane(ListPane):
    COLUMNS = (("Email", "email"), ("Name", "name"), ("Status", "status"), ("Created", "created"))
    NOUN = "user"
    BINDINGS = bindings(
        "users.new", "users.edit", "users.delete", "users.toggle-active", "users.active-filter", "try.open"
    )

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.active_filter: bool | None = None

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_users(q=query, active=self.active_filter, cursor=cursor)

    def cells(self, user: schemas.User):
        return (user.email, user.name, yes_no(user.active), relative(user.created_at, self.dashboard.now()))

    def row_key(self, user: schemas.User) -> str:
        return user.email

    def row_path(self, user: schemas.User) -> str:
        return resource_path("users", user.email)

    def subtitle(self) -> str:
        return f"({ACTIVE_LABELS[self.active_filter]})"

    def open(self, user: schemas.User) -> None:
        self.open_by_name(user.email)

    def open_by_name(self, name: str) -> None:
        from pepyhat_tui.screens.user_detail import UserDetailScreen

        # Back from a user (edited, deactivated, granted): show the users as they are now;
        # the reload keeps the cursor on its row.
        self.dashboard.push_screen(UserDetailScreen(name.lower()), lambda _: self.reload())

    def action_try_request(self) -> None:
        user = self.table.selected()
        self.dashboard.open_try(email=user.email if user else None)

    def action_cycle_filter(self) -> None:
        index = ACTIVE_FILTERS.index(self.active_filter)
        self.active_filter = ACTIVE_FILTERS[(index + 1) % len(ACTIVE_FILTERS)]
        self.table.reload(self.table.query_text)

    def action_new(self) -> None:
        from pepyhat_tui.screens.user_form import UserForm

        def created(user: schemas.User | None) -> None:
            if user is not None:
                self.notify(f"Created user {user.email}")
                self.changed()

        self.dashboard.push_screen(UserForm(self.dashboard.client.create_user), created)

    def action_edit(self) -> None:
        from pepyhat_tui.screens.user_form import UserForm

        user = self.table.selected()
        if user is None:
            return

        def saved(result: schemas.User | None) -> None:
            if result is not None:
                self.notify(f"Saved user {result.email}")
                self.table.replace(result)

        self.dashboard.push_screen(UserForm(lambda body: self.dashboard.client.update_user(user.email, body), user), saved)

    def action_toggle_active(self) -> None:
        user = self.table.selected()
        if user is not None:
            toggle_active(self, user.email, user.name, user.active, self.table.replace)

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        user = self.table.selected()
        if user is None:
            return
        lines = [
            join("User ", (user.email, "bold"), " (", (user.name or "no name", ""), ") and every grant they hold."),
            "To keep the record but cut access, deactivate instead (x).",
        ]
        typed = user.email if self.dashboard.target.color == "red" else None
        self.dashboard.push_screen(
            ConfirmScreen(join("Delete user ", (user.email, ""), "?"), lines, type_to_confirm=typed),
            lambda yes: yes and self.mutate(
                lambda: self.dashboard.client.delete_user(user.email), f"Deleted user {user.email}", self.changed
            ),
        )
