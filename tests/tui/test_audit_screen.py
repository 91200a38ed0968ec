"""The audit log screen: newest first, each filter against what the service holds, follow and pause,
enter on an event opens its target, a 403 in the banner, and a picture of an event's diff.

Events come from real writes through the service's API (users created, roles
granted and changed, keys minted, by the operator and by a token called
"robot"), and, for the time filters, rows written straight into the store with
chosen instants.  The ``frozen`` fixture (conftest) puts the service's audit
clock at FIXED too: its events are stamped then, and pruned by that clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.coordinate import Coordinate
from textual.pilot import Pilot

from pepyhat import audit
from pepyhat.embedded import build_embedded_service
from pepyhat.schemas import CAPABILITIES
from pepyhat.store.db import make_sessionmaker, transaction
from pepyhat.store.tables import AuditEvent
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.config import Target
from pepyhat_tui.screens import audit as audit_screen
from pepyhat_tui.screens.app_detail import AppDetailScreen
from pepyhat_tui.screens.audit import AuditScreen
from pepyhat_tui.screens.key_detail import KeyDetailScreen
from pepyhat_tui.screens.user_detail import UserDetailScreen
from pepyhat_tui.widgets.audit_detail import AuditDetail
from pepyhat_tui.widgets.banner import Banner
from tests.tui.conftest import Service
from tests.tui.support import FIXED, goto, plain, record_toasts, settle, steps, title, type_text, until

SIZE = (120, 36)
OLD = {"hour": FIXED - timedelta(hours=1), "hours": FIXED - timedelta(hours=5), "days": FIXED - timedelta(days=3)}


# -- helpers ----------------------------------------------------------------------------


def store_events(service: Service, *events: dict) -> list[int]:
    """Rows written straight into the audit table (for chosen instants); their ids."""
    with transaction(make_sessionmaker(service.engine)) as session:
        blank = dict(actor_id=None, before=None, after=None, request_id=None, client=None)
        rows = [AuditEvent(**{**blank, **e}) for e in events]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


async def populate(service: Service) -> None:
    """Three old events at chosen instants, then writes by the operator and by a token named robot."""
    store_events(
        service,
        dict(at=OLD["days"], actor_name="old-timer", action="key.revoke", target="tokens/k_gone"),
        dict(at=OLD["hours"], actor_name="old-timer", action="user.update", target="users/alice.anderson@example.com"),
        dict(at=OLD["hour"], actor_name="old-timer", action="app.update", target="apps/wiki"),
    )
    robot = service.mint(name="robot")
    async with service.http() as http:
        (await http.post("/api/v1/users", json={"email": "zed@example.com", "name": "Zed"})).raise_for_status()
        (await http.put("/api/v1/apps/crm/members/zed@example.com/roles/viewer")).raise_for_status()
        (await http.patch("/api/v1/users/zed@example.com", json={"name": "Zed Z"})).raise_for_status()
    async with service.http(robot) as http:
        (await http.put("/api/v1/apps/crm/members/zed@example.com/roles/editor")).raise_for_status()
        (await http.patch("/api/v1/apps/crm/roles/viewer", json={"description": "Reads"})).raise_for_status()


async def held(service: Service) -> list[dict]:
    """Every event the service holds, newest first, as the API gives them."""
    async with service.http() as http:
        return (await http.get("/api/v1/audit", params={"limit": 500})).raise_for_status().json()["data"]


def at(event: dict) -> datetime:
    return datetime.fromisoformat(event["at"])


def shown(screen: AuditScreen) -> list[int]:
    """Event ids in the order the table shows them, top first."""
    table = screen.table
    return [int(table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value) for row in range(table.row_count)]


async def open_audit(pilot: Pilot) -> AuditScreen:
    await goto(pilot, "audit")
    screen = pilot.app.screen
    assert isinstance(screen, AuditScreen)
    await until(pilot, lambda: screen.table.loaded_once and not screen.table.loading_page, "the audit log")
    return screen


async def filter_by(pilot: Pilot, screen: AuditScreen, text: str) -> None:
    """`/`, the text, enter: the list shows that filter's events."""
    await steps(pilot, "slash")
    await type_text(pilot, text)
    await steps(pilot, "enter")
    await until(pilot, lambda: screen.table.query_text == text and not screen.table.loading_page, f"filter {text}")


