"""Base of every create/edit modal: it submits itself and, on an error, stays open.

Bad input never loses what was typed: the service's message (or the contract's
own validation, run before sending) shows under the fields.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Generic, TypeVar

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from pepyhat_tui.client import ClientError

T = TypeVar("T")


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    message = err.get("msg", "invalid").removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


class FormScreen(ModalScreen[T | None], Generic[T]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form-cancel"),
        Binding("ctrl+s", "save", "Save", id="form-save"),
    ]

    def __init__(self, title: str, submit: Callable[[Any], Awaitable[T]], save_label: str = "Save") -> None:
        super().__init__()
        self.heading = title
        self._submit = submit
        self.save_label = save_label

    def fields(self) -> ComposeResult:
        raise NotImplementedError
        yield

    def build(self) -> Any:
        """The request body from the fields; raise ValidationError/ValueError on bad input."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        # Not a focus stop itself: the first field gets the focus the moment the form opens,
        # so keys typed right away land in it (fields scroll into view as they take focus).
        with VerticalScroll(id="dialog", classes="dialog form", can_focus=False):
            yield Static(self.heading, classes="dialog-title")
            yield from self.fields()
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.save_label, id="save", variant="primary")

    def show_error(self, message: str) -> None:
        # Messages quote patterns such as `[a-z0-9]`: shown as text, never read as markup.
        self.query_one("#form-error", Static).update(f"✗ {escape(message)}")

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def action_save(self) -> None:
        try:
            body = self.build()
        except ValidationError as exc:
            self.show_error(first_error(exc))
            return
        except ValueError as exc:
            self.show_error(str(exc))
            return
        self._send(body)

    @work(exclusive=True, group="form")
    async def _send(self, body: Any) -> None:
        save = self.query_one("#save", Button)
        save.disabled = True
        try:
            result = await self._submit(body)
        except ClientError as exc:
            self.show_error(exc.message)
            self.notify(exc.message, title=f"Not saved ({exc.code})", severity="error", markup=False)
            return
        finally:
            save.disabled = False
        self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def field(label: str, widget) -> ComposeResult:
    yield Static(label, classes="form-label")
    yield widget
