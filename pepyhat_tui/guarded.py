"""What screens and panes share: actions offered from the registry, and changes run in workers.

A node's ``BINDINGS`` come from ``actions.bindings(...)``; ``check_action`` looks
each bound action up in the registry and offers it only when the token may run
it (and, for a change, when the dashboard is not read-only).  An action that is
not offered is hidden everywhere: no key, no footer entry, no `?` row, no
palette entry.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from pepyhat_tui.actions import Action, by_binding
from pepyhat_tui.client import ClientError

if TYPE_CHECKING:
    from pepyhat_tui.app import PepyHatApp


@cache
def declared_actions(cls: type) -> dict[str, Action]:
    """Action method name -> registry entry, for every binding ``cls`` declares (subclasses first)."""
    found: dict[str, Action] = {}
    for klass in cls.__mro__:
        for binding in klass.__dict__.get("BINDINGS", ()):
            action = by_binding(binding)
            if action is not None:
                found.setdefault(action.action.partition("(")[0], action)
    return found


class UsesDashboard:
    """Mix in before a Textual node class to reach the app, typed: ``self.dashboard``."""

    @property
    def dashboard(self) -> "PepyHatApp":
        return self.app  # type: ignore[attr-defined, return-value]


class Guarded(UsesDashboard):
    """Mix in before a Textual node class: ``class ListPane(Guarded, Vertical)``."""

    def action_context(self) -> dict[str, str]:
        """Values for the ``{app}``/``{email}`` placeholders of this node's resource paths."""
        return {}

    def action_available(self, action: str) -> bool:
        """State, not permission: is there a filter to clear, a screen to go back to?"""
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.action_available(action):
            return False
        entry = declared_actions(type(self)).get(action)
        if entry is None:
            return True
        return True if self.dashboard.offers(entry, self.action_context()) else False

    # -- talking to the service ------------------------------------------------

    def report(self, error: ClientError, title: str = "Request failed") -> None:
        self.notify(error.message, title=f"{title} ({error.code})", severity="error", timeout=8)  # type: ignore[attr-defined]

    def mutate(self, call: Callable[[], Awaitable[Any]], done: str, then: Callable[[Any], None] | None = None) -> None:
        """Run a change in a worker; a refusal becomes a toast and the screen stays as it was."""

        async def run() -> None:
            try:
                result = await call()
            except ClientError as exc:
                self.report(exc, "Not done")
                return
            self.notify(done)  # type: ignore[attr-defined]
            if then is not None:
                then(result)

        self.run_worker(run(), group="mutate")  # type: ignore[attr-defined]
