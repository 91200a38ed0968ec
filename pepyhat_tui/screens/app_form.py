"""Create or edit an app."""

from __future__ import annotations

from textual.app import ComposeResult

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join


class AppForm(FormScreen):
    def __init__(self, submit, app: schemas.App | None = None) -> None:
        title = join("Edit app ", (app.slug, "")) if app else "New app"
        super().__init__(title, submit, "Save" if app else "Create")
        self.existing = app

    def fields(self) -> ComposeResult:
        app = self.existing
        yield from field("Slug", self.text_field("slug", app.slug if app else None, placeholder="crm", disabled=app is not None))
        yield from field("Name", self.text_field("name", app.name if app else None, placeholder="CRM"))
        yield from field("Description", self.text_field("description", app.description if app else None))

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#slug").focus()

    def build(self):
        if self.existing:
            return schemas.AppUpdate(**self.changed("name", "description"))
        return schemas.AppCreate(slug=self.value("slug"), name=self.value("name"), description=self.value("description"))
