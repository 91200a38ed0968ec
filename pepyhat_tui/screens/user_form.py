"""Create or edit a user."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input

from pepyhat import schemas
from pepyhat_tui.screens.form import FormScreen, field


class UserForm(FormScreen):
    def __init__(self, submit, user: schemas.User | None = None) -> None:
        super().__init__(f"Edit user {user.email}" if user else "New user", submit, "Save" if user else "Create")
        self.existing = user

    def fields(self) -> ComposeResult:
        user = self.existing
        yield from field("Email", Input(user.email if user else "", id="email", placeholder="alice@example.com", disabled=user is not None))
        yield from field("Name", Input(user.name if user else "", id="name", placeholder="Alice Anderson"))
        yield Checkbox("Active", value=user.active if user else True, id="active")

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#email", Input).focus()

    def build(self):
        name = self.query_one("#name", Input).value.strip()
        active = self.query_one("#active", Checkbox).value
        if self.existing:
            return schemas.UserUpdate(name=name, active=active)
        return schemas.UserCreate(email=self.query_one("#email", Input).value.strip(), name=name, active=active)
