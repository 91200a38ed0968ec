"""The connection watcher, driven as an operator meets it: the service stops, stalls, drops or hides
behind a proxy's 502/503, then comes back; and the dashboard's own token is revoked mid-session.

Real parts: uvicorn serving a SQLite file on a real port, stopped and started again
inside the test, and ``tests.faults.FaultProxy`` (its own thread and loop) in front of
it for the faults a proxy shows.  The dashboard runs with short retry delays and
heartbeat so a test takes seconds, not the 3 s and 5 s an operator gets.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import update
from textual.pilot import Pilot

from pepyhat import demo
from pepyhat.store.db import make_sessionmaker, transaction
from pepyhat.store.tables import Key, User
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import ClientError, PepyHatClient
from pepyhat_tui.config import Target
from pepyhat_tui.screens.base import DataScreen
from pepyhat_tui.screens.keys import KeysScreen
from pepyhat_tui.screens.pick import PickScreen
from pepyhat_tui.screens.token_refused import TokenRefusedScreen
from pepyhat_tui.screens.user_form import UserForm
from pepyhat_tui.screens.users import UsersScreen
from pepyhat_tui.widgets.banner import Banner
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from tests.faults import FaultProxy
from tests.servers import free_port
from tests.tui.remote import mint, sqlite_server
from tests.tui.support import FIXED, keys, open_users, plain, record_toasts, until

SIZE = (120, 36)
FAST = {"retry_delays": (0.3, 0.6), "heartbeat": 0.5}


def bar(app) -> str:
    """The environment bar on screen (under a modal: the one beneath it)."""
    screen = next(s for s in reversed(app.screen_stack) if s.query(EnvironmentBar))
    return plain(screen.query_one(EnvironmentBar))


def banner_text(screen) -> str:
    shown = screen.query_one(Banner)
    return plain(shown) if shown.display else ""


async def wait(pilot: Pilot, predicate, what: str, timeout: float = 15.0) -> None:
    """Poll without waiting on workers: a stalled request holds its worker for its whole timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def no_traceback(app, toasts) -> None:
    for title, message, _ in toasts:
        assert "Traceback" not in message, (title, message)
    assert "Traceback" not in app.export_screenshot()


@pytest.fixture
def served(tmp_path: Path, frozen):
    """A service on a SQLite file with 40 users and a superadmin token; ``restart()`` brings it back."""
    database, port = tmp_path / "remote.db", free_port()
    servers = [sqlite_server(database, port)]
    engine = servers[0].app.state.runtime.engine
    demo.generate(engine, users=40, apps=2, seed=7, now=FIXED)
    key_id, token = mint(engine)
    servers[0].start()

    class Served:
        url = servers[0].url

        def __init__(self) -> None:
            self.engine, self.token, self.key_id = engine, token, key_id

        def stop(self) -> None:
            servers[-1].stop()

        def restart(self) -> None:
            servers.append(sqlite_server(database, port))
            servers[-1].start()

    yield Served()
    for server in servers:
        if server.thread.is_alive():
            server.stop()


def dashboard(url: str, token: str, timeout: float = 10.0, **target) -> PepyHatApp:
    return PepyHatApp(Target("remote", "test", url=url, token=token, **target),
                      client=PepyHatClient.remote(url, token, timeout=timeout), clock=lambda: FIXED, **FAST)


# -- the service stops, then comes back ---------------------------------------------------


