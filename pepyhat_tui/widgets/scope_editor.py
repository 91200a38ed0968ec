"""The scope editor: which resources a key may touch, row by row, checked as you type.

Each row is a path pattern and its operations.  Under it, the row says what is
wrong with it (a bad path, no operation), or that the operator's own token does
not cover it (``pepyhat.scopes.covers``, the rule the service applies: the save
would be refused), and otherwise lists real resources of this organisation it
matches, asked of the service as the pattern changes.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Awaitable, Callable, Iterable

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Input, Select

from pepyhat import paths, schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.text import join, literal, printable
from pepyhat_tui.widgets.scope_row import ALL, ScopeRow, beyond, partial_wildcard, scope_error

EXAMPLES_DEBOUNCE = 0.25
Examples = Callable[[str], Awaitable[tuple[list[str], bool]]]


def presets(app: str | None, apps: Iterable[str]) -> dict[str, list[schemas.Scope]]:
    """Label -> rows: the three shapes of key operators mint most."""
    out: dict[str, list[schemas.Scope]] = {}
    # A slug that cannot be a path segment (stored before the service refused such text) offers no preset.
    with suppress(ValidationError):
        if app:
            out[f"authz of {printable(app)} (an app key's default)"] = schemas.app_key_scopes(app)
    out["read everything"] = [schemas.Scope(path="**", operations=["read"])]
    for slug in apps:
        with suppress(ValidationError):
            out[f"delegated admin of {printable(slug)}"] = [schemas.Scope(path=paths.app(slug) + "/**", operations=[ALL])]
    return out


class ScopeEditor(Vertical):
    """Rows of path + operations; ``scopes()`` is the list, or a ValueError naming the first bad row."""

    DEFAULT_CSS = """
    ScopeEditor {
        height: auto;
        border: round $primary;
        padding: 0 1;
    }
    ScopeEditor #scope-rows {
        height: auto;
    }
    ScopeEditor #scope-tools {
        height: 1;
    }
    ScopeEditor #scope-tools Button {
        margin-right: 1;
    }
    ScopeEditor #scope-presets {
        width: 1fr;
    }
    """
    BINDINGS = bindings("scopes.add", "scopes.remove", "scopes.up", "scopes.down")

    class Changed(Message):
        """A row was added, removed, moved or edited."""

    def __init__(
        self,
        initial: list[schemas.Scope],
        *,
        own: list[schemas.Scope],
        examples: Examples | None = None,
        preset_choices: dict[str, list[schemas.Scope]] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._initial = list(initial)
        self.own = own
        self._examples = examples
        self._presets = preset_choices or {}
        self._example_timers: dict[int, Timer] = {}
        self._baseline = [(scope.path, list(scope.operations)) for scope in initial]
        self._replaced = False  # rows added, removed, moved or set from a preset
        self.border_title = "Scopes"

    def compose(self) -> ComposeResult:
        with Vertical(id="scope-rows"):
            for scope in self._initial:
                yield ScopeRow(scope)
        with Horizontal(id="scope-tools"):
            yield Button("+ row", compact=True, id="scope-add", tooltip="Add a row (ctrl+n)")
            yield Select[str](
                [(label, label) for label in self._presets], prompt="preset…", compact=True, id="scope-presets"
            )

    @on(ScopeRow.Ready)
    def _row_ready(self, event: ScopeRow.Ready) -> None:
        event.stop()
        if event.row.is_attached:
            self._check(event.row)

    @property
    def rows(self) -> list[ScopeRow]:
        return list(self.query_one("#scope-rows").query_children(ScopeRow).results(ScopeRow))

    def scopes(self) -> list[schemas.Scope]:
        out = []
        for index, row in enumerate(self.rows, 1):
            problem = scope_error(row.path, row.operations)
            if problem:
                raise ValueError(f"scope {index}: {problem}")
            out.append(schemas.Scope(path=row.path, operations=row.operations))
        return out

    @property
    def touched(self) -> bool:
        """Did the operator change the rows?  Untouched, the form lets the service apply its default."""
        return self._replaced or [(row.path, row.operations) for row in self.rows] != self._baseline

    def set_scopes(self, new: list[schemas.Scope], *, touched: bool = True) -> None:
        """Replace the rows: the operator's choice (a preset), or a new default (``touched=False``)."""
        self._replaced = touched
        if not touched:
            self._baseline = [(scope.path, list(scope.operations)) for scope in new]
        container = self.query_one("#scope-rows")
        container.remove_children()
        container.mount_all([ScopeRow(scope) for scope in new])  # each checks itself when ready

    def set_presets(self, choices: dict[str, list[schemas.Scope]]) -> None:
        self._presets = dict(choices)
        self.query_one("#scope-presets", Select).set_options([(label, label) for label in self._presets])

    def mark_refused(self, refused: list[dict]) -> None:
        """The service refused these rows (escalation_denied): say so on each."""
        wanted = {(r.get("path"), tuple(sorted(r.get("operations", ())))) for r in refused}
        for row in self.rows:
            if (row.path, tuple(row.operations)) in wanted:
                row.note("✗ refused: your token does not cover this path with these operations", "beyond")

    # -- checking -------------------------------------------------------------

    def _check(self, row: ScopeRow) -> None:
        path, operations = row.path, row.operations
        problem = scope_error(path, operations)
        if problem:
            row.note(join("✗ ", (problem, "")), "error")
            return
        if beyond(self.own, path, operations):
            row.note("⚠ beyond your token: saving this row will be refused", "beyond")
            return
        partial = partial_wildcard(path)
        row.note(join((partial, "bold"), " is a literal: a wildcard is a whole segment, * or **") if partial else "")
        if self._examples is not None:
            timer = self._example_timers.pop(id(row), None)
            if timer is not None:
                timer.stop()
            self._example_timers[id(row)] = self.set_timer(EXAMPLES_DEBOUNCE, lambda: self._show_examples(row, path))

    @work(group="scope-examples")
    async def _show_examples(self, row: ScopeRow, path: str) -> None:
        assert self._examples is not None
        try:
            found, more = await self._examples(path)
        except ClientError as exc:
            if row.is_attached and row.path == path:
                row.note(join("examples unavailable: ", (exc.message, "")))
            return
        if not row.is_attached or row.path != path:
            return  # typed on meanwhile: a newer check is on its way
        if not found:
            if partial_wildcard(path) is None:  # (else the literal's hint stays)
                row.note("matches nothing your token can see in this organisation")
            return
        shown = Text("matches ", end="")
        shown.append_text(Text(", ").join(literal(p) for p in found))
        if more:
            shown.append(", …")
        row.note(shown)

    def _edited(self, row: ScopeRow) -> None:
        self._check(row)
        self.post_message(self.Changed())

    @on(Input.Changed, ".scope-path")
    def _path_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._edited(self._row_of(event.control))

    @on(Input.Submitted, ".scope-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        event.stop()  # enter in a path is not "save the form"

    @on(Checkbox.Changed, ".scope-op")
    def _op_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        row = self._row_of(event.control)
        if event.checkbox.name == ALL and event.value:
            with self.prevent(Checkbox.Changed):
                for box in row.query(".scope-op").results(Checkbox):
                    box.value = True
        elif event.checkbox.name != ALL and not event.value:
            with self.prevent(Checkbox.Changed):
                for box in row.query(".scope-op").results(Checkbox):
                    if box.name == ALL:
                        box.value = False
        self._edited(row)

    @on(Button.Pressed, "ScopeRow Button")
    def _row_button(self, event: Button.Pressed) -> None:
        event.stop()
        row = self._row_of(event.button)
        {"up": lambda: self._move(row, -1), "down": lambda: self._move(row, 1), "remove": lambda: self._remove(row)}[
            event.button.name or ""
        ]()

    @on(Button.Pressed, "#scope-add")
    def action_add_row(self) -> None:
        row = ScopeRow()
        self.query_one("#scope-rows").mount(row)
        self._replaced = True
        self.call_after_refresh(row.focus_path)
        self.post_message(self.Changed())

    @on(Select.Changed, "#scope-presets")
    def _preset(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, str) and event.value in self._presets:
            self.set_scopes(self._presets[event.value])
            self.post_message(self.Changed())

    # -- moving rows ----------------------------------------------------------

    def _focused_row(self) -> ScopeRow | None:
        node = self.screen.focused
        while node is not None and not isinstance(node, ScopeRow):
            node = node.parent  # type: ignore[assignment]
        return node if isinstance(node, ScopeRow) and node in self.rows else None

    def _row_of(self, widget) -> ScopeRow:
        node = widget
        while not isinstance(node, ScopeRow):
            node = node.parent
        return node

    def _move(self, row: ScopeRow, step: int) -> None:
        rows = self.rows
        index = rows.index(row) + step
        if not 0 <= index < len(rows):
            return
        container = self.query_one("#scope-rows")
        if step < 0:
            container.move_child(row, before=rows[index])
        else:
            container.move_child(row, after=rows[index])
        self._replaced = True
        self.post_message(self.Changed())

    def _remove(self, row: ScopeRow) -> None:
        rows = self.rows
        index = rows.index(row)
        row.remove()
        self._replaced = True
        rest = [r for r in rows if r is not row]
        if rest:
            self.call_after_refresh(rest[min(index, len(rest) - 1)].focus_path)
        self.post_message(self.Changed())

    def action_remove_row(self) -> None:
        row = self._focused_row()
        if row is not None:
            self._remove(row)

    def action_move_up(self) -> None:
        row = self._focused_row()
        if row is not None:
            self._move(row, -1)

    def action_move_down(self) -> None:
        row = self._focused_row()
        if row is not None:
            self._move(row, 1)
