"""SVG snapshots of every main screen on the demo organisation, clock frozen.

Regenerate after an intended change with
``pytest tests/tui/test_snapshots.py --snapshot-update``, then look at the
diffs (snapshot_report.html) before committing ``__snapshots__/``.

Both clocks are frozen: the dashboard's (relative times) and the embedded
service's (key status, expired grants, live counts), so the pictures do not
drift with the calendar.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from pepyhat.store import queries
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.config import Target

FIXED = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)
WIDE = (120, 36)
SMALL = (80, 24)


@pytest.fixture
def demo_app(monkeypatch: pytest.MonkeyPatch) -> PepyHatApp:
    # The embedded service derives statuses and counts from queries.now().
    monkeypatch.setattr(queries, "now", lambda: FIXED)
    return PepyHatApp(Target("demo", "demo", color="blue"), clock=lambda: FIXED, demo_now=FIXED)


async def settle(pilot: Pilot) -> None:
    """Let every worker finish, including those started by the previous ones."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    # A focused input's cursor blinks on a timer: hold it still for the picture.
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def steps(pilot: Pilot, *keys: str) -> None:
    """Press keys one at a time, settling after each (a key may start a worker or push a screen)."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def goto(pilot: Pilot, screen: str) -> None:
    await steps(pilot, "colon", *screen, "enter")


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
