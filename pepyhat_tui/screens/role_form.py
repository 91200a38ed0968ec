"""Create or edit a role, picking its permissions from the app's."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import SelectionList

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join


class RoleForm(FormScreen):
    def __init__(self, submit, app: str, permissions: list[schemas.Permission], role: schemas.Role | None = None) -> None:
        title = join("Edit role ", (f"{app}/{role.slug}", "")) if role else join("New role in ", (app, ""))
        super().__init__(title, submit, "Save" if role else "Create")
        self.existing = role
        self.permissions = permissions

    def fields(self) -> ComposeResult:
        role = self.existing
        held = set(role.permissions) if role else set()
        yield from field("Slug", self.text_field("slug", role.slug if role else None, placeholder="viewer", disabled=role is not None))
        yield from field("Name", self.text_field("name", role.name if role else None, placeholder="Viewer"))
        yield from field("Description", self.text_field("description", role.description if role else None))
        picker = SelectionList[str](
            *[(join((p.slug, ""), "  ", (p.description, "dim")), p.slug, p.slug in held) for p in self.permissions],
            id="permissions",
        )
        picker.border_title = "Permissions (space toggles)"
        yield picker

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#slug").focus()

    def build(self):
        chosen = sorted(self.query_one("#permissions", SelectionList).selected)
        if self.existing:
            return schemas.RoleUpdate(**self.changed("name", "description"), permissions=chosen)
        return schemas.RoleCreate(
            slug=self.value("slug"), name=self.value("name"), description=self.value("description"), permissions=chosen
        )
