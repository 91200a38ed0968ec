"""Helpers the dashboard tests share: the frozen clock and ways to drive a pilot."""

from __future__ import annotations

from datetime import datetime, timezone

from textual.pilot import Pilot
from textual.widgets import DataTable, Input

# Both clocks (the dashboard's and the embedded service's) read this in tests,
# so relative times, key statuses and snapshots do not drift with the calendar.
FIXED = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)


async def settle(pilot: Pilot) -> None:
    """Let every worker finish, including those started by the previous ones."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    # A DataTable sizes its columns to new rows on its next idle; under load that can
    # come after the pauses above, and a picture would show header-wide columns.
    for _ in range(100):
        if not any(table._require_update_dimensions for table in pilot.app.screen.query(DataTable)):
            break
        await pilot.pause(0.02)
    # A focused input's cursor blinks on a timer: hold it still for pictures.
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
    """The `:` go-to prompt, as an operator types it."""
    await steps(pilot, "colon", *screen, "enter")
