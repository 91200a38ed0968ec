"""`:` go to a screen by name, with completion (`:users`, `:matrix crm`, `:user alice@...`).

The completion is shell-like: tab takes what is shown after the cursor.  The
first word completes from the screens; the name after ``matrix``, ``app`` or
``keys`` completes from the service's apps, after ``user`` from its users.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from pepyhat_tui.actions import bindings
from pepyhat_tui.completion import complete_app, complete_email
from pepyhat_tui.guarded import UsesDashboard
from pepyhat_tui.text import join
from pepyhat_tui.widgets.text_input import TextInput

APP_NAMED = ("matrix", "app", "apps", "keys")  # the name after these is an app's slug
USER_NAMED = ("user", "users")
ALIASES = ("app", "user")  # `:app crm` is `:apps crm`: reached only by their whole name


def resolve(word: str, destinations: Iterable[str]) -> list[str]:
    """The destinations ``word`` names: itself exactly, else those it starts (``us`` -> ``users``)."""
    word = word.lower()
    names = list(destinations)
    if word in names:
        return [word]
    return [d for d in names if d.startswith(word) and d not in ALIASES]


class GotoSuggester(Suggester):
    """Completes the screen's name, then the app or user it opens, asking the service as you type."""

    def __init__(self, screen: "GotoScreen") -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.screen = screen

    async def get_suggestion(self, value: str) -> str | None:
        first, space, rest = value.partition(" ")
        if not space:
            matches = [d for d in self.screen.destinations if d.startswith(first.lower())]
            return matches[0] if first and matches else None  # (the first in the prompt's order)
        found = resolve(first, self.screen.destinations)
        if len(found) != 1 or " " in rest:
            return None
        name = await self.screen.complete_name(found[0], rest)
        return f"{first} {name}" if name else None


class GotoScreen(UsesDashboard, ModalScreen[tuple[str, str | None] | None]):
    BINDINGS = bindings("goto.cancel", "goto.complete")

    def __init__(self, destinations: Mapping[str, str]) -> None:
        super().__init__()
        self.destinations = dict(destinations)  # name -> how the prompt shows it (``matrix <app>``)

    def compose(self) -> ComposeResult:
        with Vertical(id="goto", classes="prompt"):
            yield TextInput(placeholder=" | ".join(self.destinations.values()), suggester=GotoSuggester(self), id="goto-input")
            yield Static("", id="goto-error", classes="form-error")

    async def complete_name(self, destination: str, start: str) -> str | None:
        """The first app slug or email that starts with ``start``, from the service."""
        client = self.dashboard._client
        if destination in APP_NAMED:
            return await complete_app(client, start)
        if destination in USER_NAMED:
            return await complete_email(client, start)
        return None

    def error(self, *parts) -> None:
        self.query_one("#goto-error", Static).update(join(*parts))

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        words = event.value.strip().lstrip(":").split(maxsplit=1)
        if not words:
            self.dismiss(None)
            return
        matches = resolve(words[0], self.destinations)
        if len(matches) != 1:
            self.error("no screen ", (repr(words[0].lower()), ""), f": try {', '.join(self.destinations)}")
            return
        name = words[1].strip() if len(words) > 1 else None
        shown = self.destinations[matches[0]]
        if "<" in shown and not name:
            self.error(f"say which: :{shown}")
            return
        self.dismiss((matches[0], name))

    def action_complete(self) -> None:
        field = self.query_one("#goto-input", Input)
        field.cursor_position = len(field.value)
        field.action_cursor_right()

    def action_cancel(self) -> None:
        self.dismiss(None)
