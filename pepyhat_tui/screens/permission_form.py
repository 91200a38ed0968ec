"""Create a permission in an app."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field


class PermissionForm(FormScreen):
    def __init__(self, submit, app: str) -> None:
        super().__init__(f"New permission in {app}", submit, "Create")

    def fields(self) -> ComposeResult:
        yield from field("Slug", Input(id="slug", placeholder="users.read"))
        yield from field("Description", Input(id="description"))

    def on_mount(self) -> None:
        self.query_one("#slug", Input).focus()

    def build(self):
        return schemas.PermissionCreate(
            slug=self.query_one("#slug", Input).value.strip(),
            description=self.query_one("#description", Input).value.strip(),
        )
