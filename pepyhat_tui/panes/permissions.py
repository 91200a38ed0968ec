"""An app's permissions: the strings the app checks."""

from __future__ import annotations

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.guarded import resource_path
from pepyhat_tui.panes.base import AppPane
from pepyhat_tui.text import join


class PermissionsPane(AppPane):
    COLUMNS = (("Slug", "slug"), ("Description", "description"))
    NOUN = "permission"
    BINDINGS = bindings("permissions.new", "permissions.delete")

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_permissions(self.app_slug, q=query, cursor=cursor)

    def cells(self, permission: schemas.Permission):
        return (permission.slug, permission.description)

    def row_key(self, permission: schemas.Permission) -> str:
        return permission.slug

    def row_path(self, permission: schemas.Permission) -> str:
        return resource_path("apps", self.app_slug, "permissions", permission.slug)

    def action_new(self) -> None:
        from pepyhat_tui.screens.permission_form import PermissionForm

        client = self.dashboard.client
        self.dashboard.push_screen(
            PermissionForm(lambda body: client.create_permission(self.app_slug, body), self.app_slug),
            lambda created: created and self.changed(),
        )

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        permission = self.table.selected()
        if permission is None:
            return
        lines = [join("Permission ", (permission.slug, "bold"), " in ", (self.app_slug, ""), "."), "Every role holding it loses it."]
        typed = permission.slug if self.dashboard.target.color == "red" else None
        self.dashboard.push_screen(
            ConfirmScreen(join("Delete permission ", (permission.slug, ""), "?"), lines, type_to_confirm=typed),
            lambda yes: yes and self.mutate(
                lambda: self.dashboard.client.delete_permission(self.app_slug, permission.slug),
                f"Deleted permission {permission.slug}",
                self.changed,
            ),
        )
