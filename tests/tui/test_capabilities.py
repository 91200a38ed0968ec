"""What a token may not do is not offered: no key, no footer entry, no palette entry, no `?` row.

And the top line always says where we are and whether we are read-only.
"""

from __future__ import annotations


from textual.pilot import Pilot
from textual.widgets import Static

from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import EMBEDDED_URL, PepyHatClient
from pepyhat_tui.config import Target
from pepyhat_tui.guarded import declared_actions
from pepyhat_tui.screens.app_detail import AppDetailScreen
from pepyhat_tui.screens.apps import AppsScreen
from pepyhat_tui.screens.users import UsersScreen
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from tests.tui.support import FIXED, footer_labels, goto, help_descriptions, palette_titles, settle, steps, until

SIZE = (120, 36)
MUTATING = ("new", "edit", "delete")
LOCK = "🔒 read-only"


def actions_of(screen):
    """The node that offers a screen's resource actions: its pane (the active tab's on an app)."""
    return screen.pane() if isinstance(screen, AppDetailScreen) else screen.pane


def header(pilot: Pilot) -> str:
    return pilot.app.screen.query_one(EnvironmentBar).visual.plain


def offered(screen) -> set[str]:
    """The actions the screen's active bindings offer (what keys do right now)."""
    return {active.binding.action for active in screen.active_bindings.values() if active.enabled}


async def assert_no_mutations(pilot: Pilot, screen) -> None:
    """n/e/d: not bound, not in the footer, the palette or `?`, and pressing them does nothing."""
    for action in MUTATING:
        assert actions_of(screen).check_action(action, ()) is False, action
    assert not offered(screen) & set(MUTATING)
    assert not {"n", "e", "d"} & set(screen.active_bindings)
    assert not footer_labels(screen) & {"New", "Edit", "Delete"}
    assert not await palette_titles(pilot) & {"New", "Edit", "Delete"}
    assert not await help_descriptions(pilot) & {"New", "Edit", "Delete"}
    await steps(pilot, "n", "e", "d")
    assert pilot.app.screen is screen, "a mutating key opened something"


async def test_control_a_full_token_is_offered_every_action(service):
    # The same checks as below must see the actions when the token has them (no vacuous pass).
    token = service.mint()
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert all(actions_of(screen).check_action(a, ()) for a in MUTATING)
        assert set(MUTATING) <= offered(screen)
        assert {"New", "Edit", "Delete"} <= footer_labels(screen)
        assert {"New", "Edit", "Delete"} <= await palette_titles(pilot)
        assert {"New", "Edit", "Delete"} <= await help_descriptions(pilot)
        assert LOCK not in header(pilot)


async def test_a_token_scoped_to_crm_read_sees_only_crm_and_no_changes(service):
    token = service.mint(["apps.read"], ["apps/crm/**=read"])
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, AppsScreen)
        api = (await http.get("/api/v1/apps")).json()["data"]
        assert list(screen.table.items) == [a["slug"] for a in api] == ["crm"]
        assert LOCK in header(pilot)  # read capabilities only: the dashboard is read-only
        await assert_no_mutations(pilot, screen)

        await steps(pilot, "enter")
        detail = pilot.app.screen
        assert isinstance(detail, AppDetailScreen) and detail.slug == "crm"
        assert list(detail.table("roles").items) == ["accounts-manager", "admin", "editor", "viewer"]
        for key in "1234":
            await steps(pilot, key)
            pane = actions_of(detail)
            for action in set(MUTATING) & set(declared_actions(type(pane))):
                assert pane.check_action(action, ()) is False, (detail.active_tab, action)
            assert not footer_labels(detail) & {"New", "Edit", "Delete"}
        await steps(pilot, "1")
        assert not await palette_titles(pilot) & {"New", "Edit", "Delete"}
        await steps(pilot, "enter", "n", "d")  # enter on a role does not edit it either
        assert pilot.app.screen is detail
    async with service.http() as operator:
        roles = (await operator.get("/api/v1/apps/crm/roles")).json()["data"]
        assert [r["slug"] for r in roles] == ["accounts-manager", "admin", "editor", "viewer"]