async def test_outage_is_shown_changes_held_back_and_every_screen_reloads_by_itself(served):
    app = dashboard(served.url, served.token)
    toasts = record_toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        users = await open_users(pilot)
        assert len(users.table.items) == 40 and "disconnected" not in bar(app)
        await keys(pilot, "n", *"kept@x.io")  # a form half filled when the service goes away
        form = app.screen
        assert isinstance(form, UserForm)

        await asyncio.to_thread(served.stop)
        # No key pressed: the idle dashboard's heartbeat finds the outage.
        await wait(pilot, lambda: "disconnected — retrying" in bar(app), "the bar to say disconnected")
        cannot = f"cannot reach the service at {served.url}"
        await keys(pilot, "enter")  # save: not sent, the form keeps what was typed
        error = plain(form.query_one("#form-error"))
        assert error.startswith(f"✗ not sent: {cannot}") and "your entries are kept" in error
        assert app.screen is form and form.query_one("#email").value == "kept@x.io"
        await keys(pilot, "escape")

        # The rows stay, dimmed and marked stale; the keys still move the cursor.
        assert users.has_class("-stale")
        assert cannot in banner_text(users) and "may be stale" in banner_text(users)
        assert f"as of {FIXED:%H:%M:%S} UTC" in banner_text(users)
        assert len(users.table.items) == 40
        await keys(pilot, "down")
        assert users.table.cursor_row == 1

        # A change is held back with a word, before any confirmation: nothing is sent.
        assert users.active_bindings["x"].enabled is False  # dimmed in the footer
        before = len(toasts)
        await keys(pilot, "x")
        assert app.screen is users  # no confirmation opened
        held = toasts[before:]
        assert [(t, s) for t, _, s in held] == [("Changes held back", "warning")]
        assert held[0][1] == f"{cannot}; retrying by itself (ctrl+r: now). Nothing was sent."

        # A screen first opened during the outage says why it is empty, in the same words.
        await keys(pilot, "colon", "k", "enter")
        keys_screen = app.screen
        assert isinstance(keys_screen, KeysScreen)
        await wait(pilot, lambda: cannot in banner_text(keys_screen), "the keys banner")
        assert not keys_screen.table.items
        await keys(pilot, "colon", "u", "enter")
        assert app.screen is users
        # One word for the outage (the bar and banners), not a toast per failed load.
        assert not [t for t in toasts if t[0].startswith("Loading failed")]

        # While it was down, someone added a user (straight into its database file).
        with transaction(make_sessionmaker(served.engine)) as session:
            session.add(User(email="during@x.io", name="Added while down", active=True, created_at=FIXED, updated_at=FIXED))
        await asyncio.to_thread(served.restart)

        # Back with no key pressed: the bar says so, the rows are fresh and no longer stale.
        await wait(pilot, lambda: "during@x.io" in users.table.items, "the users list to reload by itself")
        assert "✓ reconnected" in bar(app)
        assert not users.has_class("-stale") and not banner_text(users)
        assert app.watcher.online and app.watcher.epoch == 1
        # The screen visited while it was down reloads when shown again.
        await keys(pilot, "colon", "k", "enter")
        assert app.screen is keys_screen
        await wait(pilot, lambda: keys_screen.table.items and not banner_text(keys_screen), "the keys to reload")
        await keys(pilot, "colon", "u", "enter")

        # And changes go through again.
        email = users.table.selected().email
        await keys(pilot, "x", "y")
        await until(pilot, lambda: str(users.table.get_cell(email, "status")) == "inactive", "the deactivation")
        no_traceback(app, toasts)


async def test_backoff_between_probes_and_ctrl_r_probes_at_once(served):
    app = PepyHatApp(Target("remote", "test", url=served.url, token=served.token),
                     client=PepyHatClient.remote(served.url, served.token), clock=lambda: FIXED,
                     retry_delays=(0.2, 0.4, 30), heartbeat=0.5)
    async with app.run_test(size=SIZE) as pilot:
        users = await open_users(pilot)
        await asyncio.to_thread(served.stop)
        await wait(pilot, lambda: not app.watcher.online, "the outage")
        # Two probes fail (after 0.2 s, then 0.4 s); the third waits 30 s, as the bar counts down.
        await wait(pilot, lambda: app.watcher.attempt == 2 and not app.watcher.probing, "two failed probes")
        await wait(pilot, lambda: "retrying in 30 s" in bar(app) or "retrying in 29 s" in bar(app), "the countdown")
        await asyncio.to_thread(served.restart)
        await pilot.pause(1.0)
        assert not app.watcher.online  # not probed yet: the next probe is ~29 s away
        await keys(pilot, "ctrl+r")  # ... or now
        await wait(pilot, lambda: app.watcher.online and not users.has_class("-stale"), "recovery on ctrl+r")
        await wait(pilot, lambda: len(users.table.items) == 40 and not banner_text(users), "the rows")


# -- faults a proxy shows: stall, dropped connections, 502/503 ----------------------------


@pytest.mark.parametrize("mode", ["stall", "drop", "502", "503"])
async def test_proxy_fault_keeps_the_dashboard_responsive_and_recovers(served, mode):
    with FaultProxy(int(served.url.rsplit(":", 1)[1])) as proxy:
        # A stall is seen when the call times out (here 5 s); the bar counts the wait from 2 s.
        app = dashboard(proxy.url, served.token, timeout=5.0)
        toasts = record_toasts(app)
        async with app.run_test(size=SIZE) as pilot:
            users = await open_users(pilot)
            proxy.mode = mode
            await keys(pilot, "ctrl+r") if mode != "stall" else await pilot.press("ctrl+r")
            if mode == "stall":
                # The reload hangs; the keys are answered meanwhile, and the bar counts the wait.
                await wait(pilot, lambda: app.waiting_for() is not None, "the stalled request")
                await pilot.press("down")
                assert users.table.cursor_row == 1 and app.waiting_for() is not None
                await wait(pilot, lambda: "waiting on the service" in bar(app), f"the wait in the bar: {bar(app)}")
                reason = "the service did not answer within 5 s"
            elif mode == "drop":
                reason = "the connection to the service was cut before its answer"
            else:
                phrase = {"502": "502 Bad Gateway", "503": "503 Service Unavailable"}[mode]
                reason = f"a proxy answered {phrase}: the service behind it is not answering"
            await wait(pilot, lambda: "disconnected — retrying" in bar(app), "the outage in the bar")
            assert reason in banner_text(users), banner_text(users)
            assert len(users.table.items) == 40 and users.has_class("-stale")
            assert not [t for t in toasts if t[0].startswith("Loading failed")]

            proxy.mode = "pass"
            await wait(pilot, lambda: app.watcher.online and not banner_text(users), "recovery", timeout=20)
            assert not users.has_class("-stale") and len(users.table.items) == 40
            no_traceback(app, toasts)


