"""SVG snapshots of every main screen on the demo organisation, clock frozen.

Regenerate after an intended change with
``pytest tests/tui/test_snapshots.py --snapshot-update``, then look at the
diffs (snapshot_report.html) before committing ``__snapshots__/``.

Both clocks are frozen: the dashboard's (relative times) and the embedded
service's (key status, expired grants, live counts), so the pictures do not
drift with the calendar.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.tui.support import goto, settle, steps

WIDE = (120, 36)
SMALL = (80, 24)


def test_apps(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=WIDE, run_before=settle)


def test_apps_small_terminal(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SMALL, run_before=settle)


@pytest.mark.parametrize("tab", ["1", "2", "3", "4"], ids=["roles", "permissions", "members", "keys"])
def test_app_detail(snap_compare, demo_app, tab):
    async def run_before(pilot: Pilot) -> None:
        await steps(pilot, "enter", tab)

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_users(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "users")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_user_detail(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "users")
        await steps(pilot, "enter")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_keys(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "keys")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_help(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await steps(pilot, "question_mark")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_new_app_form(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await steps(pilot, "n")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_confirm_delete(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await steps(pilot, "d")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


# -- the key lifecycle ---------------------------------------------------------------


def fake_minted():
    """A key that looks real and is not: a fixed body with its checksum, never stored anywhere."""
    from pepyhat import keys as key_format, schemas
    from pepyhat_tui.minted import Minted
    from tests.tui.support import FIXED

    body = "SNAPSHOTxFAKExKEYxNOTxREALxxxxxxxxxxxxxxx0"
    plaintext = "phk_" + body + key_format.checksum(body)
    record = schemas.Key(
        id="key_SnapshotFake0001", name="crm-worker", kind="app", app="crm", start=plaintext[:10],
        scopes=schemas.app_key_scopes("crm"), capabilities=[], rate_limit_per_minute=None, created_at=FIXED,
        created_by="alice (embedded)", expires_at=None, last_used_at=None, revoked_at=None, revoked_by=None,
        revoke_reason=None, status="active",
    )
    return Minted(record, plaintext)


def test_new_key_form(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "apps crm")
        await steps(pilot, "4", "n", *"crm-worker")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_key_shown_once(snap_compare, demo_app):
    from pepyhat_tui.screens.shown_once import ShownOnceScreen

    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "keys")
        await pilot.app.push_screen(ShownOnceScreen(fake_minted()))
        await settle(pilot)

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_revoke_key(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "keys")
        await steps(pilot, "down", "down", "down", "down", "d")  # crm-production

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_leaked_key_identified(snap_compare, demo_app):
    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "keys")
        start = pilot.app.screen.table.items  # the demo's keys: deterministic from its seed
        production = next(k for k in start.values() if k.name == "crm-production")
        await steps(pilot, "ctrl+l", *production.start, "enter")

    assert snap_compare(demo_app, terminal_size=WIDE, run_before=run_before)


def test_scope_editor_marks_a_row_beyond_the_token(snap_compare, service):
    token = service.mint(["keys.manage", "keys.read", "apps.read"], ["apps/crm/**=*"], name="crm-delegate")
    app = service.dashboard(token)

    async def run_before(pilot: Pilot) -> None:
        from pepyhat import schemas
        from pepyhat_tui.widgets.scope_editor import ScopeEditor

        await goto(pilot, "apps crm")
        await steps(pilot, "4", "n", *"crm-gateway")
        editor = pilot.app.screen.query_one(ScopeEditor)
        editor.set_scopes([
            schemas.Scope(path="apps/crm/authz/**", operations=["read"]),
            schemas.Scope(path="apps/wiki/authz/**", operations=["read"]),
            schemas.Scope(path="apps/crm/roles/cr*", operations=["read"]),
        ])
        await settle(pilot)
        await pilot.pause(0.4)  # the examples' debounce
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


class _StillClock:
    """``time`` for the connection watcher with its monotonic clock held: the countdown reads the same."""

    @staticmethod
    def monotonic() -> float:
        return 1000.0


def test_disconnected_rows_stale_and_changes_held_back(snap_compare, service, monkeypatch):
    from pepyhat_tui import connection
    from pepyhat_tui.client import ClientError

    token = service.mint(name="ops-laptop")
    app = service.dashboard(token, color="red")
    app.watcher.delays = (30,)

    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "users")
        monkeypatch.setattr(connection, "time", _StillClock)
        # The state a refused connection leaves (the pilots in test_connection.py cause it for real).
        pilot.app.watcher.failed(ClientError(None, "unreachable", "cannot reach the service at https://pepyhat.internal"))
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)


def test_token_refused(snap_compare, service):
    from pepyhat_tui.client import ClientError

    token = service.mint(name="ops-laptop")
    app = service.dashboard(token)

    async def run_before(pilot: Pilot) -> None:
        await goto(pilot, "users")
        pilot.app.watcher.failed(ClientError(401, "unauthorized", "API key has been revoked"))
        await settle(pilot)

    assert snap_compare(app, terminal_size=WIDE, run_before=run_before)