async def test_read_only_flag_removes_changes_and_shows_a_lock(service):
    token = service.mint()  # every capability: only the flag makes it read-only
    async with service.http(token) as http, service.dashboard(token, read_only=True).run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert len(screen.table.items) == 5
        assert LOCK in header(pilot)
        await assert_no_mutations(pilot, screen)

        await steps(pilot, "enter")
        detail = pilot.app.screen
        assert isinstance(detail, AppDetailScreen)
        assert LOCK in header(pilot)
        for key in "1234":
            await steps(pilot, key)
            assert detail.table().row_count > 0
            assert not offered(detail) & set(MUTATING)
        await steps(pilot, "d")
        assert pilot.app.screen is detail
        assert len((await http.get("/api/v1/apps")).json()["data"]) == 5

        # Users: no new, edit, delete or (de)activate either.
        await goto(pilot, "users")
        users = pilot.app.screen
        assert isinstance(users, UsersScreen) and users.table.row_count > 0
        assert not offered(users) & {"new", "edit", "delete", "toggle_active"}


async def test_a_users_read_token_sees_users_but_no_apps_actions(service):
    token = service.mint(["users.read"])
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        apps = pilot.app.screen
        assert isinstance(apps, AppsScreen)
        assert apps.table.row_count == 0
        banner = apps.query_one("#banner", Static)
        assert banner.display and "apps.read" in banner.visual.plain  # says why the list is empty
        assert LOCK in header(pilot)
        await assert_no_mutations(pilot, apps)

        await goto(pilot, "users")
        users = pilot.app.screen
        assert isinstance(users, UsersScreen)
        expected = (await http.get("/api/v1/users", params={"limit": 100})).json()["data"]
        assert list(users.table.items) == [u["email"] for u in expected] and expected
        assert not offered(users) & {"new", "edit", "delete", "toggle_active"}
        assert not footer_labels(users) & {"New", "Edit", "Delete", "(De)activate"}


# The demo has one key expiring within 7 days (crm-staging): the bar counts it.
EXPIRING = " │ ⏳ 1 expiring"


async def test_header_names_the_target_and_identity(service):
    token = service.mint(name="ci-bot")
    async with service.dashboard(token, color="green").run_test(size=SIZE) as pilot:
        await settle(pilot)
        bar = pilot.app.screen.query_one(EnvironmentBar)
        assert bar.visual.plain == " Pepy Hat │ test │ ci-bot" + EXPIRING
        assert bar.has_class("-color-green") and not bar.has_class("-color-red")

    async with service.dashboard(None).run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert header(pilot) == " Pepy Hat │ embedded" + EXPIRING

    # A profile: its name, its URL, its colour, on every screen.
    target = Target("remote", "prod", url=EMBEDDED_URL, token=token, color="red", profile="prod")
    app = PepyHatApp(target, client=PepyHatClient(service.http(token)), clock=lambda: FIXED)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        expected = f" Pepy Hat │ prod ({EMBEDDED_URL}) │ ci-bot" + EXPIRING
        assert header(pilot) == expected
        assert pilot.app.screen.query_one(EnvironmentBar).has_class("-color-red")
        await steps(pilot, "enter")
        assert isinstance(pilot.app.screen, AppDetailScreen) and header(pilot) == expected
        await goto(pilot, "keys")
        assert header(pilot) == expected


async def test_demo_header(demo_app):
    async with demo_app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: demo_app.identity is not None, "the demo to start")
        bar = pilot.app.screen.query_one(EnvironmentBar)
        assert bar.visual.plain == " Pepy Hat │ demo" + EXPIRING
        assert bar.has_class("-color-blue")
        assert actions_of(pilot.app.screen).check_action("new", ()) is True  # the local operator may do anything
