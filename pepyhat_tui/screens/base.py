"""What every list screen shares: environment bar, title, `/` filter, paged table, banner."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, ClassVar, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from pepyhat_tui.client import ClientError
from pepyhat_tui.widgets.banner import Banner
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from pepyhat_tui.widgets.filter_input import FilterInput
from pepyhat_tui.widgets.paged_table import PagedTable

FILTER_DEBOUNCE = 0.15


class GuardedScreen(Screen):
    """Actions map to capabilities; an action the token may not run is not offered at all."""

    # action -> (capability, resource path pattern or None, operation)
    ACTION_CAPABILITIES: ClassVar[dict[str, tuple[str, str | None, str]]] = {}

    def action_requirement(self, action: str) -> tuple[str, str | None, str] | None:
        return self.ACTION_CAPABILITIES.get(action)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        need = self.action_requirement(action)
        if need is None:
            return True
        capability, path, operation = need
        return True if self.app.allows(capability, path, operation) else False

    def report(self, error: ClientError, title: str = "Request failed") -> None:
        self.notify(error.message, title=f"{title} ({error.code})", severity="error", timeout=8, markup=False)

    def mutate(self, call: Callable[[], Awaitable[Any]], done: str, then: Callable[[Any], None] | None = None) -> None:
        """Run a change in a worker; a refusal becomes a toast and the screen stays as it was."""

        async def run() -> None:
            try:
                result = await call()
            except ClientError as exc:
                self.report(exc, "Not done")
                return
            self.notify(done)
            if then is not None:
                then(result)

        self.run_worker(run(), group="mutate")

    def open_by_name(self, name: str) -> None:
        """Used by `:` go-to with an argument; screens that can open a row override it."""


class ListScreen(GuardedScreen):
    """A k9s-like resource list.  Subclasses give columns, a fetch and the cells of a row."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter"),
        # Universal keys stay out of the footer so it fits 80 columns; `?` and ctrl+p list them.
        Binding("ctrl+r", "refresh", "Refresh", id="refresh", show=False),
        Binding("escape", "back", "Back", id="back", show=False),
    ]
    HEADING: ClassVar[str] = ""
    COLUMNS: ClassVar[Sequence[tuple[str, str]]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._debounce: Timer | None = None

    # subclasses --------------------------------------------------------------

    async def fetch(self, cursor: str | None, query: str | None):
        raise NotImplementedError

    def cells(self, item: Any) -> Sequence[Any]:
        raise NotImplementedError

    def row_key(self, item: Any) -> str:
        raise NotImplementedError

    def subtitle(self) -> str:
        return ""

    # composition -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield EnvironmentBar(id="environment")
        yield Static(self.HEADING, id="title")
        yield FilterInput(id="filter")
        yield Banner(id="banner")
        yield PagedTable(self.COLUMNS, self._fetch, self.cells, self.row_key, id="table")
        yield Footer(compact=True)  # dense, so a screen's keys fit 80 columns

    @property
    def table(self) -> PagedTable:
        return self.query_one("#table", PagedTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#filter", FilterInput)

    def on_mount(self) -> None:
        self.update_title(loading=True)
        self.table.reload()
        self.table.focus()

    async def _fetch(self, cursor: str | None, query: str | None):
        await self.app.wait_client()
        return await self.fetch(cursor, query)

    def update_title(self, loading: bool = False) -> None:
        table = self.table
        count = len(table.items)
        parts = [f"[b]{self.HEADING}[/b]"]
        extra = self.subtitle()
        if extra:
            parts.append(extra)
        if loading and not table.loaded_once:
            parts.append("loading…")
        else:
            parts.append(f"{count}{'+' if table.has_more else ''} rows")
        if table.query_text:
            parts.append(f"filter: [i]{table.query_text}[/i]")
        self.query_one("#title", Static).update("  ".join(parts))

    # events ------------------------------------------------------------------

    @on(PagedTable.Loaded)
    def _loaded(self, event: PagedTable.Loaded) -> None:
        self.query_one(Banner).hide()
        self.update_title()

    @on(PagedTable.Failed)
    def _failed(self, event: PagedTable.Failed) -> None:
        self.query_one(Banner).show(event.error.message)
        self.report(event.error, "Loading failed")
        self.update_title()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(FILTER_DEBOUNCE, lambda: self.table.reload(event.value.strip()))

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value.strip()
        if value != (self.table.query_text or ""):
            self.table.reload(value)
        self.filter_input.display = False
        self.table.focus()

    # actions -----------------------------------------------------------------

    def action_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def action_refresh(self) -> None:
        if self.app.connection_error is not None:
            self.app.connect()
        self.table.reload(self.table.query_text)

    def action_back(self) -> None:
        if self.filter_input.display or self.table.query_text:
            self.filter_input.value = ""
            self.filter_input.display = False
            if self._debounce is not None:
                self._debounce.stop()
            if self.table.query_text:
                self.table.reload(None)
            self.table.focus()
        elif len(self.app.screen_stack) > 1:
            self.app.pop_screen()
