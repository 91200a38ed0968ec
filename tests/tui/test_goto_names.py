"""`:` knows every screen, and completes the names they open from the service."""

from __future__ import annotations

from textual.widgets import Input, Static

from pepyhat_tui.screens.audit import AuditScreen
from pepyhat_tui.screens.goto import GotoScreen
from pepyhat_tui.screens.keys import KeysScreen
from pepyhat_tui.screens.matrix import MatrixScreen
from pepyhat_tui.screens.try_request import TryScreen
from pepyhat_tui.screens.user_detail import UserDetailScreen
from tests.tui.support import goto, plain, steps, until

SIZE = (120, 36)


async def completion(pilot, typed: str) -> str:
    """What tab makes of ``typed`` in the `:` prompt."""
    await steps(pilot, "colon")
    prompt = pilot.app.screen
    assert isinstance(prompt, GotoScreen)
    field = prompt.query_one("#goto-input", Input)
    await pilot.press(*typed)
    await until(pilot, lambda: field._suggestion not in ("", typed) or field.value != typed, f"a completion of {typed!r}")
    await steps(pilot, "tab")
    value = field.value
    await steps(pilot, "escape")
    return value


async def test_the_prompt_offers_every_screen(service):
    async with service.dashboard().run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.identity is not None, "signing in")
        await steps(pilot, "colon")
        placeholder = pilot.app.screen.query_one("#goto-input", Input).placeholder
        for shown in ("apps", "users", "keys [app]", "matrix <app>", "audit", "try", "app <slug>", "user <email>"):
            assert shown in placeholder
        await steps(pilot, "escape")


async def test_names_complete_from_the_service(service):
    async with service.http() as http:
        users = (await http.get("/api/v1/users", params={"q": "alice.m", "limit": 10})).json()["data"]
    async with service.dashboard().run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.identity is not None, "signing in")
        assert await completion(pilot, "ma") == "matrix"
        assert await completion(pilot, "matrix cr") == "matrix crm"
        assert await completion(pilot, "keys wi") == "keys wiki"
        assert await completion(pilot, "user alice.m") == f"user {sorted(u['email'] for u in users)[0]}"


async def test_each_destination_opens_its_screen(service):
    async with service.dashboard().run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.identity is not None, "signing in")
        await goto(pilot, "matrix crm")
        assert isinstance(pilot.app.screen, MatrixScreen) and pilot.app.screen.app_slug == "crm"
        await steps(pilot, "escape")
        await goto(pilot, "keys crm")
        screen = pilot.app.screen
        assert isinstance(screen, KeysScreen) and screen.app_slug == "crm"
        await until(pilot, lambda: screen.table.loaded_once, "crm's keys")
        assert screen.table.items and {k.app for k in screen.table.items.values()} == {"crm"}
        await goto(pilot, "audit")
        assert isinstance(pilot.app.screen, AuditScreen) and pilot.app.current_mode == "audit"
        await goto(pilot, "try alice.martin@example.com crm")
        assert isinstance(pilot.app.screen, TryScreen)
        await steps(pilot, "escape")
        await goto(pilot, "user alice.martin@example.com")
        assert isinstance(pilot.app.screen, UserDetailScreen)


async def test_a_screen_that_needs_a_name_says_so(service):
    async with service.dashboard().run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.identity is not None, "signing in")
        before = pilot.app.screen
        await steps(pilot, "colon", *"matrix", "enter")
        prompt = pilot.app.screen
        assert isinstance(prompt, GotoScreen)
        assert "say which: :matrix <app>" in plain(prompt.query_one("#goto-error", Static))
        await steps(pilot, "escape")
        assert pilot.app.screen is before
