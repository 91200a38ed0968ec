"""Create or edit a role, picking its permissions from the app's.

Editing shows, before the save, what the role's members would gain and lose
(the service's dry run of the same PATCH): the counts the save then reports.
"""

from __future__ import annotations

from typing import Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.timer import Timer
from textual.widgets import SelectionList, Static

from pepyhat import schemas
from pepyhat_tui.client import ClientError
from pepyhat_tui.formatting import impact_summary
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join

PREVIEW_DEBOUNCE = 0.25

Preview = Callable[[schemas.RoleUpdate], Awaitable[schemas.RoleUpdated]]


class RoleForm(FormScreen):
    DEFAULT_CSS = """
    RoleForm #impact {
        height: auto;
        color: $warning;
    }
    """

    def __init__(
        self, submit, app: str, permissions: list[schemas.Permission], role: schemas.Role | None = None,
        *, preview: Preview | None = None,
    ) -> None:
        title = join("Edit role ", (f"{app}/{role.slug}", "")) if role else join("New role in ", (app, ""))
        super().__init__(title, submit, "Save" if role else "Create")
        self.existing = role
        self.permissions = permissions
        self.preview = preview if role else None
        self.impact: schemas.RoleImpact | None = None  # the last preview's answer
        self._debounce: Timer | None = None

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
        if self.preview is not None:
            yield Static("", id="impact")

    def on_mount(self) -> None:
        self.query_one("#name" if self.existing else "#slug").focus()

    def chosen(self) -> list[str]:
        return sorted(self.query_one("#permissions", SelectionList).selected)

    @on(SelectionList.SelectedChanged, "#permissions")
    def _permissions_changed(self) -> None:
        if self.preview is None:
            return
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(PREVIEW_DEBOUNCE, self._ask_preview)

    def _ask_preview(self) -> None:
        self.run_worker(self._preview(self.chosen()), group="preview", exclusive=True)

    async def _preview(self, permissions: list[str]) -> None:
        line = self.query_one("#impact", Static)
        if set(permissions) == set(self.existing.permissions):
            self.impact = None
            line.update("")
            return
        try:
            answer = await self.preview(schemas.RoleUpdate(permissions=permissions))
        except ClientError as exc:
            line.update(join("Cannot preview: ", (exc.message, "")))
            return
        self.impact = answer.impact
        line.update(join("If saved: ", (impact_summary(answer.impact), "")))

    def build(self):
        chosen = self.chosen()
        if self.existing:
            return schemas.RoleUpdate(**self.changed("name", "description"), permissions=chosen)
        return schemas.RoleCreate(
            slug=self.value("slug"), name=self.value("name"), description=self.value("description"), permissions=chosen
        )
