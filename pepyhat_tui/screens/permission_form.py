"""Create a permission in an app."""

from __future__ import annotations

from textual.app import ComposeResult

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join


class PermissionForm(FormScreen):
    def __init__(self, submit, app: str) -> None:
        super().__init__(join("New permission in ", (app, "")), submit, "Create")

    def fields(self) -> ComposeResult:
        yield from field("Slug", self.text_field("slug", placeholder="users.read"))
        yield from field("Description", self.text_field("description"))

    def on_mount(self) -> None:
        self.query_one("#slug").focus()

    def build(self):
        return schemas.PermissionCreate(slug=self.value("slug"), description=self.value("description"))
