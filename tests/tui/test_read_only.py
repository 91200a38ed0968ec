"""Every mutating action of the registry, on every surface that declares it, under every reason not to offer it.

Generated from ``pepyhat_tui.actions.ACTIONS`` and the nodes' declarations: for
the read-only flag, and for a token lacking each write capability in turn, each
mutating action a surface declares is not offered (``check_action``), not in
the footer, not in `?`, not in the palette, and pressing its key changes
nothing (no dialog opens, no audit event appears in the service).  A control
run with every capability sees every one of them offered, so none of this
passes vacuously.  A new pane or screen declaring a mutating action fails
``test_every_surface_with_a_mutating_action_is_visited`` until it is toured.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Awaitable, Callable

import pytest
from sqlalchemy import func, select
from textual.pilot import Pilot

import pepyhat_tui.panes
import pepyhat_tui.screens
from pepyhat.schemas import CAPABILITIES
from pepyhat.store.tables import AuditEvent
from pepyhat_tui.actions import ACTIONS, Action
from pepyhat_tui.app import offered_actions
from pepyhat_tui.guarded import Guarded, declared_actions
from pepyhat_tui.panes.apps import AppsPane
from pepyhat_tui.panes.keys import KeysPane
from pepyhat_tui.panes.matrix import MatrixPane
from pepyhat_tui.panes.members import MembersPane
from pepyhat_tui.panes.permissions import PermissionsPane
from pepyhat_tui.panes.roles import RolesPane
from pepyhat_tui.panes.users import UsersPane
from pepyhat_tui.screens.app_detail import AppDetailScreen
from pepyhat_tui.screens.base import ListScreen
from pepyhat_tui.screens.leaked import LeakedKeyScreen
from pepyhat_tui.screens.matrix import MatrixScreen
from pepyhat_tui.screens.user_detail import UserDetailScreen
from tests.tui.support import footer_labels, goto, help_descriptions, palette_titles, settle, steps, until

SIZE = (120, 36)
MUTATING = [a for a in ACTIONS.values() if a.mutates]
WRITE_CAPABILITIES = sorted({a.capability for a in MUTATING})


@dataclass(frozen=True)
class Surface:
    """A node that offers actions, and how an operator reaches it from a fresh dashboard."""

    node: type
    reach: Callable[[Pilot], Awaitable[None]]
    leave: tuple[str, ...] = ()  # keys back to where the next surface starts


async def _apps(pilot: Pilot) -> None:
    await settle(pilot)


def _tab(key: str) -> Callable[[Pilot], Awaitable[None]]:
    async def reach(pilot: Pilot) -> None:
        await goto(pilot, "apps")
        await steps(pilot, "enter", key)

    return reach


async def _users(pilot: Pilot) -> None:
    await goto(pilot, "users")


async def _user(pilot: Pilot) -> None:
    await goto(pilot, "users")
    await steps(pilot, "enter")


async def _keys(pilot: Pilot) -> None:
    await goto(pilot, "keys")


async def _leaked(pilot: Pilot) -> None:
    """ctrl+l, and the start of a live demo key: identified, ready to revoke or rotate."""
    await goto(pilot, "keys")
    live = next(k for k in pilot.app.screen.table.items.values() if k.status == "active" and k.kind == "app")
    await steps(pilot, "ctrl+l", *live.start, "enter")
    await until(pilot, lambda: getattr(pilot.app.screen, "matches", None), "the key identified")


async def _matrix(pilot: Pilot) -> None:
    """`:matrix crm`, the cursor on a role's column (where space grants or removes)."""
    await goto(pilot, "matrix crm")
    screen = pilot.app.screen
    await until(pilot, lambda: screen.pane is not None and screen.pane.table.loaded_once, "the matrix")
    await steps(pilot, "right")


SURFACES = [
    Surface(AppsPane, _apps),
    Surface(RolesPane, _tab("1"), ("escape",)),
    Surface(PermissionsPane, _tab("2"), ("escape",)),
    Surface(MembersPane, _tab("3"), ("escape",)),
    Surface(KeysPane, _keys),
    Surface(LeakedKeyScreen, _leaked, ("escape",)),
    Surface(UsersPane, _users),
    Surface(UserDetailScreen, _user, ("escape",)),
    Surface(MatrixPane, _matrix, ("escape",)),
]


def our_nodes() -> set[type]:
    found = set()
    for package in (pepyhat_tui.screens, pepyhat_tui.panes):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            loaded = importlib.import_module(module.name)
            found |= {c for _, c in inspect.getmembers(loaded, inspect.isclass)
                      if c.__module__ == loaded.__name__ and issubclass(c, Guarded)}
    return found


