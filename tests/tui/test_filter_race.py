"""A newer keystroke wins: the request of an older filter is dropped, and a slow reply to it never
paints over the rows of the newer one (Users, Keys and the access matrix).

The client's list call is wrapped so the older filter's reply comes late: the
rows must stay those of the newer filter once the late reply would have come,
and the older request must have been cancelled.
"""

from __future__ import annotations

import asyncio

import pytest

from pepyhat_tui.panes import base
from tests.tui.support import goto, keys, until
from tests.tui.test_matrix import open_matrix

SIZE = (120, 36)


async def poll(pilot, predicate, what: str, timeout: float = 10.0) -> None:
    """``until`` without waiting for the workers: the slow request must stay under way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)
LATE = 0.6  # the older filter's reply: well after the newer one's


def slowed(client, method: str, slow_query: str, log: list[str]):
    """``client.<method>`` whose reply for ``slow_query`` comes LATE seconds late."""
    real = getattr(client, method)

    async def call(*args, **kwargs):
        query = kwargs.get("q")
        if query == slow_query:
            log.append("slow asked")
            try:
                await asyncio.sleep(LATE)
            except asyncio.CancelledError:
                log.append("slow cancelled")
                raise
            log.append("slow answered")
        return await real(*args, **kwargs)

    setattr(client, method, call)
    return real


async def race(pilot, pane, first: str, more: str, fetch) -> None:
    """Type ``first``; once its (slow) request is out, type ``more``: the rows are ``first + more``'s."""
    table = pane.table
    expected = [pane.row_key(item) for item in (await fetch(first + more)).data]
    stale = [pane.row_key(item) for item in (await fetch(first)).data]
    assert expected != stale, "the two filters must list different rows for the test to mean anything"
    await keys(pilot, "slash")
    await pilot.press(*first)
    await poll(pilot, lambda: table.loading_page and table.query_text == first, f"the request for {first!r}")
    await pilot.press(*more)
    await poll(pilot, lambda: list(table.items) == expected, f"the rows for {first + more!r}")
    await pilot.pause(LATE + 0.2)  # past the time the older reply would have come
    await until(pilot, lambda: not table.loading_page, "nothing under way")
    assert list(table.items) == expected
    assert table.query_text == first + more


@pytest.fixture(autouse=True)
def long_debounce(monkeypatch):
    # Long enough that the first filter's request is surely out before the next keystroke.
    monkeypatch.setattr(base, "FILTER_DEBOUNCE", 0.05)


async def test_users_filter_newer_keystroke_wins(demo_app):
    log: list[str] = []
    async with demo_app.run_test(size=SIZE) as pilot:
        await keys(pilot, "colon", "u", "enter")
        screen = pilot.app.screen
        await until(pilot, lambda: screen.table.loaded_once and not screen.table.loading_page, "the users list")
        real = slowed(demo_app.client, "list_users", "ro", log)
        await race(pilot, screen.query_one(base.ListPane), "ro", "ssi", lambda q: real(q=q))
    assert log == ["slow asked", "slow cancelled"]


async def test_keys_filter_newer_keystroke_wins(demo_app):
    log: list[str] = []
    async with demo_app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.identity is not None, "signing in")
        await goto(pilot, "keys")
        pane = pilot.app.screen.query_one(base.ListPane)
        await until(pilot, lambda: pane.table.loaded_once and not pane.table.loading_page, "the keys list")
        real = slowed(demo_app.client, "list_keys", "crm", log)
        await race(pilot, pane, "crm", "-p", lambda q: real(q=q))
    assert log == ["slow asked", "slow cancelled"]


async def test_matrix_filter_newer_keystroke_wins(demo_app):
    log: list[str] = []
    async with demo_app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        pane = screen.pane
        real = slowed(demo_app.client, "list_members", "al", log)
        await race(pilot, pane, "al", "ice", lambda q: real(pane.app_slug, q=q))
    assert log == ["slow asked", "slow cancelled"]


async def test_a_reload_drops_the_older_reply_too(demo_app):
    """Without a keystroke (a reload from code, as after an edit): the older request is cancelled all the same."""
    log: list[str] = []
    async with demo_app.run_test(size=SIZE) as pilot:
        await keys(pilot, "colon", "u", "enter")
        pane = pilot.app.screen.query_one(base.ListPane)
        table = pane.table
        await until(pilot, lambda: table.loaded_once and not table.loading_page, "the users list")
        real = slowed(demo_app.client, "list_users", "zo", log)
        expected = [u.email for u in (await real(q="zoe.")).data]
        table.reload("zo")
        await poll(pilot, lambda: log == ["slow asked"], "the slow request")
        table.reload("zoe.")
        await poll(pilot, lambda: list(table.items) == expected, "the newer rows")
        await pilot.pause(LATE + 0.2)
        assert list(table.items) == expected
    assert log == ["slow asked", "slow cancelled"]
