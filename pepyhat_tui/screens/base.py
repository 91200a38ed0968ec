"""What every data screen shares: environment bar, title, banner, footer, back and refresh.

``ListScreen`` shows one pane (Apps, Users, Keys); detail screens (an app, a user)
build on ``DataScreen`` directly.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from pepyhat_tui.actions import bindings
from pepyhat_tui.guarded import Guarded
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.text import join, literal, plural
from pepyhat_tui.widgets.banner import Banner
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from pepyhat_tui.widgets.paged_table import PagedTable
from pepyhat_tui.widgets.title_bar import TitleBar


class DataScreen(Guarded, Screen):
    """A screen of the service's data: escape goes back (when there is somewhere to go), ctrl+r reloads."""

    BINDINGS = bindings("back", "refresh")
    HEADING: ClassVar[str] = ""

    @property
    def heading(self) -> str:
        """What this screen is, for `?` (``Apps``, ``App crm``)."""
        return self.HEADING

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    @property
    def title_bar(self) -> TitleBar:
        return self.query_one(TitleBar)

    def chrome_top(self) -> ComposeResult:
        yield EnvironmentBar(id="environment")
        yield TitleBar(id="title")
        yield Banner(id="banner")

    def chrome_bottom(self) -> ComposeResult:
        yield Footer(compact=True)  # dense, so a screen's keys fit 80 columns

    def open_by_name(self, name: str) -> None:
        """`:` go-to with an argument; screens that can open a row override it."""

    def reload(self) -> None:
        """Load what the screen shows again."""

    def action_available(self, action: str) -> bool:
        if action == "back":
            stack = self.dashboard.screen_stack  # (help or the palette may sit above this screen)
            return self in stack and stack.index(self) > 0  # a mode's first screen has nowhere to go back
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_refresh(self) -> None:
        if self.dashboard.connection_error is not None:
            self.dashboard.connect()  # (which counts the expiring keys again)
        else:
            self.dashboard.count_expiring()
        self.reload()

    @on(PagedTable.Loaded)
    def _loaded(self, event: PagedTable.Loaded) -> None:
        self.banner.hide()

    @on(PagedTable.Failed)
    def _failed(self, event: PagedTable.Failed) -> None:
        self.banner.show(event.error.message)
        self.report(event.error, "Loading failed")


class ListScreen(DataScreen):
    """A k9s-like resource list: one pane under the title."""

    def make_pane(self) -> ListPane:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield from self.chrome_top()
        yield self.make_pane()
        yield from self.chrome_bottom()

    @property
    def pane(self) -> ListPane:
        return self.query_one(ListPane)

    @property
    def table(self) -> PagedTable:
        return self.pane.table

    @property
    def filter_input(self):
        return self.pane.filter_input

    def on_mount(self) -> None:
        self.update_title(loading=True)
        self.pane.reload()
        self.pane.focus_table()

    def reload(self) -> None:
        self.pane.reload()

    def open_by_name(self, name: str) -> None:
        self.pane.open_by_name(name)

    def update_title(self, loading: bool = False) -> None:
        pane, table = self.pane, self.pane.table
        main = literal(self.heading, "bold")  # (`:keys <app>` puts typed text in it)
        if pane.subtitle():
            main.append(f"  {pane.subtitle()}", style="dim")
        if loading and not table.loaded_once:
            counts = Text("loading…")
        else:
            counts = Text(plural(len(table.items), pane.NOUN) + ("+" if table.has_more else ""))
        if table.query_text:
            counts = join(counts, "  filter: ", (table.query_text, "italic"))
        elif table.found_label is not None:
            counts = join(counts, "  looked up: ", (table.found_label, "italic"))
        self.title_bar.show(main, counts)

    @on(PagedTable.Loaded)
    @on(PagedTable.Failed)
    def _retitle(self) -> None:
        self.update_title()