def count_audit_calls(app: PepyHatApp) -> list[dict]:
    """Every list_audit the dashboard sends from now on, as its keyword arguments."""
    calls: list[dict] = []
    client = app.client
    original = client.list_audit

    async def counting(*args, **kwargs):
        calls.append(kwargs)
        return await original(*args, **kwargs)

    client.list_audit = counting  # type: ignore[method-assign]
    return calls


async def ticks(pilot: Pilot, count: int) -> None:
    """Let the event loop run ``count`` intervals of a timer as fast as the screen's poll (a control, not a clock)."""
    seen: list[int] = []
    control = pilot.app.set_interval(audit_screen.POLL_EVERY, lambda: seen.append(1))
    await until(pilot, lambda: len(seen) >= count, f"{count} ticks")
    control.stop()


def banner_text(screen) -> str:
    banner = screen.query_one(Banner)
    return plain(banner) if banner.display else ""


# -- the list ---------------------------------------------------------------------------


async def test_the_service_stamps_and_prunes_on_the_frozen_clock(service: Service):
    # (conftest's `frozen`: on the wall clock, the first event would be a year and more old)
    store_events(service, dict(at=FIXED - timedelta(days=300), actor_name="old-timer", action="app.update",
                               target="apps/wiki"))
    async with service.http() as http:
        (await http.post("/api/v1/users", json={"email": "zed@example.com"})).raise_for_status()
    assert audit.prune(service.engine, 365) == 0
    assert [(e["actor_name"], at(e)) for e in await held(service)] == [
        ("tester (embedded)", FIXED), ("old-timer", FIXED - timedelta(days=300)),
    ]



async def test_newest_first_with_the_event_in_full_below(service: Service):
    await populate(service)
    expected = [e["id"] for e in await held(service)]
    async with service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        ids = shown(screen)
        assert ids == expected and ids == sorted(ids, reverse=True) and len(ids) == 8
        assert "8 events" in title(screen) and "● live" in title(screen)
        # The cursor is on the newest: the robot's change of the viewer role, as a diff.
        detail = screen.query_one(AuditDetail).text
        assert "role.update" in detail and "robot" in detail and "apps/crm/roles/viewer" in detail
        assert '- description: "Read only"' in detail and '+ description: "Reads"' in detail
        assert '  name: "Viewer"' in detail  # unchanged


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("actor:robot", lambda e: e["actor_name"] == "robot"),
        ('actor:"tester (embedded)"', lambda e: e["actor_name"] == "tester (embedded)"),
        ("action:grant.*", lambda e: e["action"].startswith("grant.")),
        ("action:user.update", lambda e: e["action"] == "user.update"),
        ("target:apps/crm/**", lambda e: e["target"].startswith("apps/crm/")),
        ("zed@example.com", lambda e: "/zed@example.com" in e["target"]),  # a bare email: about that user
        ("since:2h", lambda e: at(e) >= FIXED - timedelta(hours=2)),
        ("since:2025-06-02", lambda e: at(e) >= datetime(2025, 6, 2, tzinfo=timezone.utc)),
        ("until:2025-06-02", lambda e: at(e) < datetime(2025, 6, 2, tzinfo=timezone.utc)),
        ("actor:old-timer since:1d", lambda e: e["actor_name"] == "old-timer" and at(e) >= FIXED - timedelta(days=1)),
    ],
    ids=["actor", "actor-quoted", "action-prefix", "action-exact", "target-glob", "bare-email", "since-duration",
         "since-date", "until-date", "actor-and-since"],
)
async def test_each_filter_shows_what_the_service_holds_for_it(service: Service, text, wanted):
    await populate(service)
    expected = [e["id"] for e in await held(service) if wanted(e)]
    assert expected  # each case keeps some events...
    async with service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        assert len(shown(screen)) > len(expected)  # ...and drops some
        await filter_by(pilot, screen, text)
        assert shown(screen) == expected
        assert f"filter: {text}" in title(screen) and "bad filter" not in title(screen)


