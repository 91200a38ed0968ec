"""A key's plaintext, shown once: large, selectable, copyable, and gone when closed.

The modal takes the plaintext out of the ``Minted`` it is given, so from then
on only this screen refers to it; closing wipes the widget and the attribute
before the screen leaves the stack.  It closes only on "I have stored it":
escape warns first that the key cannot be shown again.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from pepyhat import schemas
from pepyhat_tui import clipboard
from pepyhat_tui.actions import bindings
from pepyhat_tui.formatting import kind_label, relative
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.minted import Minted
from pepyhat_tui.text import join

WARNING = "This key cannot be shown again. Copy it (c) or select it, then choose “I have stored it”."


def usage(key: schemas.Key) -> Text:
    if key.kind == "app":
        return join("Apps send it in the ", ("X-API-Key", "bold"), " header: ", ("X-API-Key: <the key>", "italic"),
                    "\non GET /api/v1/authz/{email}?app=", (key.app or "", ""))
    return join("Admin clients send it as ", ("Authorization: Bearer <the key>", "italic"), " on /api/v1 calls.")


class ShownOnceScreen(UsesDashboard, ModalScreen[schemas.Key]):
    DEFAULT_CSS = """
    ShownOnceScreen #plaintext {
        border: heavy $success;
        padding: 1 1;
        text-style: bold;
        color: $text;
        background: $boost;
        width: 100%;
        text-align: center;
    }
    ShownOnceScreen #copied {
        color: $text-muted;
        padding-bottom: 1;
    }
    ShownOnceScreen #warning {
        color: $warning;
        text-style: bold;
        padding-bottom: 1;
        display: none;
    }
    ShownOnceScreen #warning.-shown {
        display: block;
    }
    """
    BINDINGS = bindings("shown.copy", "shown.escape")

    def __init__(self, minted: Minted, heading: str = "New key") -> None:
        super().__init__()
        self.key_record = minted.key
        self.previous = minted.previous
        self.heading = heading
        self._plaintext: str | None = minted.take()

    def compose(self) -> ComposeResult:
        key = self.key_record
        kind = kind_label(key)
        with Vertical(id="dialog", classes="dialog"):
            yield Static(join(f"{self.heading}: {kind} ", (key.name, "bold"), *((" of ", (key.app, "")) if key.app else ()),
                              " — shown once"), classes="dialog-title")
            yield Static(self._plaintext or "", id="plaintext")
            yield Static("Press c to copy it, or select it with the mouse.", id="copied")
            yield Static(usage(key), classes="dialog-line")
            if self.previous is not None:
                yield Static(self.predecessor(self.previous), classes="dialog-line")
            yield Static(WARNING, id="warning")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Copy (c)", id="copy")
                yield Button("I have stored it", id="stored", variant="primary")

    def predecessor(self, previous: schemas.Key) -> Text:
        if previous.status == "active":
            when = relative(previous.expires_at, self.dashboard.now(), never="never")
            fate = f" stops working {when}: move its clients over before then."
        else:
            fate = " no longer works."
        return join("The old key ", (previous.start + "…", "bold"), fate)

    def on_mount(self) -> None:
        # Not on "I have stored it": an enter meant for something else must not lose the key.
        self.query_one("#copy", Button).focus()

    @on(Button.Pressed, "#copy")
    def action_copy(self) -> None:
        if self._plaintext is None:
            return
        result = clipboard.copy(self.app, self._plaintext)
        self.query_one("#copied", Static).update(result.message)

    def action_warn(self) -> None:
        self.query_one("#warning", Static).add_class("-shown")
        self.query_one("#stored", Button).focus()

    @on(Button.Pressed, "#stored")
    def stored(self) -> None:
        # Forget it before leaving: the widget's content and our reference both.
        self._plaintext = None
        self.query_one("#plaintext", Static).update("")
        self.dismiss(self.key_record)
