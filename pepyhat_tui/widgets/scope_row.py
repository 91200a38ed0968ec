"""One row of the scope editor: a path pattern, its operations, and a note under them.

The note says what is wrong with the row, that the operator's token does not
cover it, or which real resources it matches; the editor decides which.
"""

from __future__ import annotations

from typing import Iterable

from pydantic import ValidationError
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Static

from pepyhat import schemas, scopes
from pepyhat_tui.text import printable
from pepyhat_tui.widgets.text_input import TextInput

OPERATIONS = ("read", "write", "delete")
ALL = scopes.ALL_OPERATIONS


def scope_error(path: str, operations: list[str]) -> str | None:
    """What is wrong with a row, in words (the contract's own rule, not its regex)."""
    if not path:
        return "enter a path, such as apps/crm/authz/**"
    if not operations:
        return "choose at least one operation"
    try:
        schemas.Scope(path=path, operations=operations)
    except ValidationError as exc:
        return exc.errors()[0]["msg"].removeprefix("Value error, ")
    return None


def partial_wildcard(path: str) -> str | None:
    """A segment such as ``cr*``: a literal, though it reads like a wildcard (``*`` and ``**`` are whole segments)."""
    return next((seg for seg in path.split("/") if "*" in seg and seg not in ("*", "**")), None)


def beyond(own: Iterable[schemas.Scope], path: str, operations: list[str]) -> bool:
    """Would the service refuse this row as escalation?  The same test it runs (covers and ops_cover)."""
    return not any(scopes.covers(mine.path, path) and scopes.ops_cover(mine.operations, operations) for mine in own)


class ScopeRow(Vertical):
    DEFAULT_CSS = """
    ScopeRow {
        height: auto;
        margin-bottom: 1;
    }
    ScopeRow > Horizontal {
        height: 1;
    }
    ScopeRow .scope-ops Checkbox {
        margin-left: 0;
        margin-right: 2;
    }
    ScopeRow Input {
        width: 1fr;
    }
    ScopeRow Checkbox {
        width: auto;
        margin-left: 1;
    }
    ScopeRow Button {
        min-width: 3;
        width: 3;
        margin-left: 1;
    }
    ScopeRow .scope-note {
        color: $text-muted;
        height: 1;
        padding-left: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ScopeRow.-error .scope-note {
        color: $error;
    }
    ScopeRow.-beyond .scope-note {
        color: $warning;
    }
    """

    class Ready(Message):
        """The row is composed: its fields exist, so it can be checked."""

        def __init__(self, row: "ScopeRow") -> None:
            super().__init__()
            self.row = row

    def __init__(self, scope: schemas.Scope | None = None) -> None:
        super().__init__()
        self._initial = scope

    def on_mount(self) -> None:
        # Children are mounted before their parent's Mount: the fields exist now, not at mount().
        self.post_message(self.Ready(self))

    def compose(self) -> ComposeResult:
        scope = self._initial
        held = set(scope.operations) if scope else {"read"}
        with Horizontal():
            shown = printable(scope.path) if scope else ""
            yield TextInput(shown, placeholder="a path such as apps/crm/authz/**", compact=True, classes="scope-path")
            yield Button("↑", compact=True, name="up", tooltip="Move up (ctrl+up)")
            yield Button("↓", compact=True, name="down", tooltip="Move down (ctrl+down)")
            yield Button("✕", compact=True, name="remove", tooltip="Remove (ctrl+delete)")
        with Horizontal(classes="scope-ops"):
            for op in OPERATIONS:
                yield Checkbox(op, ALL in held or op in held, compact=True, name=op, classes="scope-op")
            yield Checkbox("all (*)", ALL in held, compact=True, name=ALL, classes="scope-op")
        yield Static("", classes="scope-note")

    @property
    def path(self) -> str:
        field = self.query(".scope-path").results(Input)
        if not self.is_mounted or not (found := list(field)):  # not composed yet: what it will show
            return self._initial.path if self._initial else ""
        typed = found[0].value.strip()
        # A stored path shown escaped (it holds a control character) is not sent back escaped.
        if self._initial is not None and typed == printable(self._initial.path).strip():
            return self._initial.path
        return typed

    @property
    def operations(self) -> list[str]:
        boxes = list(self.query(".scope-op").results(Checkbox))
        if not boxes:  # not composed yet
            return list(self._initial.operations) if self._initial else ["read"]
        checked = {box.name for box in boxes if box.value}
        # "all" is `*`, which also covers operations added later: more than the three ticked.
        return [ALL] if ALL in checked else sorted(checked)

    def note(self, text: Text | str, state: str = "") -> None:
        self.set_class(state == "error", "-error")
        self.set_class(state == "beyond", "-beyond")
        for line in self.query(".scope-note").results(Static):  # (none while being removed)
            line.update(text)

    def focus_path(self) -> None:
        self.query_one(".scope-path", Input).focus()
