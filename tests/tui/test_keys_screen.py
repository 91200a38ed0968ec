"""The Keys screen: app keys and admin tokens, status badges, last use, creator, detail.

Both clocks are frozen at FIXED, so "expires in 6 days" and "used 24 minutes
ago" are exact.  Keys are made through the API (as the embedded operator) or
straight in the store when the API refuses them (an expiry in the past).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import events
from textual.pilot import Pilot
from textual.widgets import Static

from pepyhat.store import queries
from pepyhat.store.db import make_sessionmaker, transaction
from pepyhat_tui.screens.key_detail import KeyDetailScreen
from pepyhat_tui.screens.leaked import LeakedKeyScreen
from pepyhat_tui.screens.keys import KeysScreen
from tests.tui.support import FIXED, keys, plain, title, until

SIZE = (140, 36)


# -- helpers -------------------------------------------------------------------


async def paste(pilot: Pilot, text: str) -> None:
    """What a terminal sends on paste (bracketed paste): one event, to the focused widget."""
    pilot.app.post_message(events.Paste(text))
    await pilot.pause()


async def open_keys(pilot: Pilot) -> KeysScreen:
    await keys(pilot, "colon", "k", "enter")  # `:k`: the one screen starting with k
    screen = pilot.app.screen
    assert isinstance(screen, KeysScreen)
    await until(pilot, lambda: screen.table.loaded_once and not screen.table.loading_page, "the keys list")
    return screen


def cells(screen: KeysScreen, key_id: str) -> dict[str, str]:
    table = screen.table
    return {column: str(table.get_cell(key_id, column)) for _, column in screen.pane.columns()}


def badge(screen: KeysScreen, key_id: str) -> Text:
    value = screen.table.get_cell(key_id, "status")
    assert isinstance(value, Text)
    return value


async def api_keys(http, **params) -> list[dict]:
    response = await http.get("/api/v1/keys", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def create_key(http, **body) -> dict:
    response = await http.post("/api/v1/keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def store_key(service, *, name: str, kind: str = "app", app: str | None = "crm", expires_at: datetime | None) -> str:
    """A key the API would refuse to mint (its expiry is already past): straight into the store."""
    with transaction(make_sessionmaker(service.engine)) as session:
        row, _ = queries.create_key(
            session, name=name, kind=kind, app=app,
            scopes=[{"path": f"apps/{app}/authz/**" if app else "**", "operations": ["read"]}],
            capabilities=[] if kind == "app" else ["apps.read"],
            rate_limit_per_minute=None, expires_at=expires_at, created_by="store-fixture",
        )
        return row.id


async def statuses_fixture(service, http) -> dict[str, str]:
    """One key of each status (besides the demo's), by name -> id."""
    made = {
        "soon-6d": (await create_key(http, name="soon-6d", app="crm", expires_in="6d"))["id"],
        "edge-7d": (await create_key(http, name="edge-7d", app="wiki", expires_in="7d"))["id"],
        "later-8d": (await create_key(http, name="later-8d", app="hr", expires_in="8d"))["id"],
        "gone": (await create_key(http, name="gone", app="billing"))["id"],
        "lapsed-token": store_key(service, name="lapsed-token", kind="admin", app=None,
                                  expires_at=FIXED - timedelta(hours=3)),
    }
    response = await http.delete(f"/api/v1/keys/{made['gone']}", params={"reason": "left on a laptop"})
    assert response.status_code == 200, response.text
    return made


# -- tests ---------------------------------------------------------------------


async def test_lists_app_keys_and_admin_tokens_with_their_creator(service):
    token = service.mint(name="ops-token")
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await create_key(http, name="fresh-crm", app="crm")
        screen = await open_keys(pilot)
        listed = await api_keys(http)

        # Every key and token the service holds, newest first, as the service orders them.
        assert list(screen.table.items) == [k["id"] for k in listed]
        assert {k["kind"] for k in listed} == {"app", "admin"}
        assert "(app keys and admin tokens)" in title(screen)
        assert f"{len(listed)} keys" in title(screen)

        for key in listed:
            row = cells(screen, key["id"])
            assert row["name"] == key["name"]
            assert row["kind"] == key["kind"]
            assert row["app"] == (key["app"] or "—")
            assert row["start"] == key["start"]
            assert row["by"] == key["created_by"]

        ops = next(k for k in listed if k["name"] == "ops-token")
        assert cells(screen, ops["id"])["by"] == "tests"  # minted by the fixture
        assert cells(screen, ops["id"])["app"] == "—"
        assert cells(screen, made["id"])["by"] == "tester (embedded)"  # the operator who made it
        assert cells(screen, made["id"])["kind"] == "app" and cells(screen, made["id"])["app"] == "crm"
        demo = [k for k in listed if k["created_by"] == "demo-data"]
        assert demo and all(cells(screen, k["id"])["by"] == "demo-data" for k in demo)
        # Never a plaintext anywhere: the list shows the start only.
        assert token not in str([cells(screen, k["id"]) for k in listed])
        assert all(len(cells(screen, k["id"])["start"]) == 10 for k in listed)


async def test_status_badges_active_expiring_expired_revoked(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await statuses_fixture(service, http)
        screen = await open_keys(pilot)
        listed = {k["name"]: k for k in await api_keys(http)}

        expected = {
            # name: (badge, colour, expires column)
            "soon-6d": ("expiring", "bold yellow", "in 6d"),
            "edge-7d": ("expiring", "bold yellow", "in 7d"),  # within 7 days, edge included
            "later-8d": ("active", "green", "in 8d"),
            "gone": ("revoked", "bold red", "—"),
            "lapsed-token": ("expired", "red", "3h ago"),
            # the demo organisation's own
            "crm-production": ("active", "green", "—"),
            "crm-staging": ("expiring", "bold yellow", "in 3d"),
            "wiki-ci": ("expired", "red", "10d ago"),
            "crm-laptop-leak": ("revoked", "bold red", "—"),
        }
        for name, (text, colour, expires) in expected.items():
            key_id = listed[name]["id"]
            shown = badge(screen, key_id)
            assert (name, shown.plain, str(shown.style)) == (name, text, colour)
            assert (name, cells(screen, key_id)["expires"]) == (name, expires)
        # The badge agrees with the service's status (expiring is an active key ending soon).
        for name, key in listed.items():
            shown = badge(screen, key["id"]).plain
            assert (name, {"expiring": "active"}.get(shown, shown)) == (name, key["status"])
        assert made["gone"] in screen.table.items and made["lapsed-token"] in screen.table.items


async def test_last_used_is_relative_to_now(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        await create_key(http, name="unused", app="crm")
        screen = await open_keys(pilot)
        listed = {k["name"]: k for k in await api_keys(http)}

        assert datetime.fromisoformat(listed["crm-production"]["last_used_at"]) == FIXED - timedelta(minutes=24)
        assert cells(screen, listed["crm-production"]["id"])["used"] == "24m ago"
        assert datetime.fromisoformat(listed["crm-staging"]["last_used_at"]) == FIXED - timedelta(days=2)
        assert cells(screen, listed["crm-staging"]["id"])["used"] == "2d ago"
        assert datetime.fromisoformat(listed["wiki-production"]["last_used_at"]) == FIXED - timedelta(hours=2, minutes=19)
        assert cells(screen, listed["wiki-production"]["id"])["used"] == "2h ago"
        assert listed["unused"]["last_used_at"] is None
        assert cells(screen, listed["unused"]["id"])["used"] == "never"


async def test_enter_opens_the_key_detail(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await statuses_fixture(service, http)
        screen = await open_keys(pilot)
        table = screen.table
        target = made["gone"]
        record = (await http.get(f"/api/v1/keys/{target}")).json()

        await keys(pilot, *["down"] * table.get_row_index(target))
        assert table.selected_key() == target
        await keys(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, KeyDetailScreen)
        assert detail.key_record.id == target
        text = "\n".join(plain(line) for line in detail.query(Static))
        assert "Key gone" in text
        assert target in text
        assert "app key" in text and "billing" in text and record["start"] in text
        assert "revoked" in text
        assert "by tester (embedded): left on a laptop" in text  # who revoked it and why
        assert "apps/billing/authz/**" in text  # its scope
        assert "Capabilities" not in text  # app keys have none

        await keys(pilot, "escape")
        assert app.screen is screen
        assert table.selected_key() == target

        # An admin token's detail lists its capabilities.
        token_id = made["lapsed-token"]
        await keys(pilot, *["up"] * table.get_row_index(target))
        await keys(pilot, *["down"] * table.get_row_index(token_id))
        assert table.selected_key() == token_id
        await keys(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, KeyDetailScreen) and detail.key_record.id == token_id
        text = "\n".join(plain(line) for line in detail.query(Static))
        assert "admin token" in text and "expired" in text
        assert "Capabilities\napps.read" in text
        assert "3h ago" in text  # its expiry
        await keys(pilot, "q")  # q closes the detail, it does not quit
        assert app.screen is screen and app.is_running


async def test_kind_and_status_filters_ask_the_service(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        await statuses_fixture(service, http)
        screen = await open_keys(pilot)
        table = screen.table

        async def shows(what: str, **params) -> None:
            expected = [k["id"] for k in await api_keys(http, **params)]
            assert expected
            await until(pilot, lambda: list(table.items) == expected and not table.loading_page, what)

        await keys(pilot, "k")
        await shows("app keys only", kind="app")
        assert "(app keys)" in title(screen)
        assert {cells(screen, k)["kind"] for k in table.items} == {"app"}
        await keys(pilot, "k")
        await shows("admin tokens only", kind="admin")
        assert "(admin tokens)" in title(screen)
        await keys(pilot, "k")
        await shows("every key")

        await keys(pilot, "s")
        await shows("active keys", status="active")
        assert "active)" in title(screen)
        assert {badge(screen, k).plain for k in table.items} == {"active", "expiring"}
        await keys(pilot, "s")
        await shows("keys expiring within 7 days", expires_within="7d")
        assert "expiring within 7d)" in title(screen)
        assert {badge(screen, k).plain for k in table.items} == {"expiring"}
        await keys(pilot, "s")
        await shows("expired keys", status="expired")
        assert {badge(screen, k).plain for k in table.items} == {"expired"}
        await keys(pilot, "s")
        await shows("revoked keys", status="revoked")
        assert {badge(screen, k).plain for k in table.items} == {"revoked"}
        await keys(pilot, "k")
        await shows("revoked app keys", status="revoked", kind="app")
        await keys(pilot, "s", "k", "k")
        await shows("every key")


async def test_filter_by_name_or_by_a_pasted_start(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_keys(pilot)
        table = screen.table
        everything = list(table.items)
        listed = {k["name"]: k for k in await api_keys(http)}

        await keys(pilot, "slash", *"staging")
        await until(pilot, lambda: list(table.items) == [listed["crm-staging"]["id"]], "the staging key")
        await keys(pilot, "enter")
        assert table.query_text == "staging"

        # A leaked key's start, pasted: looked up (not a list's q), that key alone; enter identifies it.
        leaked = listed["crm-laptop-leak"]
        await keys(pilot, "slash", "ctrl+a", "ctrl+k")
        await paste(pilot, leaked["start"])
        assert screen.filter_input.value == leaked["start"]
        await until(pilot, lambda: list(table.items) == [leaked["id"]], "the leaked key alone")
        assert table.query_text is None and f"looked up: {leaked['start']}" in title(screen)
        await keys(pilot, "enter")
        await until(pilot, lambda: isinstance(app.screen, LeakedKeyScreen) and app.screen.matches, "the identification")
        assert [k.id for k in app.screen.matches] == [leaked["id"]]
        await keys(pilot, "escape")
        await keys(pilot, "enter")
        assert isinstance(app.screen, KeyDetailScreen) and app.screen.key_record.id == leaked["id"]
        await keys(pilot, "escape", "escape")
        await until(pilot, lambda: list(table.items) == everything, "every key again")
