"""Apps: every app with its counts; enter opens its roles, permissions, members and keys."""

from __future__ import annotations

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.guarded import resource_path, segment
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.text import join, plural


class AppsPane(ListPane):
    COLUMNS = (
        ("Slug", "slug"),
        ("Name", "name"),
        ("Roles", "roles"),
        ("Members", "members"),
        ("Active keys", "keys"),
        ("Description", "description"),
    )
    NOUN = "app"
    BINDINGS = bindings("apps.new", "apps.edit", "apps.delete", "matrix.open", "try.open", "export")

    def action_context(self) -> dict[str, str]:
        app = self.table.selected()  # the matrix, try and export act on the app under the cursor
        return {"app": segment(app.slug)} if app is not None else {}

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_apps(q=query, cursor=cursor)

    def cells(self, app: schemas.App):
        return (app.slug, app.name, app.role_count, app.member_count, app.active_key_count, app.description)

    def row_key(self, app: schemas.App) -> str:
        return app.slug

    def row_path(self, app: schemas.App) -> str:
        return resource_path("apps", app.slug)

    def open(self, app: schemas.App) -> None:
        self.open_by_name(app.slug)

    def open_by_name(self, name: str) -> None:
        from pepyhat_tui.screens.app_detail import AppDetailScreen

        # Back from the app, its counts may have changed: show them as they are now.
        self.dashboard.push_screen(AppDetailScreen(name), lambda _: self.reload())

    def action_matrix(self) -> None:
        if (app := self.table.selected()) is not None:
            self.dashboard.open_matrix(app.slug)

    def action_try_request(self) -> None:
        app = self.table.selected()
        self.dashboard.open_try(app=app.slug if app else None)

    def action_export(self) -> None:
        if (app := self.table.selected()) is not None:
            self.dashboard.export_access(app.slug)

    def action_new(self) -> None:
        from pepyhat_tui.screens.app_form import AppForm

        def created(app: schemas.App | None) -> None:
            if app is not None:
                self.notify(f"Created app {app.slug}")
                self.changed()

        self.dashboard.push_screen(AppForm(self.dashboard.client.create_app), created)

    def action_edit(self) -> None:
        from pepyhat_tui.screens.app_form import AppForm

        current = self.table.selected()
        if current is None:
            return

        def saved(app: schemas.App | None) -> None:
            if app is not None:
                self.notify(f"Saved app {app.slug}")
                self.table.replace(app)

        submit = lambda body: self.dashboard.client.update_app(current.slug, body)  # noqa: E731
        self.dashboard.push_screen(AppForm(submit, current), saved)

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        current = self.table.selected()
        if current is None:
            return
        lines = [
            join("App ", (current.slug, "bold"), " (", (current.name, ""), ") and everything in it:"),
            f"{plural(current.role_count, 'role')}, their permissions, and the grants of "
            f"{plural(current.member_count, 'member')}.",
        ]
        if current.active_key_count:
            keys = plural(current.active_key_count, "active app key")
            lines.append(join((f"{keys} will be revoked", "bold"), "; apps using them lose access."))
        typed = current.slug if self.dashboard.target.color == "red" else None

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.mutate(
                    lambda: self.dashboard.client.delete_app(current.slug, force=current.active_key_count > 0),
                    f"Deleted app {current.slug}",
                    self.changed,
                )

        self.dashboard.push_screen(
            ConfirmScreen(join("Delete app ", (current.slug, ""), "?"), lines, type_to_confirm=typed), confirmed
        )