async def test_since_a_duration_and_since_a_date_differ_on_the_old_events(service: Service):
    await populate(service)
    async with service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await filter_by(pilot, screen, "actor:old-timer since:2h")
        assert [screen.table.items[str(i)].target for i in shown(screen)] == ["apps/wiki"]
        await steps(pilot, "escape")
        await filter_by(pilot, screen, "actor:old-timer since:2025-06-02")
        targets = [screen.table.items[str(i)].target for i in shown(screen)]
        assert targets == ["apps/wiki", "users/alice.anderson@example.com"]


async def test_audit_with_an_argument_opens_with_that_filter(service: Service):
    await populate(service)
    async with service.dashboard().run_test(size=SIZE) as pilot:
        await settle(pilot)
        pilot.app.go("audit", "action:grant.*")
        await until(pilot, lambda: isinstance(pilot.app.screen, AuditScreen), "the audit screen")
        screen = pilot.app.screen
        await until(pilot, lambda: screen.table.query_text == "action:grant.*" and not screen.table.loading_page,
                    "the filtered list")
        assert {screen.table.items[str(i)].action for i in shown(screen)} == {"grant.add"}
        assert "filter: action:grant.*" in title(screen)


async def test_a_bad_filter_token_says_so_sends_nothing_and_keeps_the_list(service: Service):
    await populate(service)
    async with service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await filter_by(pilot, screen, "actor:robot")
        before = shown(screen)
        await steps(pilot, "p")  # (paused: every request counted below is the filter's)
        calls = count_audit_calls(pilot.app)
        await steps(pilot, "slash", "end")
        await type_text(pilot, " since:yesterday")
        await until(pilot, lambda: screen.pane.filter_error is not None, "the filter's error")
        await steps(pilot, "enter")
        assert "filter not sent: since: 'yesterday' is not a duration (2h, 7d)" in banner_text(screen)
        assert "bad filter" in title(screen) and "filter: actor:robot" in title(screen)
        assert shown(screen) == before
        # ("actor:robot " on the way, if the debounce fired there, is the filter shown: nothing else went)
        assert all(call == {"cursor": None, "limit": 100, "actor": "robot"} for call in calls), calls
        # Fixed, it is sent, and the error goes.
        await steps(pilot, "slash", "end", "backspace", "backspace", "backspace", "backspace", "backspace",
                    "backspace", "backspace", "backspace", "backspace")
        await type_text(pilot, "1d")
        await steps(pilot, "enter")
        await until(pilot, lambda: screen.table.query_text == "actor:robot since:1d" and not screen.table.loading_page,
                    "the fixed filter")
        assert banner_text(screen) == "" and "bad filter" not in title(screen)
        assert calls[-1]["actor"] == "robot" and calls[-1]["since"] == (FIXED - timedelta(days=1)).isoformat()
        assert shown(screen) == before


async def test_hostile_text_in_an_event_is_shown_literally(service: Service):
    evil = "Evil [/] [b]x\x1b]52;c;QUFB\x07\u202egnp.exe"
    store_events(service, dict(
        at=OLD["hour"], actor_name=evil, action="user.update", target=f"users/{evil}", request_id=evil, client=evil,
        before={evil: evil, "nested": {"k": evil}}, after={evil: "plain", "nested": {"k": evil}},
    ))
    async with service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        detail = screen.query_one(AuditDetail).text
        shown_evil = "Evil [/] [b]x\\x1b]52;c;QUFB\\x07\\u202egnp.exe"
        assert f"actor   {shown_evil}" in detail and f"target  users/{shown_evil}" in detail
        assert f"- {shown_evil}: " in detail and f"+ {shown_evil}: \"plain\"" in detail
        assert "\x1b" not in detail and "\u202e" not in detail and "\x07" not in detail
        row = [str(getattr(cell, "plain", cell)) for cell in screen.table.get_row_at(0)]
        assert row[2] == shown_evil and "\x1b" not in "".join(row)


# -- following ----------------------------------------------------------------------------


