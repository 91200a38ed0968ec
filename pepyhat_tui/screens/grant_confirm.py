"""Grant one role to one user in one app: the dialog names all three, and takes an expiry.

It answers ``(True, expires_at)`` to grant (``expires_at`` None: no end), or None when
cancelled.  Granting destroys nothing, so ``y`` answers at once; the expiry field
takes ``30d``, ``12h`` or a date, as the grant form does.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.containers import Horizontal
from textual.widgets import Input, Static

from pepyhat_tui.screens.confirm import ConfirmScreen
from pepyhat_tui.screens.grant_form import parse_expiry
from pepyhat_tui.text import join
from pepyhat_tui.widgets.text_input import TextInput


class GrantConfirmScreen(ConfirmScreen):
    DEFAULT_CSS = """
    GrantConfirmScreen #dialog {
        border: thick $primary;
    }
    GrantConfirmScreen #expiry-row {
        height: 1;
    }
    GrantConfirmScreen #expiry-row > Static {
        width: 9;
    }
    GrantConfirmScreen #expires {
        width: 1fr;
    }
    """

    def __init__(self, email: str, role: str, app: str, now: datetime, permissions: list[str]) -> None:
        lines: list[Text | str] = [
            join((email, "bold"), " gets role ", (role, "bold"), " in ", (app, "bold"), "."),
            join("It gives: ", (", ".join(permissions) or "no permission yet", "")),
        ]
        super().__init__(join("Grant ", (role, ""), " to ", (email, ""), "?"), lines, confirm_label="Grant")
        self.now = now

    def typing_target(self) -> Input | None:
        return self.query_one("#expires", Input)  # an expiry typed at once lands in its field (y still answers)

    def on_mount(self) -> None:
        dialog = self.query_one("#dialog")
        field = TextInput(id="expires", placeholder="optional: 30d, 12h or 2027-01-31", compact=True, select_on_focus=False)
        dialog.mount(
            Horizontal(Static("Expires  ", classes="form-label"), field, id="expiry-row"),
            Static("", id="expiry-error", classes="form-error"),
            before=dialog.query_one(".dialog-buttons"),
        )

    @on(Input.Submitted, "#expires")
    def _expiry_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        try:
            expires_at = parse_expiry(self.query_one("#expires", Input).value, self.now)
        except ValueError as exc:
            self.query_one("#expiry-error", Static).update(join("✗ ", (str(exc), "")))
            return
        if expires_at is not None and expires_at <= self.now:
            self.query_one("#expiry-error", Static).update("✗ that moment has passed: an expiry is in the future")
            return
        self.dismiss((True, expires_at))  # type: ignore[arg-type]

    def action_cancel(self) -> None:
        self.dismiss(None)  # type: ignore[arg-type]

    def action_no(self) -> None:
        self.dismiss(None)  # type: ignore[arg-type]
