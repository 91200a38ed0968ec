"""Revoke one key or several: the dialog names each, asks why, Cancel has the focus.

It answers the reason typed ("" for none), or None when cancelled.  Several
keys at once, and any revoke on a profile coloured red, need the target typed:
the app's slug for the keys of one app, the key's name for one key.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.widgets import Input

from pepyhat import schemas
from pepyhat_tui.formatting import relative
from pepyhat_tui.screens.confirm import ConfirmScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.text_input import TextInput

LISTED = 8  # keys named one by one in a bulk revoke; the rest are counted


def describe(key: schemas.Key, now: datetime) -> Text:
    """Name, kind, app, start, last use and creator: what tells one key from another."""
    kind = "app key" if key.kind == "app" else "admin token"
    used = relative(key.last_used_at, now)
    where = f" from {key.last_used_from}" if getattr(key, "last_used_from", None) else ""
    return join(
        (key.name, "bold"), f" ({kind}", *((" of ", (key.app, "")) if key.app else ()), ") ",
        (key.start + "…", ""), f"\n  last used {used}", (where, ""), ", created by ", (key.created_by, ""),
    )


class RevokeScreen(ConfirmScreen):
    def __init__(self, keys: list[schemas.Key], now: datetime, *, type_to_confirm: str | None = None) -> None:
        if len(keys) == 1:
            title = join("Revoke ", (keys[0].name, ""), "?")
        else:
            title = Text(f"Revoke {plural(len(keys), 'key')}?")
        lines: list[Text | str] = [describe(key, now) for key in keys[:LISTED]]
        if len(keys) > LISTED:
            lines.append(f"… and {plural(len(keys) - LISTED, 'more key')}")
        lines.append("Every node refuses it from the next request on. This cannot be undone.")
        super().__init__(title, lines, confirm_label="Revoke", type_to_confirm=type_to_confirm)

    def on_mount(self) -> None:
        dialog = self.query_one("#dialog")
        reason = TextInput(id="reason", placeholder="reason, for the record (optional): leaked in a CI log")
        dialog.mount(reason, before=dialog.query_one(".dialog-buttons"))
        super().on_mount()

    @on(Input.Submitted, "#reason")
    def _reason_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        if self.type_to_confirm and self.query_one("#typed", TextInput).value != self.type_to_confirm:
            return
        self.dismiss(self.query_one("#reason", TextInput).value.strip())  # type: ignore[arg-type]

    def action_cancel(self) -> None:
        self.dismiss(None)  # type: ignore[arg-type]

    def action_no(self) -> None:
        self.dismiss(None)  # type: ignore[arg-type]