# -- the dashboard's own token refused --------------------------------------------------


async def test_token_revoked_mid_session_offers_quit_retry_or_another_profile(served, tmp_path, monkeypatch):
    operator_id, operator = served.key_id, served.token
    _, spare = mint(served.engine, name="spare")
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.prod]\nurl = "{served.url}"\ntoken = "{operator}"\n'
                      f'[profiles.backup]\nurl = "{served.url}"\ntoken = "{spare}"\ncolor = "yellow"\n')
    monkeypatch.setenv("PEPYHAT_CONFIG", str(config))
    for name in ("PEPYHAT_URL", "PEPYHAT_TOKEN", "PEPYHAT_PROFILE"):
        monkeypatch.delenv(name, raising=False)

    app = dashboard(served.url, operator, profile="prod")
    toasts = record_toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        users = await open_users(pilot)
        with transaction(make_sessionmaker(served.engine)) as session:
            session.execute(update(Key).where(Key.id == operator_id).values(revoked_at=FIXED, revoked_by="tests"))
        await keys(pilot, "ctrl+r")
        await wait(pilot, lambda: isinstance(app.screen, TokenRefusedScreen), "the refused-token dialog")
        refused = app.screen
        words = " ".join(plain(s) for s in refused.query("Static"))
        assert "This dashboard's token was refused" in words and "revoked" in words
        assert "⛔ token refused" in bar(app)
        assert {b.id for b in refused.query("Button") if b.display} == {"quit", "switch", "retry", "stay"}

        # Stay: what is shown stays, changes are held back, the banner says why.
        await keys(pilot, "escape")
        assert app.screen is users and len(users.table.items) == 40
        assert "no longer takes this dashboard's token" in banner_text(users)
        before = len(toasts)
        await keys(pilot, "x")
        assert toasts[before:] == [("Changes held back", "the service refused this dashboard's token. Nothing was sent.",
                                    "warning")]

        # Try again while still revoked: refused again, the dialog is back.
        await keys(pilot, "ctrl+r")
        await wait(pilot, lambda: isinstance(app.screen, TokenRefusedScreen), "the dialog again")

        # Another profile: signed in, and the dashboard starts again on it.
        await keys(pilot, "p")
        pick = app.screen
        assert isinstance(pick, PickScreen)
        assert [o.id for o in pick.query_one("#choices")._options] == ["backup"]  # not the refused one
        await keys(pilot, "enter")
        await wait(pilot, lambda: app.relaunch is not None, "the switch")
        target, identity = app.relaunch
        assert (target.profile, target.url, target.token, target.color) == ("backup", served.url, spare, "yellow")
        assert identity.name == "spare"
        no_traceback(app, toasts)
    assert app.return_code == 0


async def test_quit_from_a_refused_token(service):
    token = service.mint(["apps.read", "users.read"], name="soon-revoked")  # (not the last superadmin)
    app = service.dashboard(token)
    async with service.http() as operator, app.run_test(size=SIZE) as pilot:
        await open_users(pilot)
        key_id = app.identity.id
        assert (await operator.delete(f"/api/v1/keys/{key_id}")).status_code == 200
        await keys(pilot, "ctrl+r")
        await wait(pilot, lambda: isinstance(app.screen, TokenRefusedScreen), "the dialog")
        assert app.screen.query_one("#switch").display is False  # no other profile to offer
        await keys(pilot, "q")
    assert app.relaunch is None and app.return_code == 0


async def test_embedded_operator_never_sees_the_refused_token_dialog(service):
    """The embedded operator has no token: a 401 there is a refusal like any other, not a sign-out."""
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        app.watcher.failed(ClientError(401, "unauthorized", "invalid API key"))
        await pilot.pause()
        assert app.watcher.online and not isinstance(app.screen, TokenRefusedScreen)
        assert isinstance(screen, UsersScreen) and isinstance(screen, DataScreen)
