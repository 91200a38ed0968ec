"""Explain: `w` on a user's access row says why they hold each permission there, expired grants included.

The demo's heidi.uddin2 held crm's admin until 2025-04-24 (expired by the frozen
clock); the test adds a live viewer, whose four permissions (crm's viewer role,
read off the service) are then all that explain may show.
"""

from __future__ import annotations

from textual.widgets import Static

from pepyhat_tui import outcomes
from pepyhat_tui.screens.explain import ExplainScreen
from pepyhat_tui.screens.user_detail import UserDetailScreen
from pepyhat_tui.widgets.why import GrantsPanel, WhyPanel
from tests.tui.conftest import Service
from tests.tui.support import goto, plain, settle, steps, title, until

HEIDI = "heidi.uddin2@example.com"
VIEWER = ["accounts.read", "contacts.read", "deals.read", "reports.read"]


async def grant(service: Service, email: str, role: str, app: str = "crm") -> None:
    async with service.http() as http:
        response = await http.put(f"/api/v1/apps/{app}/members/{email}/roles/{role}")
    assert response.status_code in (200, 201), response.text


async def test_w_on_an_access_row_explains_that_app(service: Service) -> None:
    await grant(service, HEIDI, "viewer")
    async with service.dashboard().run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await goto(pilot, f"user {HEIDI}")
        user = pilot.app.screen
        assert isinstance(user, UserDetailScreen)
        await until(pilot, lambda: user.access is not None and user.grants_table.row_count > 0, "the user's access")
        rows = list(user.grant_rows.values())
        target = rows.index(("crm", "viewer"))
        await steps(pilot, *["down"] * target, "w")

        screen = pilot.app.screen
        assert isinstance(screen, ExplainScreen)
        await until(pilot, lambda: screen.explained is not None, "the explanation")
        assert title(screen).startswith(f"Why: {HEIDI} in crm")
        assert "4 permissions · 1 live grant" in title(screen)
        summary = plain(screen.query_one("#explain-summary", Static))
        assert summary.splitlines() == ["found · active", "Roles: viewer", "Permissions: " + ", ".join(VIEWER)]
        assert screen.query_one(WhyPanel).roles_by_permission() == {p: ["viewer"] for p in VIEWER}
        assert sorted(screen.query_one(GrantsPanel).rows) == [("admin", True), ("viewer", False)]
        assert not screen.query_one("#explain-meaning", Static).display

        # ctrl+r reads it again: a role granted meanwhile shows.
        await grant(service, HEIDI, "accounts-manager")
        await steps(pilot, "ctrl+r")
        await until(pilot, lambda: "accounts-manager" in screen.explained.roles, "the reload")
        why = screen.query_one(WhyPanel).roles_by_permission()
        assert sorted(why["accounts.read"]) == ["accounts-manager", "viewer"]
        assert why["accounts.delete"] == ["accounts-manager"]

        await steps(pilot, "escape")
        assert pilot.app.screen is user


async def test_a_deactivated_user_is_explained_as_such(service: Service) -> None:
    async with service.http() as http:
        assert (await http.patch(f"/api/v1/users/{HEIDI}", json={"active": False})).status_code == 200
    async with service.dashboard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pilot.app.open_explain(HEIDI, "crm")
        await settle(pilot)
        screen = pilot.app.screen
        await until(pilot, lambda: screen.explained is not None, "the explanation")
        assert plain(screen.query_one("#explain-meaning", Static)) == outcomes.DEACTIVATED.line()
        assert screen.query_one(WhyPanel).noted.startswith("deactivated")
        assert ("admin", True) in screen.query_one(GrantsPanel).rows


async def test_an_unknown_app_shows_the_banner(service: Service) -> None:
    async with service.dashboard().run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pilot.app.open_explain(HEIDI, "nosuch")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ExplainScreen)
        await until(pilot, lambda: screen.banner.display, "the banner")
        assert "404 app_not_found" in plain(screen.banner)
        assert screen.explained is None


async def test_a_token_without_authz_explain_is_refused_in_the_banner(service: Service) -> None:
    token = service.mint(["users.read", "apps.read"], name="no-explain")
    async with service.dashboard(token).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pilot.app.open_explain(HEIDI, "crm")
        await settle(pilot)
        screen = pilot.app.screen
        await until(pilot, lambda: screen.banner.display, "the banner")
        assert "403" in plain(screen.banner)


def test_snapshot_an_expired_grant(snap_compare, demo_app) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.open_explain(HEIDI, "crm")
        await until(pilot, lambda: getattr(pilot.app.screen, "explained", None) is not None, "the explanation")

    assert snap_compare(demo_app, terminal_size=(120, 36), run_before=run_before)
