"""The dashboard application: connection, identity, navigation, palette."""

from __future__ import annotations

import asyncio
import getpass
import tempfile
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from textual import actions, work
from textual.actions import ActionParseResult
from textual.app import App, SystemCommand
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen

from pepyhat import schemas, scopes
from pepyhat_tui.actions import ACTIONS, Action, Reach, bindings, by_binding
from pepyhat_tui.client import ClientError, PepyHatClient
from pepyhat_tui.config import Target
from pepyhat_tui.connection import HEARTBEAT_EVERY, RETRY_DELAYS, ConnectionWatcher, is_outage, is_refused_token
from pepyhat_tui.formatting import EXPIRING_WITHIN
from pepyhat_tui.guarded import Guarded
from pepyhat_tui.text import printable

if TYPE_CHECKING:
    from pepyhat.embedded import EmbeddedChild

READ_CAPABILITIES = schemas.READ_CAPABILITIES
SCREENS = {"apps": "Apps", "users": "Users", "keys": "Keys", "audit": "Audit log"}  # the top-level screens (modes)
# What `:` goes to, as its prompt shows it: <...> is a name it needs, [...] one it takes.
DESTINATIONS = {
    "apps": "apps", "users": "users", "keys": "keys [app]", "matrix": "matrix <app>", "audit": "audit",
    "try": "try [email] [app]", "app": "app <slug>", "user": "user <email>",
}
# How a scope reaches an action's path (see pepyhat_tui.actions): a row's path is concrete.
REACH_CHECKS: dict[Reach, Callable[[str, str], bool]] = {
    "some": scopes.intersects,
    "new": scopes.covers,
    "row": scopes.matches,
}


def _apps_screen() -> Screen:
    from pepyhat_tui.screens.apps import AppsScreen

    return AppsScreen()


def _users_screen() -> Screen:
    from pepyhat_tui.screens.users import UsersScreen

    return UsersScreen()


def _keys_screen() -> Screen:
    from pepyhat_tui.screens.keys import KeysScreen

    return KeysScreen()


def _audit_screen() -> Screen:
    from pepyhat_tui.screens.audit import AuditScreen

    return AuditScreen()


class PepyHatApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "Pepy Hat"
    MODES = {"apps": _apps_screen, "users": _users_screen, "keys": _keys_screen, "audit": _audit_screen}
    DEFAULT_MODE = "apps"
    BINDINGS = bindings("quit", "goto", "help", "palette", "keys.find-leaked")

    def __init__(
        self,
        target: Target,
        *,
        identity: schemas.ValidatedKey | None = None,
        client: PepyHatClient | None = None,
        clock: Callable[[], datetime] | None = None,
        demo_now: datetime | None = None,
        embedded: EmbeddedChild | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        heartbeat: float = HEARTBEAT_EVERY,
    ) -> None:
        super().__init__()
        self.target = target
        self.identity = identity
        self.connection_error: ClientError | None = None
        self.expiring_keys: str | None = None  # active keys expiring within 7 days ("3", "100+")
        self._client = client
        self._clock = clock
        self._demo_now = demo_now
        self._embedded = embedded  # the service's child process (pepyhat-tui); None: in-process (tests)
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self.connected = asyncio.Event()
        self.watcher = ConnectionWatcher(self, retry_delays, heartbeat)
        # A profile to start again on, signed in already, chosen after the token was refused.
        self.relaunch: tuple[Target, schemas.ValidatedKey] | None = None
        self.set_keymap(dict(target.keymap))

    # -- time and identity ----------------------------------------------------

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(timezone.utc)

    @property
    def read_only(self) -> bool:
        if self.target.read_only:
            return True
        if self.identity is None:
            return False
        return not (set(self.identity.capabilities) - READ_CAPABILITIES)

    def allows(self, capability: str, path: str | None = None, operation: str = "read", reach: Reach = "some") -> bool:
        """Could the token do this to ``path``: some path of the pattern, every one (``new``), or this one (``row``)?"""
        identity = self.identity
        if identity is None or capability not in identity.capabilities:
            return False
        if path is None:
            return True
        check = REACH_CHECKS[reach]
        return any(scopes.allows(s.operations, operation) and check(s.path, path) for s in identity.scopes)

    def offers(self, action: Action, context: dict[str, str], row: str | None = None) -> bool:
        """Is this registry action offered here (``row``: the resource under the cursor)?

        Never a change on a read-only dashboard; a row action only on a row its pattern names.
        """
        if action.mutates and self.read_only:
            return False
        try:
            path = action.path.format_map(context) if action.path else None
        except KeyError:  # a placeholder this node cannot fill: it has nothing to act on
            return False
        if action.reach == "row":
            if row is None or path is None or not scopes.matches(path, row):
                return False
            path = row
        if action.capability is None:
            return True
        return self.allows(action.capability, path, action.operation, action.reach)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "find_leaked":
            return True if self.offers(ACTIONS["keys.find-leaked"], {}) else False
        return super().check_action(action, parameters)

    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces=None,
    ) -> bool:
        """A change asked for while the service is away is held back here, with a word, not sent."""
        destination, name, _ = actions.parse(action) if isinstance(action, str) else action
        node = default_namespace
        if not destination and isinstance(node, Guarded) and node.held_back(name):
            self.say_held_back()
            return True
        return await super().run_action(action, default_namespace, namespaces)

    def say_held_back(self) -> None:
        watcher = self.watcher
        if watcher.state == "refused":
            why = "the service refused this dashboard's token"
        else:
            why = (watcher.reason.message if watcher.reason else "the service is not answering") + "; retrying by itself (ctrl+r: now)"
        self.notify(f"{why}. Nothing was sent.", title="Changes held back", severity="warning", timeout=6)

    def action_find_leaked(self) -> None:
        """From any screen: identify a pasted key, then revoke or rotate it."""
        from pepyhat_tui.screens.leaked import LeakedKeyScreen

        def done(changed: list[schemas.Key] | None) -> None:
            reload = getattr(self.screen, "reload", None)
            if changed and reload is not None:
                reload()

        self.push_screen(LeakedKeyScreen(), done)

    # -- what reaches the terminal ---------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast, ours and the service's words alike, is shown literally (no markup, no raw controls)."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False)

    # -- connection -----------------------------------------------------------

    @property
    def client(self) -> PepyHatClient:
        if self._client is None:
            raise ClientError(None, "not_connected", "not connected to the service yet")
        return self._client

    async def wait_client(self) -> PepyHatClient:
        await self.connected.wait()
        if self.connection_error is not None or self._client is None:
            raise self.connection_error or ClientError(None, "not_connected", "not connected")
        return self._client

    def on_mount(self) -> None:
        self.watcher.start()
        self.connect()

    @work(exclusive=True, group="connect")
    async def connect(self) -> None:
        """Start (or reach) the service after the shell has painted."""
        self.connected.clear()
        self.connection_error = None
        try:
            if self._client is None:
                self._client = await self._open_client()
            self._client.observer = self.watcher
            # Signing in again is also the watcher's probe: it shows whether the service answers
            # and still takes the token.
            if self.identity is None or self.target.mode != "remote" or not self.watcher.online:
                self.identity = await self._client.validate()
                self.watcher.signed_in()
        except ClientError as exc:
            if not (is_outage(exc) or is_refused_token(exc)):  # those, the watcher says and handles
                self.connection_error = exc
                title = "Embedded service failed" if exc.code == "startup_failed" else "Cannot connect"
                self.notify(exc.message, title=title, severity="error", timeout=10)
        except Exception as exc:  # the embedded service failed to start: say why, never a traceback
            first = (str(exc).strip().splitlines() or [""])[0]
            self.connection_error = ClientError(None, "startup_failed", f"{type(exc).__name__}: {first}")
            self.notify(self.connection_error.message, title="Embedded service failed", severity="error", timeout=10)
        finally:
            self.connected.set()
            self.watcher.probe_done()
        self.identity_changed()
        self.count_expiring()

    @work(exclusive=True, group="heartbeat")
    async def heartbeat(self) -> None:
        """Is the service still there?  Its answer (or its absence) reaches the watcher."""
        if self._client is None or self.connection_error is not None:
            return
        try:
            await self._client.ready()
        except ClientError:
            pass

    def outage_reason(self, error: ClientError) -> ClientError:
        """An outage as the operator should read it: a dead embedded service says why it died."""
        failure = self._embedded.failure() if self._embedded is not None else None
        return ClientError(None, "stopped", f"{failure}; start pepyhat-tui again") if failure else error

    def waiting_for(self) -> float | None:
        """How long the oldest call to the service has been waiting (the bar shows a stall)."""
        return self._client.waiting_for() if self._client is not None else None

    def visible_screens(self) -> list[Screen]:
        """The screen on top and, under a modal, the screens it lets through (top first)."""
        shown: list[Screen] = []
        for screen in reversed(self.screen_stack):
            shown.append(screen)
            if not isinstance(screen, ModalScreen):
                break
        return shown

    def connection_changed(self, recovered: bool = False) -> None:
        """The watcher's state changed: bars, held-back keys, stale marks; on recovery, reloads."""
        self.refresh_bars()
        for screen in self.screen_stack:
            screen.refresh_bindings()
            changed = getattr(screen, "connection_changed", None)
            if changed is not None:
                changed()
        if recovered:
            self.count_expiring()

    def token_refused(self, error: ClientError) -> None:
        """The service no longer takes our token: say so, and offer to quit or switch profile."""
        from pepyhat_tui.screens.token_refused import TokenRefusedScreen

        if not isinstance(self.screen, TokenRefusedScreen):
            self.push_screen(TokenRefusedScreen(error.message))

    def switch_profile(self, target: Target, identity: schemas.ValidatedKey) -> None:
        """Start again on another profile: the dashboard exits, and ``pepyhat-tui`` reopens on it."""
        self.relaunch = (target, identity)
        self.exit()

    @work(exclusive=True, group="expiring")
    async def count_expiring(self) -> None:
        """How many keys stop working within 7 days, for the environment bar (None: not ours to know)."""
        if self._client is None or self.connection_error is not None or not self.allows("keys.read"):
            self.expiring_keys = None
            return
        try:
            page = await self._client.list_keys(status="active", expires_within=EXPIRING_WITHIN, limit=100)
        except ClientError:
            return  # the screens say what is wrong; the bar keeps its last count
        self.expiring_keys = f"{len(page.data)}{'+' if page.has_more else ''}"
        self.refresh_bars()

    async def _open_client(self) -> PepyHatClient:
        target = self.target
        if target.mode == "remote":
            return PepyHatClient.remote(target.url, target.token)
        if self._embedded is not None:
            return await self._reach_child(self._embedded)
        operator = f"{getpass.getuser()} (embedded)"
        if target.mode == "demo":
            self._tempdir = tempfile.TemporaryDirectory(prefix="pepyhat-demo-")
            database = Path(self._tempdir.name) / "demo.db"
            return await PepyHatClient.embedded(database, operator, demo=True, demo_now=self._demo_now)
        return await PepyHatClient.embedded(target.database, operator)

    async def _reach_child(self, child: EmbeddedChild) -> PepyHatClient:
        """The child's client once it serves; if it stopped instead, why (its own words)."""
        client = PepyHatClient.local(child.socket_path)
        while True:
            try:
                # Bound before the child started: this waits in the backlog until it serves.
                await client.ready()
                return client
            except ClientError as exc:
                await asyncio.sleep(0.02)  # a child that just died is reaped in a moment
                failure = child.failure()
                if failure is None and exc.status is None and exc.code != "timeout":
                    continue  # not serving yet
                await client.aclose()
                raise ClientError(None, "startup_failed", failure or exc.message) from None

    def identity_changed(self) -> None:
        """Bindings depend on capabilities: recompute them everywhere."""
        for screen in self.screen_stack:
            screen.refresh_bindings()
        self.refresh_bars()

    def refresh_bars(self) -> None:
        for screen in self.screen_stack:
            for bar in screen.query("EnvironmentBar"):
                bar.refresh_identity()

    async def on_unmount(self) -> None:
        if self._client is not None:
            try:
                await self._client.aclose()
            except Exception:  # closing a dead connection must not block quitting
                pass
        if self._tempdir is not None and self._client is not None:
            self._tempdir.cleanup()
        # Quitting while the demo service is still being built: its thread cannot be
        # stopped and would recreate the folder; the directory's finalizer removes it
        # at exit, after Python has joined that thread.

    # -- navigation -----------------------------------------------------------

    def go(self, destination: str, argument: str | None = None) -> None:
        """Where `:` leads: ``apps``, ``users``, ``keys``, ``audit`` switch screens; ``app crm``,
        ``user alice@...`` open one; ``keys crm`` the keys of crm; ``matrix crm`` and ``try`` open
        over the current screen, so escape comes back."""
        destination = {"app": "apps", "user": "users"}.get(destination, destination)
        if destination == "matrix":
            self.open_matrix(argument or "")
            return
        if destination == "try":
            email = app = None
            for word in (argument or "").split():
                if "@" in word:
                    email = word
                else:
                    app = word
            self.open_try(app=app, email=email)
            return
        self.switch_mode(destination)
        if destination == "keys" and argument:
            from pepyhat_tui.screens.keys import KeysScreen

            self.push_screen(KeysScreen(argument))
        elif argument:
            self.call_after_refresh(self.screen.open_by_name, argument)

    # Exploring access: each from wherever its key is offered (`m`, `t`, `w`, `x`).

    def open_matrix(self, app: str) -> None:
        from pepyhat_tui.screens.matrix import MatrixScreen

        self.push_screen(MatrixScreen(app))

    def open_try(self, *, app: str | None = None, email: str | None = None) -> None:
        from pepyhat_tui.screens.try_request import TryScreen

        self.push_screen(TryScreen(app=app, email=email))

    def open_explain(self, email: str, app: str) -> None:
        from pepyhat_tui.screens.explain import ExplainScreen

        self.push_screen(ExplainScreen(email, app))

    def export_access(self, app: str) -> None:
        from pepyhat_tui.screens.export import ExportScreen

        self.push_screen(ExportScreen(app))

    def action_goto(self) -> None:
        from pepyhat_tui.screens.goto import GotoScreen

        def done(choice: tuple[str, str | None] | None) -> None:
            if choice is not None:
                self.go(*choice)

        self.push_screen(GotoScreen(DESTINATIONS), done)

    def action_help(self) -> None:
        from pepyhat_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: navigation, then every registry action the current screen offers, with its key."""
        for mode, title in SCREENS.items():
            yield SystemCommand(f"Go to {title}", f"Switch to the {title} screen (:{mode})", partial(self.go, mode))
        for action, key, node in offered_actions(screen):
            if action.id == "palette":
                continue
            yield SystemCommand(
                action.description, f"{action.help} · key: {key}", partial(node.run_action, action.action)
            )


def offered_actions(screen: Screen) -> list[tuple[Action, str, object]]:
    """(registry action, the key it is bound to now, the node that runs it) for what ``screen`` offers.

    Derived from the live bindings, so a keymap's keys and the capability checks
    are what `?` and the palette show; each action once, with its first key.
    """
    seen: dict[str, tuple[Action, str, object]] = {}
    for key, active in screen.active_bindings.items():
        action = by_binding(active.binding)
        if action is None or not active.enabled or action.id in seen:
            continue
        seen[action.id] = (action, active.binding.key_display or screen.app.get_key_display(active.binding), active.node)
    return list(seen.values())
