"""Create or edit an app."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field


class AppForm(FormScreen):
    def __init__(self, submit, app: schemas.App | None = None) -> None:
        super().__init__(f"Edit app {app.slug}" if app else "New app", submit, "Save" if app else "Create")
        self.existing = app

    def fields(self) -> ComposeResult:
        app = self.existing
        yield from field("Slug", Input(app.slug if app else "", id="slug", placeholder="crm", disabled=app is not None))
        yield from field("Name", Input(app.name if app else "", id="name", placeholder="CRM"))
        yield from field("Description", Input(app.description if app else "", id="description"))

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#slug", Input).focus()

    def build(self):
        name = self.query_one("#name", Input).value.strip()
        description = self.query_one("#description", Input).value.strip()
        if self.existing:
            return schemas.AppUpdate(name=name, description=description)
        return schemas.AppCreate(slug=self.query_one("#slug", Input).value.strip(), name=name, description=description)
