"""One app: its roles, permissions, members and keys, each a pane in a tab."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import TabbedContent, TabPane

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.guarded import segment
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.panes.keys import KeysPane
from pepyhat_tui.panes.members import MembersPane
from pepyhat_tui.panes.permissions import PermissionsPane
from pepyhat_tui.panes.roles import RolesPane
from pepyhat_tui.screens.base import DataScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.paged_table import PagedTable

TABS = ("roles", "permissions", "members", "keys")


class AppDetailScreen(DataScreen):
    DEFAULT_CSS = """
    AppDetailScreen TabbedContent {
        height: 1fr;
    }
    AppDetailScreen TabPane {
        padding: 0;
    }
    """
    BINDINGS = bindings("app.roles", "app.permissions", "app.members", "app.keys", "matrix.open", "try.open", "export")

    def __init__(self, slug: str) -> None:
        super().__init__()
        self.slug = slug
        self.details: schemas.App | None = None

    @property
    def heading(self) -> str:
        return f"App {self.slug}"

    def action_context(self) -> dict[str, str]:
        return {"app": segment(self.slug)}

    def compose(self) -> ComposeResult:
        slug = self.slug
        yield from self.chrome_top()
        with TabbedContent(initial="roles"):
            with TabPane("Roles", id="roles"):
                yield RolesPane(slug, id="pane-roles")
            with TabPane("Permissions", id="permissions"):
                yield PermissionsPane(slug, id="pane-permissions")
            with TabPane("Members", id="members"):
                yield MembersPane(slug, id="pane-members")
            with TabPane("Keys", id="keys"):
                yield KeysPane(slug, id="pane-keys")
        yield from self.chrome_bottom()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active or "roles"

    def pane(self, tab: str | None = None) -> ListPane:
        return self.query_one(f"#pane-{tab or self.active_tab}", ListPane)

    def table(self, tab: str | None = None) -> PagedTable:
        return self.pane(tab).table

    def on_mount(self) -> None:
        self.title_bar.show(Text(f"App {self.slug}", style="bold"), "loading…")
        self.load_details()
        self.pane("roles").load_once()
        self.pane("roles").focus_table()

    def reload(self) -> None:
        self.load_details()
        self.pane().reload()

    def load_details(self) -> None:
        async def run() -> None:
            try:
                client = await self.dashboard.wait_client()
                self.details = await client.get_app(self.slug)
            except ClientError as exc:
                self.load_failed(exc)
                return
            app = self.details
            main = join((f"App {app.slug}", "bold"), " — ", (app.name, ""))
            if app.description:
                main.append("  ")
                main.append_text(join((app.description, "dim")))
            counts = " · ".join(
                (plural(app.role_count, "role"), plural(app.member_count, "member"),
                 plural(app.active_key_count, "active key"))
            )
            self.title_bar.show(main, counts)

        self.run_worker(run(), group="details", exclusive=True)

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, event: TabbedContent.TabActivated) -> None:
        pane = self.pane()
        pane.load_once()
        pane.focus_table()
        self.refresh_bindings()

    @on(ListPane.Changed)
    def _pane_changed(self, event: ListPane.Changed) -> None:
        self.load_details()  # the counts in the title

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_matrix(self) -> None:
        self.dashboard.open_matrix(self.slug)

    def action_try_request(self) -> None:
        self.dashboard.open_try(app=self.slug)

    def action_export(self) -> None:
        self.dashboard.export_access(self.slug)
