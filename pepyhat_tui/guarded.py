"""What screens and panes share: actions offered from the registry, and changes run in workers.

A node's ``BINDINGS`` come from ``actions.bindings(...)``; ``check_action`` looks
each bound action up in the registry and offers it only when the token may run
it (and, for a change, when the dashboard is not read-only); an action on a
row is checked against the row under the cursor (``selected_path``).  An action
that is not offered is hidden everywhere: no key, no footer entry, no `?` row,
no palette entry.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from pepyhat_tui.actions import Action, by_binding
from pepyhat_tui.client import ClientError

if TYPE_CHECKING:
    from pepyhat import schemas
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


def segment(name: str) -> str:
    """A name as one segment of a resource path.

    A name that cannot be one (empty, or holding ``/``: text the service refuses,
    so only a broken or hostile one) stands as ``*``, which only a scope with a
    wildcard there reaches.
    """
    return name if name and "/" not in name else "*"


def resource_path(*names: str) -> str:
    """A row's resource path from its names: ``resource_path("apps", slug, "roles", role)``."""
    return "/".join(map(segment, names))


def key_path(key: "schemas.Key") -> str:
    """A key's resource path: ``apps/{app}/keys/{id}`` for an app key, ``tokens/{id}`` for a token."""
    if key.kind == "admin" or not key.app:
        return resource_path("tokens", key.id)
    return resource_path("apps", key.app, "keys", key.id)


class UsesDashboard:
    """Mix in before a Textual node class to reach the app, typed: ``self.dashboard``."""

    @property
    def dashboard(self) -> "PepyHatApp":
        return self.app  # type: ignore[attr-defined, return-value]


class Guarded(UsesDashboard):
    """Mix in before a Textual node class: ``class ListPane(Guarded, Vertical)``."""

    def action_context(self) -> dict[str, str]:
        """Values for the ``{app}``/``{email}`` placeholders of this node's resource paths.

        A name goes through ``segment``, as in ``resource_path``, so the two agree.
        """
        return {}

    def selected_path(self) -> str | None:
        """The resource path of the row under the cursor (``apps/crm``), for ``reach="row"`` actions.

        None when there is no row: then no row action is offered.  A node showing rows
        overrides it and calls ``refresh_bindings()`` when the cursor moves.
        """
        return None

    def action_available(self, action: str) -> bool:
        """State, not permission: is there a filter to clear, a screen to go back to?"""
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.action_available(action):
            return False
        entry = declared_actions(type(self)).get(action)
        if entry is None:
            return True
        row = self.selected_path() if entry.reach == "row" else None
        if not self.dashboard.offers(entry, self.action_context(), row):
            return False
        # Dimmed, not hidden, while the service is away: pressed, it says why it is held back.
        return None if entry.mutates and not self.dashboard.watcher.online else True

    # -- talking to the service ------------------------------------------------

    def report(self, error: ClientError, title: str = "Request failed") -> None:
        """A toast, unless it is the outage the environment bar already shows (one word, not one per screen)."""
        if self.dashboard.watcher.explains(error):
            return
        self.notify(error.message, title=f"{title} ({error.code})", severity="error", timeout=8)  # type: ignore[attr-defined]

    def held_back(self, action: str) -> bool:
        """Is ``action`` a change this node would offer, asked for while the service is away?

        ``PepyHatApp.run_action`` then says so instead of running it; the footer shows it dimmed.
        """
        entry = declared_actions(type(self)).get(action)
        if entry is None or not entry.mutates or self.dashboard.watcher.online:
            return False
        return Guarded.check_action(self, action, ()) is None  # offered here, but dimmed

    def mutate(self, call: Callable[[], Awaitable[Any]], done: str, then: Callable[[Any], None] | None = None) -> None:
        """Run a change in a worker; a refusal becomes a toast and the screen stays as it was.

        While the service is away nothing is sent (a confirmation opened before it went away
        may still end here); a change that meets the outage says whether it may have been made.
        """
        if not self.dashboard.watcher.online:
            self.dashboard.say_held_back()
            return

        async def run() -> None:
            try:
                result = await call()
            except ClientError as exc:
                if exc.code in ("timeout", "transport_error"):
                    # Sent, and no answer came back: it may have been made.
                    self.notify(f"{exc.message}: it may or may not have been made; the list shows which "
                                "once the service answers", title=f"No answer ({exc.code})",  # type: ignore[attr-defined]
                                severity="error", timeout=10)
                else:
                    self.notify(exc.message, title=f"Not done ({exc.code})", severity="error", timeout=8)  # type: ignore[attr-defined]
                return
            self.notify(done)  # type: ignore[attr-defined]
            if then is not None:
                then(result)

        self.run_worker(run(), group="mutate")  # type: ignore[attr-defined]
