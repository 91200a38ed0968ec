"""The audit log (`:audit`, `:audit actor:alice since:2h`): newest first, filtered, following new events.

While following ("● live" in the title) a timer asks every ``POLL_EVERY``
seconds for what is newer than the newest event shown; `p` pauses and resumes.
The timer stops while the screen is not the current one (another mode, a
screen or modal above it): nobody would see the rows, so no requests; back on
the screen, one poll catches up at once.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.timer import Timer

from pepyhat_tui.actions import bindings
from pepyhat_tui.panes.audit import AuditPane
from pepyhat_tui.screens.base import ListScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.paged_table import PagedTable

POLL_EVERY = 2.0  # seconds


class AuditScreen(ListScreen):
    HEADING = "Audit log"
    BINDINGS = bindings("audit.pause")

    def __init__(self) -> None:
        super().__init__()
        self.following = True
        self.shown = False  # the current screen (between ScreenResume and ScreenSuspend)
        self._timer: Timer | None = None

    def make_pane(self) -> AuditPane:
        return AuditPane(id="audit")

    @property
    def pane(self) -> AuditPane:
        return self.query_one(AuditPane)

    def on_mount(self) -> None:
        self._timer = self.set_interval(POLL_EVERY, self.pane.poll, pause=True)
        self._run_timer()

    # -- following ----------------------------------------------------------------------

    def on_screen_resume(self) -> None:
        self.shown = True
        if self._timer is not None:
            self._run_timer()
            if self.following:
                self.pane.poll()  # what happened while we were away

    def on_screen_suspend(self) -> None:
        self.shown = False
        self._run_timer()

    def _run_timer(self) -> None:
        if self._timer is None:
            return
        if self.following and self.shown:
            self._timer.resume()
        else:
            self._timer.pause()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self._run_timer()
        if self.following:
            self.pane.poll()
        self.update_title()

    # -- title and banner ---------------------------------------------------------------

    def marker(self) -> Text:
        return Text("● live", style="bold green") if self.following else Text("❚❚ paused", style="bold yellow")

    def update_title(self, loading: bool = False) -> None:
        pane, table = self.pane, self.pane.table
        main = join((self.heading, "bold"), "  ", self.marker())
        if loading and not table.loaded_once:
            counts = Text("loading…")
        else:
            counts = Text(plural(len(table.items), pane.NOUN) + ("+" if table.has_more else ""))
        if pane.filter_error:
            counts = join(("bad filter", "bold red"), "  ", counts)
        if table.query_text:
            counts = join(counts, "  filter: ", (table.query_text, "italic"))
        self.title_bar.show(main, counts)

    def show_filter_error(self) -> None:
        """Why the filter typed was not sent (the rows shown are still those of the last good one)."""
        self.banner.update(join("⚠ filter not sent: ", (self.pane.filter_error, "")))
        self.banner.display = True

    @on(AuditPane.FilterChecked)
    def _filter_checked(self, event: AuditPane.FilterChecked) -> None:
        if event.error:
            self.show_filter_error()
        else:
            self.banner.hide()
        self.update_title()

    @on(PagedTable.Loaded)
    def _audit_loaded(self, event: PagedTable.Loaded) -> None:
        # Before DataScreen's handler (which hides the banner): a bad filter stays said.
        event.prevent_default()
        if self.pane.filter_error:
            self.show_filter_error()
        else:
            self.banner.hide()
        self.update_title()
