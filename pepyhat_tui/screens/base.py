"""What every data screen shares: environment bar, title, banner, footer, back and refresh.

``ListScreen`` shows one pane (Apps, Users, Keys); detail screens (an app, a user)
build on ``DataScreen`` directly.  While the service is away (``pepyhat_tui.connection``)
a data screen dims what it shows and its banner says it is stale; once the service
answers again it reloads by itself, at once if it is on screen, else when next shown.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.screen import Screen

from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.guarded import Guarded
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.text import join, literal, plural
from pepyhat_tui.widgets.banner import Banner
from pepyhat_tui.widgets.environment_bar import EnvironmentBar
from pepyhat_tui.widgets.footer import Footer
from pepyhat_tui.widgets.paged_table import PagedTable
from pepyhat_tui.widgets.title_bar import TitleBar


class DataScreen(Guarded, Screen):
    """A screen of the service's data: escape goes back (when there is somewhere to go), ctrl+r reloads."""

    DEFAULT_CSS = """
    DataScreen.-stale DataTable {
        text-opacity: 55%;
    }
    """
    BINDINGS = bindings("back", "refresh")
    HEADING: ClassVar[str] = ""
    _loaded_epoch: int | None = None  # the watcher's epoch this screen last loaded in

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
        dashboard = self.dashboard
        if not dashboard.watcher.online:
            dashboard.watcher.retry_now()  # this screen reloads by itself if the service answers
            return
        if dashboard.connection_error is not None:
            dashboard.connect()  # (which counts the expiring keys again)
        else:
            dashboard.count_expiring()
        self.reload()

    # -- the connection ---------------------------------------------------------

    def load_failed(self, error: ClientError, title: str = "Loading failed", message: str | None = None) -> None:
        """A load failed: the banner and a toast say why, unless it is the outage the bar shows."""
        if self.dashboard.watcher.explains(error):
            self.connection_changed()
            return
        self.banner.show(message or error.message)
        self.report(error, title)

    def connection_changed(self) -> None:
        """Follow the watcher: stale while it is away; reload on its return if shown (else when shown)."""
        watcher = self.dashboard.watcher
        for bar in self.query(EnvironmentBar):
            bar.refresh_identity()
        self.set_class(not watcher.online, "-stale")
        if watcher.state == "refused":
            reason = watcher.reason.message if watcher.reason else "token refused"
            self.banner.show(f"{reason}: the service no longer takes this dashboard's token", "ctrl+r tries again", "⛔")
            return
        if watcher.state == "offline" and watcher.reason is not None and watcher.reason.code == "stopped":
            self.banner.show(watcher.reason.message, "q quits")
            return
        if watcher.state == "offline":
            reason = watcher.reason.message if watcher.reason else "the service is not answering"
            since = f"{watcher.since:%H:%M:%S} UTC" if watcher.since else "then"
            self.banner.show(f"{reason} — shown as of {since}, may be stale; reloads by itself when it answers",
                             "ctrl+r retries now")
            return
        if self._loaded_epoch is None:
            self._loaded_epoch = watcher.epoch
        elif self._loaded_epoch != watcher.epoch and self in self.dashboard.visible_screens():
            self._loaded_epoch = watcher.epoch
            self.banner.hide()
            self.reload()

    @on(events.Mount)
    def _note_epoch(self) -> None:
        self._loaded_epoch = self.dashboard.watcher.epoch
        if not self.dashboard.watcher.online:
            self.set_class(True, "-stale")

    @on(events.ScreenResume)
    def _resumed(self) -> None:
        self.connection_changed()  # what changed while another screen was shown

    @on(PagedTable.Loaded)
    def _loaded(self, event: PagedTable.Loaded) -> None:
        self.banner.hide()

    @on(PagedTable.Failed)
    def _failed(self, event: PagedTable.Failed) -> None:
        self.load_failed(event.error)


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