async def test_new_events_appear_on_top_while_open_and_not_while_paused(service: Service, monkeypatch):
    monkeypatch.setattr(audit_screen, "POLL_EVERY", 0.05)
    await populate(service)
    async with service.http() as http, service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await steps(pilot, "down", "down")
        reading = screen.table.selected_key()

        created = (await http.post("/api/v1/users", json={"email": "new@example.com"})).raise_for_status()
        newest = (await held(service))[0]
        assert newest["target"] == "users/new@example.com" and created.status_code == 201
        await until(pilot, lambda: shown(screen)[0] == newest["id"], "the new event on top", timeout=10)
        assert screen.table.selected_key() == reading  # the operator's row did not change under them
        assert screen.query_one(AuditDetail).text.startswith(f"#{reading} ")
        assert "9 events" in title(screen)

        await steps(pilot, "p")
        assert "paused" in title(screen) and "● live" not in title(screen)
        (await http.post("/api/v1/users", json={"email": "later@example.com"})).raise_for_status()
        later = (await held(service))[0]
        calls = count_audit_calls(pilot.app)
        await ticks(pilot, 8)
        assert calls == [] and later["id"] not in shown(screen)

        await steps(pilot, "p")
        assert "● live" in title(screen)
        await until(pilot, lambda: shown(screen)[0] == later["id"], "the event written while paused", timeout=10)


async def test_a_service_slower_than_the_poll_still_brings_new_events(service: Service, monkeypatch):
    # Each tick used to cancel the poll under way: a service slower than a tick never answered one.
    monkeypatch.setattr(audit_screen, "POLL_EVERY", 0.05)
    await populate(service)
    async with service.http() as http, service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        client = pilot.app.client
        original = client.list_audit
        started: list[dict] = []

        async def slow(*args, **kwargs):
            started.append(kwargs)
            await asyncio.sleep(8 * audit_screen.POLL_EVERY)
            return await original(*args, **kwargs)

        client.list_audit = slow  # type: ignore[method-assign]
        (await http.post("/api/v1/users", json={"email": "slow@example.com"})).raise_for_status()
        newest = (await held(service))[0]
        await until(pilot, lambda: shown(screen)[0] == newest["id"], "the new event, from a slow poll", timeout=10)
        assert len(started) < 8  # one poll at a time, not one per tick


async def test_no_polling_while_another_screen_is_current(service: Service, monkeypatch):
    monkeypatch.setattr(audit_screen, "POLL_EVERY", 0.05)
    await populate(service)
    async with service.http() as http, service.dashboard().run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)
        await goto(pilot, "users")
        calls = count_audit_calls(pilot.app)
        (await http.post("/api/v1/users", json={"email": "away@example.com"})).raise_for_status()
        await ticks(pilot, 8)
        assert calls == []
        await goto(pilot, "audit")
        assert pilot.app.screen is screen
        newest = (await held(service))[0]
        await until(pilot, lambda: shown(screen)[0] == newest["id"], "the event written while away", timeout=10)


# -- enter: the event's target ------------------------------------------------------------


async def select_event(pilot: Pilot, screen: AuditScreen, service: Service, wanted) -> dict:
    """Put the cursor on the first event ``wanted`` takes, as the service holds it."""
    event = next(e for e in await held(service) if wanted(e))
    screen.table.move_cursor(row=screen.table.get_row_index(str(event["id"])))
    await settle(pilot)
    return event


async def test_enter_opens_the_user_the_app_or_the_key_of_the_event(service: Service):
    await populate(service)
    async with service.http() as http:
        key = (await http.post("/api/v1/keys", json={"name": "audit-e2e", "app": "crm"})).raise_for_status().json()
    app = service.dashboard()
    toasts = record_toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_audit(pilot)

        await select_event(pilot, screen, service, lambda e: e["action"] == "user.create")
        await steps(pilot, "enter")
        assert isinstance(app.screen, UserDetailScreen) and app.screen.email == "zed@example.com"
        await steps(pilot, "escape")

        await select_event(pilot, screen, service, lambda e: e["target"].endswith("/zed@example.com/roles/editor"))
        await steps(pilot, "enter")
        assert isinstance(app.screen, UserDetailScreen) and app.screen.email == "zed@example.com"
        await steps(pilot, "escape")

        await select_event(pilot, screen, service, lambda e: e["action"] == "role.update")
        await steps(pilot, "enter")
        assert isinstance(app.screen, AppDetailScreen) and app.screen.slug == "crm"
        await steps(pilot, "escape")

        event = await select_event(pilot, screen, service, lambda e: e["action"] == "key.create")
        assert event["target"] == f"apps/crm/keys/{key['id']}"
        await steps(pilot, "enter")
        assert isinstance(app.screen, KeyDetailScreen) and app.screen.key_record.id == key["id"]
        await steps(pilot, "escape")
        assert app.screen is screen

        await select_event(pilot, screen, service, lambda e: e["target"] == "tokens/k_gone")  # a key that is no more
        await steps(pilot, "enter")
        assert app.screen is screen and ("", "key k_gone no longer exists (deleted with its app?)", "warning") in toasts

        screen.pane.open_target("keys")  # a lookup that matched no key names no resource
        await settle(pilot)
        assert app.screen is screen and toasts[-1][1] == "nothing to open for keys"


