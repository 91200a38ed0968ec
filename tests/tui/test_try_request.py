"""Try a request: the data plane's answer to a real app key, explain without one, the curl, the key kept secret.

Everything is checked against the service itself (``service.http()``): the body
shown is the body the data plane returns when called directly, and the explain
fixture below was read off the demo organisation's crm roles by hand:

- accounts-manager: accounts.delete, accounts.read, accounts.write
- viewer: accounts.read, contacts.read, deals.read, reports.read

Waiting is on what the screen shows (``until``), never on time.
"""

from __future__ import annotations

import json
import shlex
import uuid
from pathlib import Path
from types import SimpleNamespace

import pyperclip
import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, Static

from pepyhat import schemas
from pepyhat_tui import outcomes
from pepyhat_tui.client import PepyHatClient
from pepyhat_tui.screens import try_request
from pepyhat_tui.screens.try_request import EXPLAIN_LABEL, TryScreen, curl_command
from tests.tui.conftest import Service
from tests.tui.support import goto, plain, record_toasts, settle, title, until

ERIN = "erin.garcia@example.com"  # crm: accounts-manager until 2025-06-23 (demo data); viewer added below
ALICE = "alice.martin@example.com"  # crm: editor, no expiry
WIDE = (120, 36)
SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_try_request"


