"""An app's roles: named sets of its permissions; enter edits one."""

from __future__ import annotations

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError, all_pages
from pepyhat_tui.formatting import impact_summary
from pepyhat_tui.guarded import resource_path
from pepyhat_tui.panes.base import AppPane
from pepyhat_tui.text import join, plural


class RolesPane(AppPane):
    COLUMNS = (("Slug", "slug"), ("Name", "name"), ("Members", "members"), ("Permissions", "permissions"))
    NOUN = "role"
    BINDINGS = bindings("roles.new", "roles.edit", "roles.delete")

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_roles(self.app_slug, q=query, cursor=cursor)

    def cells(self, role: schemas.Role):
        return (role.slug, role.name, role.member_count, ", ".join(role.permissions))

    def row_key(self, role: schemas.Role) -> str:
        return role.slug

    def row_path(self, role: schemas.Role) -> str:
        return resource_path("apps", self.app_slug, "roles", role.slug)

    def open(self, role: schemas.Role) -> None:
        if self.check_action("edit", ()):
            self._role_form(role)

    def action_new(self) -> None:
        self._role_form(None)

    def action_edit(self) -> None:
        role = self.table.selected()
        if role is not None:
            self._role_form(role)

    def _role_form(self, role: schemas.Role | None) -> None:
        from pepyhat_tui.screens.role_form import RoleForm

        client = self.dashboard.client
        slug = self.app_slug

        async def open_form() -> None:
            try:
                permissions = [p async for p in all_pages(client.list_permissions, app=slug)]
            except ClientError as exc:
                self.report(exc, "Loading permissions failed")
                return
            preview = None
            if role is None:
                submit = lambda body: client.create_role(slug, body)  # noqa: E731
            else:
                submit = lambda body: client.update_role(slug, role.slug, body)  # noqa: E731
                preview = lambda body: client.update_role(slug, role.slug, body, dry_run=True)  # noqa: E731

            def saved(result) -> None:
                if result is None:
                    return
                impact = getattr(result, "impact", None)
                if impact is not None and (impact.gained or impact.lost):
                    self.notify(impact_summary(impact), title=f"Role {result.slug} saved")
                else:
                    self.notify(f"Role {result.slug} saved")
                self.changed()

            self.dashboard.push_screen(RoleForm(submit, slug, permissions, role, preview=preview), saved)

        self.run_worker(open_form(), group="form", exclusive=True)

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen

        role = self.table.selected()
        if role is None:
            return
        lines = [
            join("Role ", (f"{self.app_slug}/{role.slug}", "bold"), " (", (role.name, ""), ")."),
            f"{plural(role.member_count, 'member')} lose it and its permissions.",
        ]
        typed = role.slug if self.dashboard.target.color == "red" else None
        self.dashboard.push_screen(
            ConfirmScreen(join("Delete role ", (role.slug, ""), "?"), lines, type_to_confirm=typed),
            lambda yes: yes and self.mutate(
                lambda: self.dashboard.client.delete_role(self.app_slug, role.slug), f"Deleted role {role.slug}", self.changed
            ),
        )
