"""The list machinery every list screen and every tab of an app shares.

A pane is one resource's list: a `/` filter sent to the server as you type
(debounced; enter keeps it, escape clears it), a paged table, enter to open a
row, and the resource's own actions from the registry.  The Apps, Users and
Keys screens show one pane; an app's detail shows four in tabs, and the Keys
screen and an app's Keys tab are the same pane.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

from pepyhat.schemas import Page
from pepyhat_tui.actions import bindings
from pepyhat_tui.guarded import Guarded, segment
from pepyhat_tui.leaks import Suspect, suspect
from pepyhat_tui.widgets.filter_input import FilterInput
from pepyhat_tui.widgets.paged_table import PagedTable

# Long enough to take a burst of keystrokes as one, short next to the 150 ms a filter may take
# from the last keystroke to the rows painted; a keystroke also drops the request under way.
FILTER_DEBOUNCE = 0.04


class ListPane(Guarded, Vertical):
    DEFAULT_CSS = """
    ListPane {
        height: 1fr;
    }
    """
    BINDINGS = bindings("filter", "filter.clear")
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()
    NOUN: ClassVar[str] = "row"

    class Changed(Message):
        """The pane changed something in the service: whoever shows counts should reload them."""

        def __init__(self, pane: "ListPane") -> None:
            super().__init__()
            self.pane = pane

        @property
        def control(self) -> "ListPane":
            return self.pane

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._debounce: Timer | None = None
        self._secret: str | None = None  # a key pasted into the filter, until enter or escape
        self._masked: str | None = None  # what the filter shows in its place

    # -- what a resource gives ---------------------------------------------------

    async def fetch(self, cursor: str | None, query: str | None) -> Page:
        raise NotImplementedError

    def cells(self, item: Any) -> Sequence[Any]:
        raise NotImplementedError

    def row_key(self, item: Any) -> str:
        raise NotImplementedError

    def row_path(self, item: Any) -> str | None:
        """The row's resource path (``apps/crm/roles/admin``): what its ``reach="row"`` actions touch."""
        return None

    def open(self, item: Any) -> None:
        """Enter on a row."""

    def open_by_name(self, name: str) -> None:
        """`:` go-to with an argument (`:apps crm`)."""

    def columns(self) -> Sequence[tuple[str, str]]:
        """(label, key) of each column; ``COLUMNS`` unless the pane's context changes them."""
        return self.COLUMNS

    def subtitle(self) -> str:
        """What the list is narrowed to besides the filter (``active only``)."""
        return ""

    # -- composition ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield FilterInput(id="filter")
        yield PagedTable(self.columns(), self._fetch, self.cells, self.row_key, id="table")

    @property
    def table(self) -> PagedTable:
        return self.query_one(PagedTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one(FilterInput)

    async def _fetch(self, cursor: str | None, query: str | None) -> Page:
        await self.dashboard.wait_client()
        return await self.fetch(cursor, query)

    def reload(self) -> None:
        """Load again, keeping the filter (and the cursor on its row)."""
        self.table.reload(self.table.query_text)

    def load_once(self) -> None:
        if not self.table.loaded_once and not self.table.loading_page:
            self.table.reload()

    def changed(self, _result: object = None) -> None:
        """After a change: show the rows as they are now, and tell the screen."""
        self.reload()
        self.post_message(self.Changed(self))

    def focus_table(self) -> None:
        self.table.focus()

    # -- events -----------------------------------------------------------------

    def selected_path(self) -> str | None:
        item = self.table.selected()
        return None if item is None else self.row_path(item)

    @on(PagedTable.RowHighlighted)
    @on(PagedTable.CellHighlighted)
    @on(PagedTable.Loaded)
    def _row_moved(self) -> None:
        # Row actions are offered per row (crm's, not wiki's): the footer follows the cursor.
        # (Loaded too: a reload can empty the table or keep the cursor without a highlight.)
        self.refresh_bindings()

    @on(PagedTable.RowSelected)
    def _open(self, event: PagedTable.RowSelected) -> None:
        event.stop()
        item = self.table.selected()
        if item is not None:
            self.open(item)

    def secret_filter(self, value: str, found: Suspect, submitted: bool) -> None:
        """A key (or its start) was typed into the filter: it is not sent (a list's ``q`` is in its URL)."""
        if submitted:
            self.notify(
                found.problem or "it is not sent as a filter (URLs end up in logs): find it with ctrl+l",
                title=f"{found.shown} looks like a key", severity="warning",
            )

    def _held_back(self, value: str, submitted: bool) -> bool:
        """Route a key-shaped filter to ``secret_filter``, and take a pasted key off the screen."""
        if self._masked is not None and value == self._masked:
            value = self._secret or ""
        found = suspect(value) if value else None
        if found is None:
            self._masked = self._secret = None
            return False
        if self._debounce is not None:
            self._debounce.stop()
        if found.kind == "key" and found.problem is None and value != self._secret:
            # Shown as its start only; the pane keeps the key until enter or escape.
            self._secret, self._masked = value, found.shown
            self.filter_input.value = found.shown
        if submitted or found.problem is None:  # a key half typed waits for enter
            self.secret_filter(value, found, submitted)
        if submitted:
            self._masked = self._secret = None
        return True

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        if not self.filter_input.display:  # cleared by escape, which reloads by itself
            return
        if event.value == self._masked:  # our own masking of a pasted key: handled already
            return
        if self._held_back(event.value.strip(), submitted=False):
            return
        if self._debounce is not None:
            self._debounce.stop()
        if self.table.loading_page:
            self.table.cancel_load()  # its rows are for what the filter no longer says
        self._debounce = self.set_timer(FILTER_DEBOUNCE, lambda: self.table.reload(event.value.strip()))

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value.strip()
        if self._held_back(value, submitted=True):
            self.filter_input.value = ""
            self.filter_input.display = False
            self.table.focus()
            return
        if value != (self.table.query_text or ""):
            self.table.reload(value)
        self.filter_input.display = False
        self.table.focus()

    # -- actions ----------------------------------------------------------------

    def action_available(self, action: str) -> bool:
        if action == "clear_filter":
            return self.filter_input.display or bool(self.table.query_text) or self.table.found_label is not None
        return True

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_clear_filter(self) -> None:
        self._secret = self._masked = None
        self.filter_input.display = False
        self.filter_input.value = ""
        if self._debounce is not None:
            self._debounce.stop()
        if self.table.query_text or self.table.found_label is not None:
            self.table.reload(None)
        self.table.focus()
        self.refresh_bindings()


class AppPane(ListPane):
    """A list inside one app: its roles, permissions or members."""

    def __init__(self, app_slug: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.app_slug = app_slug

    def action_context(self) -> dict[str, str]:
        return {"app": segment(self.app_slug)}
