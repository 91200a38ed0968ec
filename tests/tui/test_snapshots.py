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
