"""A table filled page by page from a cursor-paged endpoint.

The table asks for the next page when the cursor nears the bottom, and never
holds more than ``MAX_ROWS`` rows: past that, the operator filters.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Generic, Sequence, TypeVar

from textual import work
from textual.message import Message
from textual.widgets import DataTable

from pepyhat.schemas import Page
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.widgets.table import Table

T = TypeVar("T")
Fetch = Callable[[str | None, str | None], Awaitable[Page]]

PAGE_SIZE = 100
MAX_ROWS = 2000


class PagedTable(Table, Generic[T]):
    # The table owns enter, so name it for the footer and help: it opens the row.
    BINDINGS = bindings("open")

    class Loaded(Message):
        def __init__(self, table: "PagedTable", count: int, has_more: bool) -> None:
            super().__init__()
            self.table = table
            self.count = count
            self.has_more = has_more

        @property
        def control(self) -> "PagedTable":
            return self.table

    class Failed(Message):
        def __init__(self, table: "PagedTable", error: ClientError) -> None:
            super().__init__()
            self.table = table
            self.error = error

        @property
        def control(self) -> "PagedTable":
            return self.table

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        fetch: Fetch,
        cells: Callable[[T], Sequence[Any]],
        row_key: Callable[[T], str],
        *,
        cursor_type: str = "row",  # "cell" for a grid (the access matrix)
        **kwargs,
    ) -> None:
        super().__init__(cursor_type=cursor_type, zebra_stripes=True, **kwargs)
        self._columns = columns
        self._fetch = fetch
        self._cells = cells
        self._row_key = row_key
        self.items: dict[str, T] = {}
        self.query_text: str | None = None
        self.next_cursor: str | None = None
        self.has_more = False
        self.loading_page = False
        self.loaded_once = False
        self.found_label: str | None = None  # rows found by a key lookup, not a page of the list
        self.select_after_load: str | None = None  # a row just created: the cursor goes to it
        self._generation = 0  # of the latest load: only its reply is painted

    def on_mount(self) -> None:
        self.add_columns_of_rows()

    def add_columns_of_rows(self) -> None:
        """The columns, before any row (a grid with columns of its own overrides it)."""
        for label, key in self._columns:
            self.add_column(label, key=key)

    def reload(self, query: str | None = None) -> None:
        self.query_text = query or None
        self.found_label = None
        self._load(reset=True)

    def cancel_load(self) -> None:
        """Drop the page under way (its filter is out of date): nothing it brings is painted."""
        self._generation += 1
        self.workers.cancel_group(self, "page")
        self.loading_page = False

    def show_found(self, items: list[T], label: str) -> None:
        """Show what a lookup found (a leaked key's record) in place of the list, under ``label``."""
        self._generation += 1
        self.workers.cancel_group(self, "page")
        self.loading_page = False
        self.query_text = None
        self.found_label = label
        self.clear()
        self.items.clear()
        for item in items:
            key = self._row_key(item)
            self.items[key] = item
            self.add_row(*self._cells(item), key=key)
        self.next_cursor, self.has_more, self.loaded_once = None, False, True
        self.post_message(self.Loaded(self, len(self.items), False))

    def load_more(self) -> None:
        if self.has_more and not self.loading_page and len(self.items) < MAX_ROWS:
            self._load(reset=False)

    def _load(self, reset: bool) -> None:
        # The query and cursor of this load, taken now: a newer load (a keystroke's) cancels this
        # one (exclusive), and a reply that comes back anyway is for a worker that is no more.
        self._generation += 1
        self.loading_page = True
        self._load_page(self._generation, reset, None if reset else self.next_cursor, self.query_text)

    @work(exclusive=True, group="page")
    async def _load_page(self, generation: int, reset: bool, cursor: str | None, query: str | None) -> None:
        try:
            page = await self._fetch(cursor, query)
        except ClientError as exc:
            if generation == self._generation:
                self.loading_page = False
                self.post_message(self.Failed(self, exc))
            return
        except BaseException:
            if generation == self._generation:  # (a cancelled load must not unmark the newer one)
                self.loading_page = False
            raise
        if generation != self._generation:
            return
        self.loading_page = False
        keep = self.selected_key() if reset else None
        keep, self.select_after_load = self.select_after_load or keep, None
        if reset:
            self.clear()
            self.items.clear()
        for item in page.data:
            key = self._row_key(item)
            if key in self.items:
                continue
            self.items[key] = item
            self.add_row(*self._cells(item), key=key)
        self.next_cursor = page.next_cursor
        self.has_more = page.has_more
        self.loaded_once = True
        if keep is not None and keep in self.items:
            self.move_cursor(row=self.get_row_index(keep))
        self.post_message(self.Loaded(self, len(self.items), self.has_more))

    def replace(self, item: T) -> None:
        """Redraw one row after an edit, without a reload."""
        key = self._row_key(item)
        if key not in self.items:
            return
        self.items[key] = item
        for column, value in zip(self.ordered_columns, self._cells(item)):
            self.update_cell(key, column.key, value)

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # cursor outside the rows while a reload is under way
            return None

    def selected(self) -> T | None:
        key = self.selected_key()
        return self.items.get(key) if key is not None else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= self.row_count - 10:
            self.load_more()

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        if event.coordinate.row >= self.row_count - 10:
            self.load_more()
