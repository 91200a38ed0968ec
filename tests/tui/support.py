"""Helpers the dashboard tests share: the frozen clock and ways to drive a pilot."""

from __future__ import annotations

from datetime import datetime, timezone
from time import monotonic
from typing import Callable

from rich.text import Text
from textual.command import CommandList, CommandPalette
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets._footer import FooterKey
from textual.worker import WorkerCancelled

from pepyhat_tui.screens.help import HelpScreen
from pepyhat_tui.screens.users import UsersScreen

# Both clocks (the dashboard's and the embedded service's) read this in tests,
# so relative times, key statuses and snapshots do not drift with the calendar.
FIXED = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)


async def workers_done(app) -> None:
    """Every worker finished; one cancelled meanwhile (an exclusive one started again) is a normal end."""
    while True:
        # (a cancelled worker stays listed a while, and waiting on it raises again at once)
        running = [w for w in app.workers if not w.is_cancelled]
        if not running:
            return
        try:
            await app.workers.wait_for_complete(running)
            return
        except WorkerCancelled:
            continue


async def settle(pilot: Pilot) -> None:
    """Let every worker finish, including those started by the previous ones."""
    for _ in range(4):
        await workers_done(pilot.app)
        await pilot.pause()
    # A DataTable sizes its columns to new rows on its next idle; under load that can
    # come after the pauses above, and a picture would show header-wide columns.
    # Every screen in the stack: a modal (help, confirm) shows the one beneath it.
    # And the screen must have repainted: a screen pushed before that (a modal) would
    # show the one beneath from stale lines, since only the current screen repaints.
    for _ in range(100):
        if not _pending(pilot.app):
            break
        await pilot.pause(0.02)
    # A focused input's cursor blinks on a timer: hold it still for pictures.
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def _pending(app) -> bool:
    """A table still to size its columns, or the current screen still to lay out or repaint."""
    for screen in app.screen_stack:
        for table in screen.query(DataTable):
            if table._require_update_dimensions or table._updated_cells:
                return True
    screen = app.screen
    return bool(screen._layout_required or screen._repaint_required or screen._dirty_widgets)


async def steps(pilot: Pilot, *keys: str) -> None:
    """Press keys one at a time, settling after each (a key may start a worker or push a screen)."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


async def goto(pilot: Pilot, screen: str) -> None:
    """The `:` go-to prompt, as an operator types it."""
    await steps(pilot, "colon", *screen, "enter")


async def until(pilot: Pilot, predicate: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Poll until ``predicate()`` holds, then settle; fail after ``timeout`` seconds.

    For what lands on a timer (the debounced filter, a retry), which ``settle`` does not wait for.
    """
    deadline = monotonic() + timeout
    while not predicate():
        if monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await workers_done(pilot.app)
        await pilot.pause(0.02)
    await settle(pilot)


async def keys(pilot: Pilot, *pressed: str) -> None:
    """Press keys (the pilot waits for each to be handled), then let the workers they started finish."""
    await pilot.press(*pressed)
    await workers_done(pilot.app)
    await pilot.pause()


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)
    await settle(pilot)


async def open_users(pilot: Pilot) -> UsersScreen:
    await keys(pilot, "colon", "u", "enter")  # `:u` is enough: one screen starts with u
    screen = pilot.app.screen
    assert isinstance(screen, UsersScreen)
    await until(pilot, lambda: screen.table.loaded_once and not screen.table.loading_page, "the users list")
    return screen


def title(screen) -> str:
    """A screen's title line as the operator reads it (both halves)."""
    from pepyhat_tui.widgets.title_bar import TitleBar

    return screen.query_one(TitleBar).text


def footer_labels(screen) -> set[str]:
    """What the footer offers right now."""
    return {key.description for key in screen.query_one(Footer).query(FooterKey)}


async def palette_titles(pilot: Pilot) -> set[str]:
    """Open the palette, read its entries' titles, close it."""
    await steps(pilot, "ctrl+p")
    assert isinstance(pilot.app.screen, CommandPalette)
    commands = pilot.app.screen.query_one(CommandList)
    await until(pilot, lambda: commands.option_count > 0, "palette entries")
    titles = {commands.get_option_at_index(i).prompt.plain.splitlines()[0] for i in range(commands.option_count)}
    await steps(pilot, "escape")
    return titles


async def help_descriptions(pilot: Pilot) -> set[str]:
    """Open `?`, read the actions it lists, close it."""
    await steps(pilot, "question_mark")
    help_screen = pilot.app.screen
    assert isinstance(help_screen, HelpScreen)
    table = help_screen.query_one("#help-keys")
    rows = {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
    await steps(pilot, "escape")
    return rows


def plain(widget: Static) -> str:
    """What a Static shows, without styles."""
    content = widget.content
    if isinstance(content, (Text, Content)):
        return content.plain
    return Content.from_markup(str(content)).plain


def record_toasts(app) -> list[tuple[str, str, str]]:
    """Every toast the app raises, as (title, message, severity), kept after the toast times out."""
    seen: list[tuple[str, str, str]] = []
    original = app.notify

    def notify(message, *, title="", severity="information", **kwargs):
        seen.append((str(title), str(message), str(severity)))
        return original(message, title=title, severity=severity, **kwargs)

    app.notify = notify
    return seen
