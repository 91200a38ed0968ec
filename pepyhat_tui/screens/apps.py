"""Apps: every app with its counts; enter opens its roles, permissions, members and keys."""

from __future__ import annotations

from textual import on
from textual.binding import Binding

from pepyhat import schemas
from pepyhat_tui.screens.base import ListScreen
from pepyhat_tui.widgets.paged_table import PagedTable


class AppsScreen(ListScreen):
    HEADING = "Apps"
    COLUMNS = (
        ("Slug", "slug"),
        ("Name", "name"),
        ("Roles", "roles"),
        ("Members", "members"),
        ("Active keys", "keys"),
        ("Description", "description"),
    )
    BINDINGS = [
        Binding("n", "new", "New", id="new"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("d", "delete", "Delete", id="delete"),
    ]
    ACTION_CAPABILITIES = {
        "new": ("apps.write", "apps/*", "write"),
        "edit": ("apps.write", "apps/*", "write"),
        "delete": ("apps.write", "apps/*", "delete"),
    }

    async def fetch(self, cursor, query):
        return await self.app.client.list_apps(q=query, cursor=cursor)

    def cells(self, app: schemas.App):
        return (app.slug, app.name, app.role_count, app.member_count, app.active_key_count, app.description)

    def row_key(self, app: schemas.App) -> str:
        return app.slug

    @on(PagedTable.RowSelected)
    def _open(self, event: PagedTable.RowSelected) -> None:
        app = self.table.selected()
        if app is not None:
            self.open_app(app.slug)

    def open_app(self, slug: str) -> None:
        from pepyhat_tui.screens.app_detail import AppDetailScreen

        self.app.push_screen(AppDetailScreen(slug))

    def open_by_name(self, name: str) -> None:
        self.open_app(name)

    def action_new(self) -> None:
        from pepyhat_tui.screens.app_form import AppForm

        def created(app: schemas.App | None) -> None:
            if app is not None:
                self.notify(f"Created app {app.slug}")
                self.table.reload(self.table.query_text)

        self.app.push_screen(AppForm(self.app.client.create_app), created)

    def action_edit(self) -> None:
        from pepyhat_tui.screens.app_form import AppForm

        current = self.table.selected()
        if current is None:
            return

        def saved(app: schemas.App | None) -> None:
            if app is not None:
                self.notify(f"Saved app {app.slug}")
                self.table.replace(app)

        submit = lambda body: self.app.client.update_app(current.slug, body)  # noqa: E731
        self.app.push_screen(AppForm(submit, current), saved)

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        current = self.table.selected()
        if current is None:
            return
        lines = [
            f"App [b]{current.slug}[/b] ({current.name}) and everything in it:",
            f"{current.role_count} roles, their permissions, and the grants of {current.member_count} members.",
        ]
        if current.active_key_count:
            keys = "1 active app key" if current.active_key_count == 1 else f"{current.active_key_count} active app keys"
            lines.append(f"[b]{keys} will be revoked[/b]; apps using them lose access.")
        typed = current.slug if self.app.target.color == "red" else None

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.mutate(
                    lambda: self.app.client.delete_app(current.slug, force=current.active_key_count > 0),
                    f"Deleted app {current.slug}",
                    lambda _: self.table.reload(self.table.query_text),
                )

        self.app.push_screen(ConfirmScreen(f"Delete app {current.slug}?", lines, type_to_confirm=typed), confirmed)
