"""When the service fails: a toast or banner names the cause, the screen stays usable, ctrl+r retries.

Failures come from where they would in production: the service's own 500 (an
exception inside a route), a transport that times out or meets a proxy's error
page, a token revoked or too weak, a duplicate, a value the service refuses.
And the command line fails before any screen with one line on stderr.  The
service going away and coming back, stalls and dropped connections are
``test_connection.py``'s.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable

import httpx
import pytest
from sqlalchemy import update
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from pepyhat import keys as pepyhat_keys
from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.schemas import CAPABILITIES
from pepyhat.store import queries
from pepyhat.store.db import make_sessionmaker, transaction
from pepyhat.store.tables import Key
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import EMBEDDED_URL, PepyHatClient
from pepyhat_tui.config import Target
from pepyhat_tui.screens.grant_form import GrantForm
from pepyhat_tui.screens.token_refused import TokenRefusedScreen
from pepyhat_tui.screens.user_detail import UserDetailScreen
from pepyhat_tui.screens.user_form import UserForm
from pepyhat_tui.screens.users import UsersScreen
from pepyhat_tui.widgets.banner import Banner
from tests.servers import free_port
from tests.tui.remote import mint, sqlite_server
from tests.tui.support import FIXED, keys, open_users, plain, record_toasts, until

SIZE = (120, 36)
ROOT = Path(__file__).resolve().parents[2]


# -- helpers -------------------------------------------------------------------


def banner(screen) -> Banner:
    return screen.query_one(Banner)


def banner_text(screen) -> str:
    shown = banner(screen)
    return plain(shown) if shown.display else ""


def no_traceback(app, toasts) -> None:
    for title, message, _ in toasts:
        assert "Traceback" not in message and "Error:" not in title, (title, message)
    for widget in app.screen.query(Static):
        assert "Traceback" not in plain(widget)
    assert "Traceback" not in app.export_screenshot()


class FaultyTransport(httpx.AsyncBaseTransport):
    """The embedded service, except while ``fault`` answers a request with a response or an exception."""

    def __init__(self, asgi) -> None:
        self.inner = httpx.ASGITransport(app=asgi, raise_app_exceptions=False, client=("127.0.0.1", 0))
        self.fault: Callable[[httpx.Request], httpx.Response | Exception | None] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        outcome = self.fault(request) if self.fault else None
        if isinstance(outcome, Exception):
            raise outcome
        if outcome is not None:
            return outcome
        return await self.inner.handle_async_request(request)


def faulty_dashboard(service) -> tuple[PepyHatApp, FaultyTransport]:
    transport = FaultyTransport(service.asgi)
    client = PepyHatClient(httpx.AsyncClient(transport=transport, base_url=EMBEDDED_URL))
    target = Target("embedded", "embedded", database=service.database)
    return PepyHatApp(target, client=client, clock=lambda: FIXED, retry_delays=(0.2,)), transport


async def expect_failure(pilot: Pilot, screen, toasts, *, message: str, code: str) -> None:
    """ctrl+r: the banner and a toast name the cause; the rows already shown stay."""
    rows = list(screen.table.items)
    before = len(toasts)
    await keys(pilot, "ctrl+r")
    await until(pilot, lambda: message in banner_text(screen), f"the banner to say {message!r}")
    assert "ctrl+r retries" in banner_text(screen)
    assert ("Loading failed (" + code + ")", message, "error") in toasts[before:]
    assert any(n.message == message for n in pilot.app._notifications)  # on screen now
    assert list(screen.table.items) == rows  # what was on screen is still there
    assert pilot.app.screen is screen


async def expect_recovery(pilot: Pilot, screen) -> None:
    await keys(pilot, "ctrl+r")
    await until(pilot, lambda: not banner(screen).display and not screen.table.loading_page, "the banner to go")
    assert screen.table.items


# -- faults inside or in front of the service ----------------------------------


async def test_internal_error_in_the_service(service, monkeypatch):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)

        import pepyhat.service.users as users_api

        def broken(*args, **kwargs):
            raise RuntimeError("secret internals: connection pool exhausted")

        monkeypatch.setattr(users_api, "paginate", broken)
        message = "internal server error; see the service log for the request id"
        await expect_failure(pilot, screen, toasts, message=message, code="internal_error")
        assert "secret internals" not in app.export_screenshot()
        no_traceback(app, toasts)

        # Other screens and rows still work: open the selected user's detail.
        await keys(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, UserDetailScreen)
        await until(pilot, lambda: detail.access is not None, "the user's access")
        await keys(pilot, "escape")
        assert app.screen is screen

        monkeypatch.undo()
        await expect_recovery(pilot, screen)
        assert len(screen.table.items) == 100


async def test_proxy_error_page_and_a_change_that_times_out(service):
    app, transport = faulty_dashboard(service)
    toasts = record_toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)

        # A proxy in front answers 502 with an HTML page: what it means, not the HTML.
        transport.fault = lambda r: httpx.Response(502, html="<html><h1>Bad Gateway</h1></html>")
        await keys(pilot, "ctrl+r")
        proxy = "a proxy answered 502 Bad Gateway: the service behind it is not answering"
        await until(pilot, lambda: proxy in banner_text(screen), "the banner to say what the 502 means")
        assert "<html>" not in app.export_screenshot()
        transport.fault = None
        await until(pilot, lambda: app.watcher.online and not banner(screen).display, "recovery by itself")

        # A change sent and never answered: it may have been made, and the toast says so.
        email = screen.table.selected().email
        transport.fault = lambda r: httpx.ReadTimeout("timed out", request=r) if r.method == "PATCH" else None
        before = len(toasts)
        await keys(pilot, "x", "y")  # deactivate, confirmed
        await until(pilot, lambda: len(toasts) > before, "the toast")
        assert toasts[-1] == ("No answer (timeout)", "the service did not answer within 5 s: it may or may not have "
                              "been made; the list shows which once the service answers", "error")
        assert str(screen.table.get_cell(email, "status")) == "active"
        no_traceback(app, toasts)

        transport.fault = None
        await until(pilot, lambda: app.watcher.online and not banner(screen).display, "recovery by itself")
        async with service.http() as http:
            assert (await http.get(f"/api/v1/users/{email}")).json()["active"] is True
        await keys(pilot, "x", "y")  # and the same change now goes through
        await until(pilot, lambda: str(screen.table.get_cell(email, "status")) == "inactive", "the row deactivated")


# -- refusals -------------------------------------------------------------------


async def test_token_revoked_mid_session(service):
    token = service.mint(["apps.read", "users.read", "users.write"], name="soon-revoked")  # not the last superadmin
    app = service.dashboard(token)
    toasts = record_toasts(app)
    async with service.http() as operator, service.http(token) as as_token, app.run_test(size=SIZE) as pilot:
        key_id = (await as_token.get("/api/v1/auth/validate")).json()["key"]["id"]
        screen = await open_users(pilot)

        assert (await operator.delete(f"/api/v1/keys/{key_id}")).status_code == 200
        refused = await as_token.get("/api/v1/users")
        assert refused.status_code == 401
        message = refused.json()["error"]["message"]
        rows = list(screen.table.items)
        await keys(pilot, "ctrl+r")
        await until(pilot, lambda: isinstance(app.screen, TokenRefusedScreen), "the refused-token dialog")
        assert message in " ".join(plain(s) for s in app.screen.query(Static))
        await keys(pilot, "escape")  # stay: the rows already shown stay, the banner says why
        assert app.screen is screen and list(screen.table.items) == rows
        assert banner_text(screen).startswith(f"⛔ {message}: the service no longer takes this dashboard's token")
        await keys(pilot, "down", "slash", "escape")  # still answers keys
        assert screen.table.cursor_row == 1
        assert not [t for t in toasts if t[0].startswith("Loading failed")]  # the dialog said it
        no_traceback(app, toasts)

        # Back in force (restored in the store): the very next ctrl+r works.
        with transaction(make_sessionmaker(service.engine)) as session:
            session.execute(update(Key).where(Key.id == key_id).values(revoked_at=None, revoked_by=None))
        await expect_recovery(pilot, screen)
        assert app.watcher.online and not screen.has_class("-stale")


async def test_missing_capability_then_granted(service):
    key_token = service.mint(["apps.read"], name="apps-only")
    app = service.dashboard(key_token)
    toasts = record_toasts(app)
    async with service.http() as operator, service.http(key_token) as as_token, app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.identity is not None, "sign-in")
        await keys(pilot, "colon", "u", "enter")
        screen = app.screen
        assert isinstance(screen, UsersScreen)
        refused = await as_token.get("/api/v1/users")
        assert refused.status_code == 403
        message = refused.json()["error"]["message"]
        await until(pilot, lambda: banner(screen).display, "the banner")
        assert message in banner_text(screen)
        assert ("Loading failed (forbidden)", message, "error") in toasts
        assert not screen.table.items
        no_traceback(app, toasts)

        # An admin grants the capability: ctrl+r loads the list.
        key_id = app.identity.id
        response = await operator.patch(f"/api/v1/keys/{key_id}", json={"capabilities": ["apps.read", "users.read"]})
        assert response.status_code == 200, response.text
        await expect_recovery(pilot, screen)
        assert len(screen.table.items) == 100


async def test_change_outside_the_tokens_scope_is_refused(service):
    # Writes every user when the dashboard signs in; narrowed to one user (reads everything) after.
    token = service.mint(["users.read", "users.write"], scopes=["**=read", "users/*=*"], name="narrow")
    app = service.dashboard(token)
    toasts = record_toasts(app)
    async with service.http() as operator, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        email = screen.table.selected().email
        narrowed = [{"path": "**", "operations": ["read"]}, {"path": "users/someone@example.com", "operations": ["*"]}]
        response = await operator.patch(f"/api/v1/keys/{app.identity.id}", json={"scopes": narrowed})
        assert response.status_code == 200, response.text
        await keys(pilot, "x", "y")  # still offered: the dashboard learnt its scopes at sign-in
        await until(pilot, lambda: any(t[0] == "Not done (forbidden)" for t in toasts), "the refusal")
        async with service.http(token) as as_token:
            refused = await as_token.patch(f"/api/v1/users/{email}", json={"active": False})
        assert refused.status_code == 403
        assert ("Not done (forbidden)", refused.json()["error"]["message"], "error") in toasts
        assert str(screen.table.get_cell(email, "status")) == "active"
        assert (await operator.get(f"/api/v1/users/{email}")).json()["active"] is True
        assert app.screen is screen
        no_traceback(app, toasts)
        await expect_recovery(pilot, screen)  # the list itself is fine


# -- forms keep what was typed --------------------------------------------------


async def test_duplicate_create_keeps_the_form_open(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        assert (await http.post("/api/v1/users", json={"email": "a@x.io", "name": "First"})).status_code == 201
        screen = await open_users(pilot)
        await keys(pilot, "n", *"a@x.io", "tab", *"Second")
        form = app.screen
        assert isinstance(form, UserForm)
        await keys(pilot, "enter")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "already exists" in plain(error), "the conflict in the form")
        assert app.screen is form  # still open, nothing lost
        assert plain(error) == "✗ user 'a@x.io' already exists"
        assert ("Not saved (conflict)", "user 'a@x.io' already exists", "error") in toasts
        assert form.query_one("#email", Input).value == "a@x.io"
        assert form.query_one("#name", Input).value == "Second"
        assert (await http.get("/api/v1/users/a@x.io")).json()["name"] == "First"

        # Fix the address and save again.
        await keys(pilot, "shift+tab", "ctrl+a", "delete", "b", "enter")
        await until(pilot, lambda: app.screen is screen and "b@x.io" in screen.table.items, "the new user")
        assert (await http.get("/api/v1/users/b@x.io")).json()["name"] == "Second"
        no_traceback(app, toasts)


async def test_invalid_input_is_explained_in_the_form(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        count = len((await http.get("/api/v1/users", params={"limit": 500})).json()["data"])

        # Checked before sending, against the contract's own model.
        await keys(pilot, "n", *"nope", "enter")
        form = app.screen
        assert isinstance(form, UserForm)
        assert plain(form.query_one("#form-error", Static)).startswith("✗ email:")
        assert len((await http.get("/api/v1/users", params={"limit": 500})).json()["data"]) == count
        await keys(pilot, "escape")
        assert app.screen is screen

        # Refused by the service (422): a grant that would end in the past.
        email = screen.table.selected().email
        await keys(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, UserDetailScreen)
        await until(pilot, lambda: detail.access is not None, "the user's access")
        held = {a.app for a in detail.access.apps}
        target = next(a for a in ("billing", "crm", "hr", "support", "wiki") if a not in held)
        await keys(pilot, "g")
        form = app.screen
        assert isinstance(form, GrantForm)
        app_select, role_select = form.query_one("#app", Select), form.query_one("#role", Select)
        await until(pilot, lambda: len(app_select._options) > 1, "the apps")
        app_select.value = target  # (choosing with keys is covered in test_users_screen)
        await until(pilot, lambda: len(role_select._options) > 1, "the roles")
        role = role_select._options[1][1]
        role_select.value = role
        form.query_one("#expires", Input).focus()
        await keys(pilot, *"2020-01-01", "enter")
        error = form.query_one("#form-error", Static)
        await until(pilot, lambda: "past" in plain(error), "the service's refusal in the form")
        assert plain(error) == "✗ expires_at is in the past"
        assert ("Not saved (validation_error)", "expires_at is in the past", "error") in toasts
        assert app.screen is form and form.query_one("#expires", Input).value == "2020-01-01"
        access = (await http.get(f"/api/v1/users/{email}/access")).json()
        assert target not in {a["app"] for a in access["apps"]}

        # A bad duration never leaves the dashboard.
        await keys(pilot, "ctrl+a", "ctrl+k", *"soon", "enter")
        assert "expiry 'soon'" in plain(error)

        # Corrected: the grant goes through.
        await keys(pilot, "ctrl+a", "ctrl+k", *"1w", "enter")
        await until(pilot, lambda: app.screen is detail and (target, role) in detail.grant_rows.values(),
                    "the grant in the detail")
        access = (await http.get(f"/api/v1/users/{email}/access")).json()
        grant = next(g for a in access["apps"] if a["app"] == target for g in a["grants"])
        assert grant["role"] == role and datetime.fromisoformat(grant["expires_at"]) > FIXED
        no_traceback(app, toasts)


# -- the command line refuses before any screen ----------------------------------


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    database = tmp_path_factory.mktemp("cli") / "pepyhat.db"
    server = sqlite_server(database, free_port())
    engine = server.app.state.runtime.engine
    _, admin = mint(engine)
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {admin}"}) as http:
            assert http.post("/api/v1/apps", json={"slug": "crm", "name": "CRM"}).status_code == 201
            created = http.post("/api/v1/keys", json={"name": "crm-app", "app": "crm"})
            assert created.status_code == 201, created.text
        yield server, admin, created.json()["key"]
    finally:
        server.stop()


def run_cli(*args: str, tmp_path: Path, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEPYHAT_")}
    env.update({"PEPYHAT_CONFIG": str(tmp_path / "config.toml"), "PYTHONPATH": str(ROOT)})
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "pepyhat_tui.cli", *args], capture_output=True, text=True, env=env,
        stdin=subprocess.DEVNULL, timeout=60, cwd=tmp_path,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess, *expected: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pepyhat-tui: ")
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert result.stdout == ""  # no screen was drawn
    return lines[0]


@pytest.mark.parametrize("kind", ["unknown", "mistyped"])
def test_cli_refuses_a_bad_token(live_server, tmp_path, kind):
    server, admin, _ = live_server
    if kind == "unknown":
        token = pepyhat_keys.mint("admin")  # well formed, checksum and all, but never issued
    else:
        token = admin[:-10] + ("A" if admin[-10] != "A" else "B") + admin[-9:]  # one character off
    result = run_cli("--url", server.url, "--token", token, tmp_path=tmp_path)
    line = assert_one_line_failure(result, f"token refused by {server.url}", "invalid API key")
    assert token not in line  # the secret is not echoed


def test_cli_refuses_an_app_key(live_server, tmp_path):
    server, _, app_key = live_server
    result = run_cli("--url", server.url, "--token", app_key, tmp_path=tmp_path)
    assert_one_line_failure(result, "app key", "admin token")


def test_cli_refuses_an_unreachable_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("--url", url, "--token", "pha_" + "a" * 48, tmp_path=tmp_path)
    assert_one_line_failure(result, f"cannot use {url}", "cannot reach the service")


def test_cli_refuses_an_unknown_profile(tmp_path):
    (tmp_path / "config.toml").write_text('[profiles.prod]\nurl = "https://pepyhat.internal"\ntoken = "pha_x"\n')
    result = run_cli("--profile", "staging", tmp_path=tmp_path)
    assert_one_line_failure(result, "no profile 'staging'", "(profiles: prod)")


def test_cli_accepts_the_good_token_up_to_the_screen(live_server, tmp_path):
    """The counter-check: with the right token the preflight passes (the screen then needs a terminal)."""
    server, admin, _ = live_server
    code = (
        "import sys, pepyhat_tui.app as a\n"
        "a.PepyHatApp.run = lambda self: print('would open', self.identity.name)\n"
        "from pepyhat_tui.cli import main\n"
        f"sys.exit(main(['--url', {server.url!r}, '--token', {admin!r}]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEPYHAT_")}
    env.update({"PEPYHAT_CONFIG": str(tmp_path / "config.toml"), "PYTHONPATH": str(ROOT)})
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            stdin=subprocess.DEVNULL, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "would open ops"
