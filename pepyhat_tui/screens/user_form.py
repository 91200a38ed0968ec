"""Create or edit a user."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join


class UserForm(FormScreen):
    def __init__(self, submit, user: schemas.User | None = None) -> None:
        title = join("Edit user ", (user.email, "")) if user else "New user"
        super().__init__(title, submit, "Save" if user else "Create")
        self.existing = user

    def fields(self) -> ComposeResult:
        user = self.existing
        yield from field("Email", self.text_field(
            "email", user.email if user else None, placeholder="alice@example.com", disabled=user is not None
        ))
        yield from field("Name", self.text_field("name", user.name if user else None, placeholder="Alice Anderson"))
        yield Checkbox("Active", value=user.active if user else True, id="active")

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#email").focus()

    def build(self):
        active = self.query_one("#active", Checkbox).value
        if self.existing:
            changes: dict = self.changed("name")
            if active != self.existing.active:
                changes["active"] = active
            return schemas.UserUpdate(**changes)
        return schemas.UserCreate(email=self.value("email"), name=self.value("name"), active=active)