# -- failure ------------------------------------------------------------------------------


async def test_a_token_without_audit_read_is_told_so_and_the_screen_stays_usable(service: Service, monkeypatch):
    monkeypatch.setattr(audit_screen, "POLL_EVERY", 0.05)
    token = service.mint([c for c in CAPABILITIES if c != "audit.read"])
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        calls = count_audit_calls(pilot.app)
        await goto(pilot, "audit")
        screen = pilot.app.screen
        await until(pilot, lambda: "this token lacks audit.read" in banner_text(screen), "the banner")
        await ticks(pilot, 8)
        assert len(calls) == 1  # no poll of what it may not read
        await steps(pilot, "p", "p", "slash")
        await type_text(pilot, "actor:robot")
        await steps(pilot, "enter")
        assert isinstance(pilot.app.screen, AuditScreen) and "this token lacks audit.read" in banner_text(screen)
        await goto(pilot, "users")
        assert pilot.app.screen.__class__.__name__ == "UsersScreen"


# -- a picture ----------------------------------------------------------------------------

WRITES = (  # (method, path, body): the operator's, each with its own request id
    ("POST", "/api/v1/users", {"email": "zed@example.com", "name": "Zed"}),
    ("PUT", "/api/v1/apps/crm/members/zed@example.com/roles/viewer", None),
    ("PATCH", "/api/v1/users/zed@example.com", {"name": "Zed Zimmermann"}),
    ("PATCH", "/api/v1/apps/crm/roles/viewer",
     {"description": "Reads accounts only", "permissions": ["accounts.read"]}),
)


@pytest.fixture
def audited(tmp_path: Path, frozen) -> PepyHatApp:
    """A dashboard on a store holding WRITES' events, at fixed instants and request ids (the picture must not move)."""
    database = tmp_path / "pepyhat.db"

    async def write() -> None:
        asgi = await asyncio.to_thread(build_embedded_service, database, "tester (embedded)", demo=True, demo_now=FIXED)
        async with asgi.router.lifespan_context(asgi):
            service = Service(asgi, database)
            async with service.http() as http:
                for number, (method, path, body) in enumerate(WRITES, start=1):
                    headers = {"X-Request-ID": f"req-{number:04d}"}
                    (await http.request(method, path, json=body, headers=headers)).raise_for_status()
            with transaction(make_sessionmaker(service.engine)) as session:
                events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
                for age, event in zip(range(len(events), 0, -1), events):
                    event.at = (FIXED - timedelta(minutes=7 * age))

    asyncio.run(write())
    return PepyHatApp(Target("embedded", "embedded", database=database, color="blue"), clock=lambda: FIXED)


def test_snapshot_of_a_role_update_diff(snap_compare, audited):
    async def run_before(pilot: Pilot) -> None:
        await open_audit(pilot)
        assert "role.update" in pilot.app.screen.query_one(AuditDetail).text

    assert snap_compare(audited, terminal_size=SIZE, run_before=run_before)


def test_snapshot_small_terminal_with_the_filter_open(snap_compare, audited):
    async def run_before(pilot: Pilot) -> None:
        await open_audit(pilot)
        await steps(pilot, "down", "slash")

    assert snap_compare(audited, terminal_size=(80, 24), run_before=run_before)
