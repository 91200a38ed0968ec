"""The audit log: events newest first, a `field:value` filter, the event under the cursor in full.

New events are followed by polling (the screen's timer calls ``poll``): the page
of events newer than the newest shown, with the same filter, goes on top of the
table.  DataTable cannot insert at the top, so the rows are added and the table
sorted by id, descending; the cursor is put back on the event it was on.  (Rather
than reloading page 1: that would drop every page loaded below it, and ask for a
hundred rows to learn of one.)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.worker import Worker

from pepyhat import schemas
from pepyhat_tui.audit_filter import FilterError, parse
from pepyhat_tui.client import ClientError
from pepyhat_tui.formatting import relative
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.widgets.audit_detail import AuditDetail
from pepyhat_tui.widgets.filter_input import FilterInput
from pepyhat_tui.widgets.paged_table import MAX_ROWS, PAGE_SIZE, PagedTable

PLACEHOLDER = (
    "actor:NAME action:key.* target:apps/crm/** since:2h until:2026-12-01"
    " · a bare word: with / a target, @ a user, . an action, else an actor"
)
# How far before the newest event shown a poll looks: the service stamps an event when it is
# recorded, and a slower transaction can commit it (with a higher id) a little after a newer one.
SLACK = timedelta(seconds=60)


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


class AuditTable(PagedTable):
    """A paged table whose filter is checked before anything is sent: a bad one keeps the rows shown."""

    class Checked(Message):
        """The filter of a reload was checked: ``error`` says why it was not sent (None: it was)."""

        def __init__(self, table: "AuditTable", query: str | None, error: str | None) -> None:
            super().__init__()
            self.table = table
            self.query = query
            self.error = error  # None: the filter is fine again

        @property
        def control(self) -> "AuditTable":
            return self.table

    def __init__(self, *args, clock: Callable[[], datetime], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock  # the dashboard's: `since:1h until:...` is checked as it will be sent

    def reload(self, query: str | None = None) -> None:
        try:
            parse(query, self._clock())
        except FilterError as exc:
            self.post_message(self.Checked(self, query, str(exc)))
            return
        self.post_message(self.Checked(self, query, None))
        super().reload(query)


class AuditPane(ListPane):
    DEFAULT_CSS = """
    AuditPane > AuditTable {
        height: 1fr;
    }
    """
    COLUMNS = (("#", "id"), ("When", "when"), ("Actor", "actor"), ("Action", "action"), ("Target", "target"))
    NOUN = "event"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.filter_error: str | None = None  # the filter typed cannot be sent: why
        self.poll_failed = False  # the last poll failed (said once, not every 2 s)
        self._polling: Worker | None = None  # the poll under way

    def compose(self) -> ComposeResult:
        yield FilterInput(id="filter")
        yield AuditTable(
            self.columns(), self._fetch, self.cells, self.row_key, clock=lambda: self.dashboard.now(), id="table"
        )
        yield AuditDetail(id="detail")

    def on_mount(self) -> None:
        self.filter_input.placeholder = PLACEHOLDER

    @property
    def detail(self) -> AuditDetail:
        return self.query_one(AuditDetail)

    # -- the list -------------------------------------------------------------------

    async def fetch(self, cursor, query):
        try:
            wanted = parse(query, self.dashboard.now())
        except FilterError as exc:  # (checked before; `since:1h until:<a moment>` can go stale)
            raise ClientError(None, "bad_filter", str(exc)) from None
        return await self.dashboard.client.list_audit(cursor=cursor, limit=PAGE_SIZE, **wanted.params())

    def cells(self, event: schemas.AuditEvent):
        return (
            Text(str(event.id), style="dim", justify="right"),
            relative(utc(event.at), self.dashboard.now()),
            event.actor_name or event.actor_id or "—",
            event.action,
            event.target,
        )

    def row_key(self, event: schemas.AuditEvent) -> str:
        return str(event.id)

    def open_by_name(self, name: str) -> None:
        """`:audit <filter>`: the list with that filter (and `/` shows it, to edit)."""
        self.filter_input.value = name  # (hidden: no as-you-type reload)
        self.table.reload(name.strip())

    class FilterChecked(Message):
        """The filter was checked (``error`` None: it is being sent): for the screen's banner and title."""

        def __init__(self, pane: "AuditPane", error: str | None) -> None:
            super().__init__()
            self.pane = pane
            self.error = error

        @property
        def control(self) -> "AuditPane":
            return self.pane

    @on(AuditTable.Checked)
    def _checked(self, event: AuditTable.Checked) -> None:
        # Said again from here: the table's message stops at the pane when the pane's own
        # debounce timer made it (Textual does not bubble a message past its sender).
        event.stop()
        self.filter_error = event.error
        self.post_message(self.FilterChecked(self, event.error))

    @on(PagedTable.RowHighlighted)
    @on(PagedTable.Loaded)
    def _show_detail(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        self.detail.show(self.table.selected(), self.dashboard.now())

    # -- following new events -----------------------------------------------------------

    def poll(self) -> None:
        """Ask for events newer than the newest shown (a worker; a reload under way goes first)."""
        table = self.table
        if not table.loaded_once or table.loading_page:  # (never loaded: a 403, or not connected yet)
            return
        if self._polling is not None and not self._polling.is_finished:
            return  # one at a time: cancelling it for the next, a service slower than a tick would never answer
        # (a callable, not a coroutine: a poll cancelled before it starts leaves nothing un-awaited)
        self._polling = self.run_worker(partial(self._poll, table.query_text), group="follow", exclusive=True)

    async def _poll(self, query: str | None) -> None:
        table = self.table
        try:
            wanted = parse(query, self.dashboard.now())
        except FilterError:
            return
        newest = max(map(int, table.items), default=0)
        if newest:
            floor = utc(table.items[str(newest)].at) - SLACK
            if wanted.since is None or floor > wanted.since:
                wanted = replace(wanted, since=floor)
        try:
            page = await self.dashboard.client.list_audit(limit=PAGE_SIZE, **wanted.params())
        except ClientError as exc:
            if not self.poll_failed:
                self.poll_failed = True
                self.post_message(PagedTable.Failed(table, exc))
            return
        if table.query_text != query or table.loading_page:
            return  # the filter changed, or a reload is under way: its rows are the truth
        recovered, self.poll_failed = self.poll_failed, False
        fresh = [event for event in page.data if event.id > newest]
        if page.has_more and len(fresh) == len(page.data):
            table.reload(query)  # more new events than a page: start again from the newest
            return
        if fresh:
            self.add_newer(fresh)
        if fresh or recovered:
            self.post_message(PagedTable.Loaded(table, len(table.items), table.has_more))

    def add_newer(self, events: list[schemas.AuditEvent]) -> None:
        """Put ``events`` on top, the cursor staying on the event it was on."""
        table = self.table
        keep = table.selected_key()
        for event in events:
            key = self.row_key(event)
            if key not in table.items:
                table.items[key] = event
                table.add_row(*self.cells(event), key=key)
        table.sort("id", key=lambda cell: int(cell.plain), reverse=True)
        extra = sorted(map(int, table.items))[: max(0, len(table.items) - MAX_ROWS)]
        for old in map(str, extra):  # the oldest go: no table holds more than MAX_ROWS
            table.remove_row(old)
            del table.items[old]
            table.has_more = True
        if keep is not None and keep in table.items:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        self.show_detail()

    # -- enter: the event's target -------------------------------------------------------

    def open(self, event: schemas.AuditEvent) -> None:
        self.open_target(event.target)

    def open_target(self, target: str) -> None:
        """A user's, an app's or a key's page, from the resource path the event names."""
        parts = target.split("/")
        if "" in parts:
            parts = []  # not a path the service writes: nothing to open
        match parts:
            case ["users", email] | ["apps", _, "members", email] | ["apps", _, "members", email, "roles", _]:
                from pepyhat_tui.screens.user_detail import UserDetailScreen

                self.dashboard.push_screen(UserDetailScreen(email))
            case ["apps", _, "keys", key_id] | ["tokens", key_id]:
                self._open_key(key_id)
            case ["apps", slug, *_]:
                from pepyhat_tui.screens.app_detail import AppDetailScreen

                self.dashboard.push_screen(AppDetailScreen(slug))
            case _:
                self.notify(f"nothing to open for {target}", severity="warning")

    def _open_key(self, key_id: str) -> None:
        async def run() -> None:
            from pepyhat_tui.screens.key_detail import KeyDetailScreen

            try:
                key = await self.dashboard.client.get_key(key_id)
            except ClientError as exc:
                if exc.status == 404:
                    self.notify(f"key {key_id} no longer exists (deleted with its app?)", severity="warning")
                else:
                    self.report(exc, "Cannot open the key")
                return
            self.dashboard.push_screen(KeyDetailScreen(key))

        self.run_worker(run, group="open", exclusive=True)
