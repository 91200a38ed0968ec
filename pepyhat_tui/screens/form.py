"""Base of every create/edit modal: it submits itself and, on an error, stays open.

Bad input never loses what was typed: the service's message (or the contract's
own validation, run before sending) shows under the fields.  An edit form sends
only the fields the operator changed: a value shown escaped (a name holding a
control character, written before the service refused them) is not written
back in its escaped form unless the operator edits it.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Generic, TypeVar

from pydantic import ValidationError
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.text import join, literal, printable
from pepyhat_tui.widgets.text_input import TextInput

T = TypeVar("T")


def first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    message = err.get("msg", "invalid").removeprefix("Value error, ")
    return f"{field}: {message}" if field else message


class FormScreen(UsesDashboard, ModalScreen[T | None], Generic[T]):
    BINDINGS = bindings("form.cancel", "form.save")

    def __init__(self, title: Text | str, submit: Callable[[Any], Awaitable[T]], save_label: str = "Save") -> None:
        super().__init__()
        self.heading = title if isinstance(title, Text) else literal(title)
        self._submit = submit
        self.save_label = save_label
        self._initial: dict[str, str] = {}

    def fields(self) -> ComposeResult:
        raise NotImplementedError
        yield

    def build(self) -> Any:
        """The request body from the fields; raise ValidationError/ValueError on bad input."""
        raise NotImplementedError

    # -- fields -----------------------------------------------------------------

    def text_field(self, id: str, value: str | None = None, **kwargs: Any) -> TextInput:
        """An input showing ``value`` (service text, escaped); ``changed`` compares against it."""
        shown = printable(value) if value is not None else ""
        self._initial[id] = shown
        return TextInput(shown, id=id, **kwargs)

    def value(self, id: str) -> str:
        return self.query_one(f"#{id}", Input).value.strip()

    def changed(self, *ids: str) -> dict[str, str]:
        """The named fields whose value the operator changed (for a PATCH)."""
        return {i: self.value(i) for i in ids if self.value(i) != self._initial.get(i, "").strip()}

    # -- layout and sending -------------------------------------------------------

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
        # Messages quote what was typed and patterns such as `[a-z0-9]`: shown literally.
        self.query_one("#form-error", Static).update(join("✗ ", (message, "")))

    def refused(self, error: ClientError) -> None:
        """The service said no: a form that knows its fields puts the words on the field concerned."""
        self.show_error(error.message)

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
        watcher = self.dashboard.watcher
        if not watcher.online:  # what was typed stays; saving again once it answers sends it
            why = watcher.reason.message if watcher.reason else "the service is not answering"
            self.show_error(f"not sent: {why}; your entries are kept, save again once it answers")
            return
        save = self.query_one("#save", Button)
        save.disabled = True
        try:
            result = await self._submit(body)
        except ClientError as exc:
            self.refused(exc)
            self.notify(exc.message, title=f"Not saved ({exc.code})", severity="error")
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
