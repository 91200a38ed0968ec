"""Create or edit a role, picking its permissions from the app's."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, SelectionList

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field


class RoleForm(FormScreen):
    def __init__(self, submit, app: str, permissions: list[schemas.Permission], role: schemas.Role | None = None) -> None:
        title = f"Edit role {app}/{role.slug}" if role else f"New role in {app}"
        super().__init__(title, submit, "Save" if role else "Create")
        self.existing = role
        self.permissions = permissions

    def fields(self) -> ComposeResult:
        role = self.existing
        held = set(role.permissions) if role else set()
        yield from field("Slug", Input(role.slug if role else "", id="slug", placeholder="viewer", disabled=role is not None))
        yield from field("Name", Input(role.name if role else "", id="name", placeholder="Viewer"))
        yield from field("Description", Input(role.description if role else "", id="description"))
        picker = SelectionList[str](
            *[(f"{p.slug}  [dim]{p.description}[/dim]", p.slug, p.slug in held) for p in self.permissions],
            id="permissions",
        )
        picker.border_title = "Permissions (space toggles)"
        yield picker

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#slug", Input).focus()

    def build(self):
        name = self.query_one("#name", Input).value.strip()
        description = self.query_one("#description", Input).value.strip()
        chosen = sorted(self.query_one("#permissions", SelectionList).selected)
        if self.existing:
            return schemas.RoleUpdate(name=name, description=description, permissions=chosen)
        return schemas.RoleCreate(
            slug=self.query_one("#slug", Input).value.strip(), name=name, description=description, permissions=chosen
        )
