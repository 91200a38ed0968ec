"""One audit event in full: who, what, where from, and its before/after as a coloured diff.

Per field of before and after: unchanged dim, the old value red (``- field: value``),
the new one green (``+ field: value``).  Values are JSON, dumped compactly; every
name and value is service text, shown literally.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from pepyhat import schemas
from pepyhat_tui.formatting import relative
from pepyhat_tui.text import join, literal

UNCHANGED, REMOVED, ADDED = "dim", "red", "green"


def dumped(value: Any) -> str:
    """A field's value as compact JSON (a string keeps its quotes: ``"x"`` is not ``null``)."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)
    except ValueError:  # a circular value cannot come from JSON; say so rather than fail
        return repr(value)


def diff_lines(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Text]:
    """``before`` -> ``after`` field by field, in the order the fields first appear."""
    old, new = before or {}, after or {}
    names = list(old) + [name for name in new if name not in old]
    lines: list[Text] = []
    for name in names:
        if name in old and name in new and old[name] == new[name]:
            lines.append(join("  ", (name, UNCHANGED), (": ", UNCHANGED), (dumped(old[name]), UNCHANGED)))
            continue
        if name in old:
            lines.append(join(("- ", REMOVED), (name, REMOVED), (": ", REMOVED), (dumped(old[name]), REMOVED)))
        if name in new:
            lines.append(join(("+ ", ADDED), (name, ADDED), (": ", ADDED), (dumped(new[name]), ADDED)))
    return lines


def event_text(event: schemas.AuditEvent, now: datetime) -> Text:
    """Everything the detail shows of ``event``, line by line."""
    when = f"{relative(event.at, now)} ({event.at:%Y-%m-%d %H:%M:%S}Z)"
    actor = join((event.actor_name or "—", "bold"))
    if event.actor_id and event.actor_id != event.actor_name:
        actor.append_text(join(" (", (event.actor_id, "dim"), ")"))
    lines = [
        join((f"#{event.id} ", "bold"), (event.action, "bold cyan"), "  ", (when, "dim")),
        join(("actor   ", "bold"), actor),
        join(("target  ", "bold"), literal(event.target)),
        join(
            ("request ", "bold"), literal(event.request_id or "—"), ("   client ", "bold"), literal(event.client or "—")
        ),
    ]
    changes = diff_lines(event.before, event.after)
    lines.extend(changes or [Text("no before/after recorded", style="dim italic")])
    return Text("\n").join(lines)


class AuditDetail(VerticalScroll):
    """The event under the cursor, below the list; scrolls when its diff is long."""

    DEFAULT_CSS = """
    AuditDetail {
        height: 40%;
        min-height: 6;
        border-top: solid $primary-darken-2;
        padding: 0 1;
    }
    AuditDetail:focus {
        border-top: solid $accent;
    }
    AuditDetail > #audit-detail-text {
        width: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text("no event selected", style="dim"), id="audit-detail-text")

    def show(self, event: schemas.AuditEvent | None, now: datetime) -> None:
        text = Text("no event selected", style="dim") if event is None else event_text(event, now)
        self.query_one("#audit-detail-text", Static).update(text)
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        """What the detail shows, as plain text."""
        visual = self.query_one("#audit-detail-text", Static).visual
        return getattr(visual, "plain", str(visual))