def mutating_of(node_class: type) -> list[Action]:
    return [a for a in declared_actions(node_class).values() if a.mutates]


def test_every_surface_with_a_mutating_action_is_visited():
    declaring = {cls for cls in our_nodes() if mutating_of(cls)}
    assert declaring, "the walk found no node declaring a mutating action"
    assert declaring <= {s.node for s in SURFACES}, f"not toured: {declaring - {s.node for s in SURFACES}}"
    # Every mutating action of the registry is declared somewhere (and so toured).
    assert {a.id for a in MUTATING} == {a.id for cls in declaring for a in mutating_of(cls)}


def test_every_mutating_action_declares_what_it_needs():
    assert MUTATING
    for action in MUTATING:
        assert action.capability in CAPABILITIES, action
        assert action.capability.endswith((".write", ".manage")), f"{action.id} mutates with a read capability"
        assert action.operation in ("write", "delete"), action
        # {keys} is filled by the node: apps/{app}/keys on an app's tab, ** (every key) elsewhere.
        assert action.path and action.path.split("/")[0] in ("apps", "users", "tokens", "{keys}"), action


# -- the tours ---------------------------------------------------------------------


def node_on(screen, node_class: type):
    if isinstance(screen, node_class):
        return screen
    if isinstance(screen, (ListScreen, MatrixScreen)):
        return screen.pane
    if isinstance(screen, AppDetailScreen):
        return screen.pane()
    raise AssertionError(f"no {node_class.__name__} on {screen}")


def audit_events(service) -> int:
    with service.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def own_labels(actions: list[Action]) -> set[str]:
    """The descriptions of ``actions`` that no action offered regardless (navigation, filters) also uses."""
    return {a.description for a in actions} - {a.description for a in ACTIONS.values() if not a.mutates}


async def tour(service, dashboard, withheld: Callable[[Action], bool], *, open_help_and_palette: bool = True) -> int:
    """Visit every surface: each mutating action is offered unless ``withheld`` holds for it.

    A withheld action is not offered, not in the footer, `?` or the palette, and its key
    changes nothing.  `?` and the palette are opened (``open_help_and_palette``) or read
    where they both come from (``offered_actions``: the same function builds both).
    """
    checked = 0
    async with dashboard.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: dashboard.identity is not None, "signing in")
        for surface in SURFACES:
            await surface.reach(pilot)
            screen = pilot.app.screen
            node = node_on(screen, surface.node)
            assert isinstance(node, surface.node), (surface, node)
            actions = mutating_of(surface.node)
            hidden = [a for a in actions if withheld(a)]
            shown = [a for a in actions if not withheld(a)]
            for action in actions:
                action.path.format(**node.action_context())  # the node fills the path's placeholders
                expected = not withheld(action)
                assert bool(node.check_action(action.action, ())) is expected, (surface.node.__name__, action.id)
                checked += 1
            if not actions:
                await steps(pilot, *surface.leave)
                continue
            footer = footer_labels(screen)
            if open_help_and_palette:
                listed = await help_descriptions(pilot), await palette_titles(pilot)
            else:
                listed = ({a.description for a, _, _ in offered_actions(screen)},) * 2
            where = surface.node.__name__
            assert {a.description for a in shown if a.show} <= footer, (where, footer)
            assert not own_labels(hidden) & footer, where
            for descriptions in listed:
                assert own_labels(shown) <= descriptions, where
                assert not own_labels(hidden) & descriptions, where
            before = audit_events(service)
            for action in hidden:
                for key in action.key.split(","):
                    await steps(pilot, key)
                    assert pilot.app.screen is screen, f"{action.id}: {key} opened {pilot.app.screen}"
            assert audit_events(service) == before, f"a key changed something on {where}"
            await steps(pilot, *surface.leave)
    return checked


async def test_control_every_mutating_action_is_offered_to_a_full_token(service):
    assert await tour(service, service.dashboard(service.mint()), withheld=lambda a: False) == len(MUTATING)


async def test_read_only_offers_no_mutating_action_anywhere(service):
    checked = await tour(service, service.dashboard(service.mint(), read_only=True), withheld=lambda a: True)
    assert checked >= len(MUTATING)


@pytest.mark.parametrize("capability", WRITE_CAPABILITIES)
async def test_a_token_without_a_capability_is_offered_none_of_its_actions(service, capability):
    """...while what its other capabilities allow is still offered: the token is not simply read-only."""
    token = service.mint([c for c in CAPABILITIES if c != capability])
    await tour(service, service.dashboard(token), withheld=lambda a: a.capability == capability, open_help_and_palette=False)
