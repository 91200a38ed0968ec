"""Revoke one key or several: the dialog names each, asks why, Cancel has the focus.

It answers the reason typed ("" for none), or None when cancelled.  Several
keys at once, and any revoke on a profile coloured red, need the target typed:
the app's slug for the keys of one app, the key's name for one key.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.containers import Horizontal
from textual.widgets import Input, Static

from pepyhat import schemas
from pepyhat_tui.formatting import kind_label, relative
from pepyhat_tui.screens.confirm import ConfirmScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.text_input import TextInput

LISTED = 5  # keys named one by one in a bulk revoke (a line each, to fit 80x24); the rest are counted


def describe(key: schemas.Key, now: datetime) -> Text:
    """Name, kind, app, start, last use and creator: what tells one key from another."""
    kind = kind_label(key)
    used = relative(key.last_used_at, now)
    where = f" from {key.last_used_from}" if getattr(key, "last_used_from", None) else ""
    return join(
        (key.name, "bold"), f" ({kind}", *((" of ", (key.app, "")) if key.app else ()), ") ",
        (key.start + "…", ""), f"\n  last used {used}", (where, ""), ", created by ", (key.created_by, ""),
    )


def one_line(key: schemas.Key) -> Text:
    return join("• ", (key.name, "bold"), " ", (key.app or "admin token", ""), " ", (key.start + "…", "dim"))


class RevokeScreen(ConfirmScreen):
    DEFAULT_CSS = """
    RevokeScreen #reason-row {
        height: 1;
        margin-bottom: 1;
    }
    RevokeScreen #reason-row > Static {
        width: 8;
    }
    RevokeScreen #reason {
        width: 1fr;
    }
    """

    def __init__(self, keys: list[schemas.Key], now: datetime, *, type_to_confirm: str | None = None) -> None:
        if len(keys) == 1:
            title = join("Revoke ", (keys[0].name, ""), "?")
        else:
            title = Text(f"Revoke {plural(len(keys), 'key')}?")
        if len(keys) == 1:
            lines: list[Text | str] = [describe(keys[0], now)]
        else:
            listed = Text("\n").join(one_line(key) for key in keys[:LISTED])
            if len(keys) > LISTED:
                listed.append(f"\n… and {plural(len(keys) - LISTED, 'more key')}")
            lines = [listed]
        them = "it" if len(keys) == 1 else "them"
        lines.append(f"Every node refuses {them} from the next request on. This cannot be undone.")
        super().__init__(title, lines, confirm_label="Revoke", type_to_confirm=type_to_confirm)

    def typing_target(self) -> Input | None:
        # Typed at once, a reason lands in its field (y and n still answer when no name is asked for).
        return super().typing_target() or self.query_one("#reason", Input)

    def on_mount(self) -> None:
        dialog = self.query_one("#dialog")
        reason = TextInput(id="reason", placeholder="optional: leaked in a CI log", compact=True, select_on_focus=False)
        row = Horizontal(Static("Reason  ", classes="form-label"), reason, id="reason-row")
        dialog.mount(row, before=dialog.query_one(".dialog-buttons"))

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