@pytest.fixture(autouse=True)
def no_tmux_or_ssh(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clipboard goes the system way (pyperclip), whatever terminal runs the tests."""
    for name in ("TMUX", "TMUX_PANE", "STY", "SSH_TTY", "SSH_CONNECTION"):
        monkeypatch.delenv(name, raising=False)


async def mint_app_key(service: Service, app: str, name: str = "try-test") -> dict:
    async with service.http() as http:
        response = await http.post("/api/v1/keys", json={"name": name, "kind": "app", "app": app})
    assert response.status_code == 201, response.text
    return response.json()


async def open_try(pilot: Pilot, app: str | None = None, email: str | None = None) -> TryScreen:
    await settle(pilot)
    pilot.app.open_try(app=app, email=email)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TryScreen)
    return screen


async def answered(pilot: Pilot, screen: TryScreen, app: str, email: str, with_key: bool) -> None:
    """The answer to what the fields hold now: a pause in the typing (on a loaded machine) may have
    answered a part of the key first, so nothing may be waiting to be asked or still asking."""

    def settled() -> bool:
        asking = any(w.group == "try" and w.is_running for w in screen.app.workers)
        return screen.answered == (app, email, with_key) and screen._debounce is None and not asking

    await until(pilot, settled, f"the answer for {email} in {app}")


async def type_key(pilot: Pilot, screen: TryScreen, key: str) -> None:
    screen.key_field.focus()
    await pilot.press(*key)


def shown(screen: TryScreen, part: str) -> str:
    return plain(screen.query_one(f"#try-{part}", Static))


def everything_shown(pilot: Pilot) -> str:
    """The text of every Static and every unmasked Input on every screen (the title included)."""
    parts = []
    for screen in pilot.app.screen_stack:
        parts += [plain(s) for s in screen.query(Static)]
        parts += [i.value for i in screen.query(Input) if not i.password]
    return "\n".join(parts)


# -- explain, without a key ------------------------------------------------------------------------


async def test_without_a_key_explain_shows_the_hand_checked_answer(service: Service) -> None:
    async with service.http() as http:
        granted = await http.put(f"/api/v1/apps/crm/members/{ERIN}/roles/viewer")
        assert granted.status_code in (200, 201), granted.text
    async with service.dashboard().run_test(size=WIDE) as pilot:
        await settle(pilot)
        await goto(pilot, f"try {ERIN} crm")  # `:try <email> <app>`, as the operator types it
        screen = pilot.app.screen
        assert isinstance(screen, TryScreen)
        await answered(pilot, screen, "crm", ERIN, False)

        assert shown(screen, "status") == EXPLAIN_LABEL
        assert "explain (no key)" in title(screen)
        assert json.loads(screen.body_json) == {
            "email": ERIN, "app": "crm", "found": True, "active": True,
            "roles": ["accounts-manager", "viewer"],
            "permissions": ["accounts.delete", "accounts.read", "accounts.write", "contacts.read", "deals.read",
                            "reports.read"],
        }
        why = screen.why_panel
        assert why.roles_by_permission() == {
            "accounts.delete": ["accounts-manager"],
            "accounts.read": ["accounts-manager", "viewer"],
            "accounts.write": ["accounts-manager"],
            "contacts.read": ["viewer"],
            "deals.read": ["viewer"],
            "reports.read": ["viewer"],
        }
        by_role = {row.role: row for row in why.rows}
        manager, viewer = by_role["accounts-manager"], by_role["viewer"]
        assert (manager.granted_by, manager.until) == ("demo-data", "2025-06-23 (in 21d)")
        assert (viewer.granted, viewer.until) == ("2025-06-02", "no expiry")
        assert viewer.granted_by  # the embedded operator, whoever runs the tests
        assert screen.reply is None  # no data-plane request without a key


async def test_an_unknown_email_is_found_false_with_its_meaning(service: Service) -> None:
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", "nobody@example.com")
        await answered(pilot, screen, "crm", "nobody@example.com", False)
        body = json.loads(screen.body_json)
        assert (body["found"], body["active"], body["roles"], body["permissions"]) == (False, False, [], [])
        assert shown(screen, "meaning") == outcomes.UNKNOWN_USER.line()
        assert "found: false" in shown(screen, "meaning")
        assert screen.why_panel.rows == [] and screen.why_panel.noted == "no such user: nothing is granted"


async def test_an_unknown_app_is_404_app_not_found_with_its_meaning(service: Service) -> None:
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "nosuch", ALICE)
        await until(pilot, lambda: shown(screen, "status").startswith("404 app_not_found"), "the refusal")
        assert screen.chosen_app == "nosuch"  # offered in the select although the service has no such app
        assert shown(screen, "meaning") == outcomes.OUTCOMES["app_not_found"].line()


# -- the data plane, with a key ---------------------------------------------------------------------


async def test_with_an_app_key_the_data_plane_answer_is_shown_as_it_is(service: Service) -> None:
    minted = await mint_app_key(service, "crm")
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await answered(pilot, screen, "crm", ALICE, False)
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", ALICE, True)

        async with service.http() as http:  # the same request, made directly
            direct = await http.get(f"/api/v1/authz/{ALICE}", params={"app": "crm"},
                                    headers={"X-API-Key": minted["key"]})
        assert direct.status_code == 200
        assert screen.reply.status == 200
        assert screen.reply.body == direct.json()
        assert screen.body_json == json.dumps(direct.json(), indent=2, ensure_ascii=False)
        assert shown(screen, "status").startswith("200 OK · ")
        assert " ms — the data plane's answer to this app key" in shown(screen, "status")
        assert "X-Request-ID: " in shown(screen, "headers")
        assert "data plane (app key)" in title(screen)
        # The why panel comes from explain (the operator holds authz.explain).
        assert screen.why_panel.roles_by_permission() == {p: ["editor"] for p in direct.json()["permissions"]}
        # Nowhere on screen, the key: the field shows dots.
        assert minted["key"] not in everything_shown(pilot)
        assert minted["key"] not in pilot.app.export_screenshot()


async def test_a_revoked_key_is_403_key_revoked_and_what_it_means(service: Service) -> None:
    minted = await mint_app_key(service, "crm")
    async with service.http() as http:
        assert (await http.delete(f"/api/v1/keys/{minted['id']}")).status_code == 200
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", ALICE, True)
        assert screen.reply.status == 403
        assert shown(screen, "status").startswith("403 key_revoked · ")
        assert shown(screen, "meaning") == "403 key_revoked — this key was revoked: the app must be given a new key"
        assert screen.reply.body["error"]["code"] == "key_revoked"


async def test_a_key_for_another_app_is_403_key_not_for_app(service: Service) -> None:
    minted = await mint_app_key(service, "wiki")
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", ALICE, True)
        assert screen.reply.status == 403
        assert shown(screen, "meaning") == outcomes.OUTCOMES["key_not_for_app"].line()
        assert shown(screen, "meaning").startswith("403 key_not_for_app — ")


async def test_an_unknown_email_with_a_key_is_200_found_false(service: Service) -> None:
    minted = await mint_app_key(service, "crm")
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", "ghost@example.com")
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", "ghost@example.com", True)
        assert screen.reply.status == 200 and screen.reply.body["found"] is False
        assert shown(screen, "meaning") == outcomes.UNKNOWN_USER.line()


async def test_without_authz_explain_the_why_panel_says_why_it_is_not_shown(service: Service) -> None:
    minted = await mint_app_key(service, "crm")
    token = service.mint(["apps.read", "users.read"], name="no-explain")
    async with service.dashboard(token).run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await until(pilot, lambda: "not allowed" in shown(screen, "status"), "explain refused")
        assert screen.explained is None
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", ALICE, True)
        assert screen.reply.status == 200
        assert screen.why_panel.noted == "not shown: your token lacks authz.explain for apps/crm/authz/" + ALICE


# -- the curl ---------------------------------------------------------------------------------------


async def test_the_curl_masks_the_key_and_c_copies_it_from_the_results(service: Service, monkeypatch) -> None:
    given: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", given.append)
    minted = await mint_app_key(service, "crm")
    async with service.dashboard().run_test(size=WIDE) as pilot:
        toasts = record_toasts(pilot.app)
        screen = await open_try(pilot, "crm", ALICE)
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", ALICE, True)
        expected = ('curl -sS -H "X-API-Key: $PEPY_HAT_API_KEY" '
                    f"\"${{PEPY_HAT_URL:-http://127.0.0.1:8000}}\"'/api/v1/authz/{ALICE}?app=crm'")
        assert screen.curl == expected
        assert shown(screen, "curl") == expected
        assert "no network address" in shown(screen, "curl-note")  # embedded: said so

        await pilot.press("c")  # in the key field, `c` is a character of the key
        await settle(pilot)
        assert given == [] and screen.key_field.value == minted["key"] + "c"
        await pilot.press("backspace")
        await answered(pilot, screen, "crm", ALICE, True)

        screen.results.focus()
        await settle(pilot)
        assert "Copy curl" in {b.binding.description for b in screen.active_bindings.values()}
        await pilot.press("c")
        await settle(pilot)
        assert given == [expected]
        assert ("", "curl copied to the system clipboard", "information") in toasts
        assert all(minted["key"] not in message for _, message, _ in toasts)


def test_curl_for_a_remote_service_quotes_the_whole_url() -> None:
    client = PepyHatClient.remote("https://authz.example.com/", None)
    command = curl_command(client, "o'brien+x@example.com", "crm", embedded=False)
    assert shlex.split(command) == [
        "curl", "-sS", "-H", "X-API-Key: $PEPY_HAT_API_KEY",
        "https://authz.example.com/api/v1/authz/o%27brien+x@example.com?app=crm",
    ]
    embedded = curl_command(client, "a@example.com", "my app", embedded=True)
    assert embedded.endswith("\"${PEPY_HAT_URL:-http://127.0.0.1:8000}\"'/api/v1/authz/a@example.com?app=my%20app'")


# -- as you type ------------------------------------------------------------------------------------


async def test_typing_asks_again_once_the_typing_stops(service: Service, monkeypatch) -> None:
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await answered(pilot, screen, "crm", ALICE, False)
        client = pilot.app.client
        asked: list[str] = []
        original = client.explain

        async def explain(email: str, app: str):
            asked.append(email)
            return await original(email, app)

        monkeypatch.setattr(client, "explain", explain)
        # A debounce that never ends within the test: keystrokes alone send nothing.
        monkeypatch.setattr(try_request, "DEBOUNCE", 3600)
        screen.email_field.focus()
        await pilot.press("end", *["backspace"] * len(ALICE), *ERIN)
        await settle(pilot)
        assert asked == [] and screen.answered == ("crm", ALICE, False)
        await pilot.press("enter")  # enter asks at once
        await answered(pilot, screen, "crm", ERIN, False)
        assert asked == [ERIN]

        # With the real debounce, the screen follows the typing by itself.
        monkeypatch.setattr(try_request, "DEBOUNCE", 0.3)
        await pilot.press("end", *["backspace"] * len(ERIN), *"nobody@example.com")
        await answered(pilot, screen, "crm", "nobody@example.com", False)
        assert asked[-1] == "nobody@example.com"
        assert len(asked) < 1 + len("nobody@example.com") + len(ERIN)  # not one request per keystroke
        assert shown(screen, "meaning") == outcomes.UNKNOWN_USER.line()


async def test_the_email_is_suggested_from_the_service(service: Service) -> None:
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm")
        screen.email_field.focus()
        await pilot.press(*"alice.mar")
        await until(pilot, lambda: screen.email_field._suggestion == ALICE, "the suggestion")
        await pilot.press("right")  # takes it
        assert screen.email_field.value == ALICE
        await answered(pilot, screen, "crm", ALICE, False)


# A key glued to the address (no space between) is still a key in the URL: the service would
# refuse it with 400 secret_in_url, so the dashboard must not send it either.
@pytest.mark.parametrize("glued", [False, True], ids=["alone", "glued_to_the_email"])
async def test_a_pasted_escape_is_shown_escaped_and_a_pasted_key_is_not_sent(service: Service, monkeypatch, glued) -> None:
    minted = await mint_app_key(service, "crm")
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await answered(pilot, screen, "crm", ALICE, False)
        field = screen.email_field
        field.focus()  # (focus selects the whole value: the paste replaces it)
        await settle(pilot)
        sent: list[str] = []
        monkeypatch.setattr(pilot.app.client, "explain", lambda email, app: sent.append(email))
        field.post_message(events.Paste(ALICE + minted["key"] if glued else minted["key"]))
        await until(pilot, lambda: "not sent" in shown(screen, "status"), "the key refused")
        assert sent == []
        assert "secret_in_url" in shown(screen, "meaning") and screen.curl is None
        field.value = ""
        field.insert_text_at_cursor("evil\x1b]52;c;AAAA\x07@example.com")
        assert "\x1b" not in field.value and "\\x1b" in field.value


# -- the key is forgotten -----------------------------------------------------------------------------


async def test_the_key_is_gone_after_the_screen_closes(service: Service) -> None:
    minted = await mint_app_key(service, "crm")
    async with service.dashboard().run_test(size=WIDE) as pilot:
        screen = await open_try(pilot, "crm", ALICE)
        await type_key(pilot, screen, minted["key"])
        await answered(pilot, screen, "crm", ALICE, True)
        field = screen.key_field
        assert field.value == minted["key"]
        await pilot.press("escape")
        await settle(pilot)
        assert screen not in pilot.app.screen_stack
        assert field.value == ""
        assert minted["key"] not in repr(vars(screen)) and minted["key"] not in repr(vars(field))
        assert minted["key"] not in everything_shown(pilot)
        assert pilot.app.clipboard != minted["key"]


# -- pictures ---------------------------------------------------------------------------------------


@pytest.fixture
def steady(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two things a picture would otherwise change every run: the request id and the latency."""
    fixed = uuid.UUID("0123456789abcdef0123456789abcdef")
    monkeypatch.setattr("pepyhat.api.middleware.uuid", SimpleNamespace(uuid4=lambda: fixed))
    ticks = iter(i * 0.0035 for i in range(10_000))
    monkeypatch.setattr("pepyhat_tui.client.time", SimpleNamespace(perf_counter=lambda: next(ticks)))


def test_snapshot_without_a_key(snap_compare, demo_app, steady) -> None:
    async def run_before(pilot: Pilot) -> None:
        screen = await open_try(pilot, "crm", ERIN)
        await answered(pilot, screen, "crm", ERIN, False)

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_snapshot_with_a_key(snap_compare, demo_app, steady) -> None:
    plaintexts: list[str] = []

    async def run_before(pilot: Pilot) -> None:
        client = await pilot.app.wait_client()
        minted = await client.create_key(schemas.KeyCreate(name="try-snapshot", kind="app", app="crm"))
        plaintexts.append(minted.take())
        screen = await open_try(pilot, "crm", ALICE)
        await type_key(pilot, screen, plaintexts[0])
        await answered(pilot, screen, "crm", ALICE, True)
        screen.results.focus()  # so the footer offers `c`
        await settle(pilot)
        assert plaintexts[0] not in pilot.app.export_screenshot()

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)
    stored = SNAPSHOTS / "test_snapshot_with_a_key.svg"
    if stored.exists():  # (with --snapshot-update it is written when the session ends)
        assert plaintexts[0] not in stored.read_text() and "phk_" not in stored.read_text()


def test_snapshot_small_terminal(snap_compare, demo_app, steady) -> None:
    async def run_before(pilot: Pilot) -> None:
        screen = await open_try(pilot, "crm", ERIN)
        await answered(pilot, screen, "crm", ERIN, False)

    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=run_before)


def test_the_json_shows_bidi_and_c1_characters_escaped() -> None:
    shown_json = try_request.json_text({"email": "eve\u202egnp.exe@example.com", "name": "x\x85y\x1b[31m", "ok": "é"})
    assert "\u202e" not in shown_json and "\x85" not in shown_json and "\x1b" not in shown_json
    assert '"email": "eve\\u202egnp.exe@example.com"' in shown_json
    assert '"name": "x\\x85y\\u001b[31m"' in shown_json  # (json.dumps escapes C0 itself)
    assert '"ok": "é"' in shown_json and shown_json.count("\n") == 4
