"""`:matrix <app>` (or `m` on an app): who holds which role, at a glance.

The roles are the columns, so they are read first; the members then page in
under them (``panes/matrix.py``).  Back with escape.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult

from pepyhat import schemas
from pepyhat_tui.client import ClientError, all_pages
from pepyhat_tui.panes.base import ListPane
from pepyhat_tui.panes.matrix import MatrixPane
from pepyhat_tui.screens.base import DataScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.footer import Footer
from pepyhat_tui.widgets.paged_table import PagedTable


class MatrixScreen(DataScreen):
    def __init__(self, app_slug: str) -> None:
        super().__init__()
        self.app_slug = app_slug
        self.details: schemas.App | None = None
        self.roles: list[schemas.Role] = []

    @property
    def heading(self) -> str:
        return f"Matrix {self.app_slug}"

    def compose(self) -> ComposeResult:
        yield from self.chrome_top()
        yield from self.chrome_bottom()

    @property
    def pane(self) -> MatrixPane | None:
        found = self.query(MatrixPane)
        return found.first() if found else None

    def on_mount(self) -> None:
        self.title_bar.show(join((self.heading, "bold")), "loading…")
        self.reload()

    def reload(self) -> None:
        self.run_worker(self._load(), group="load", exclusive=True)

    async def _load(self) -> None:
        """The app and its roles; the grid is built again only when the roles changed."""
        try:
            client = await self.dashboard.wait_client()
            self.details = await client.get_app(self.app_slug)
            # One column per slug, even from a broken service (a column key must be unique).
            roles = list({r.slug: r async for r in all_pages(client.list_roles, app=self.app_slug)}.values())
        except ClientError as exc:
            self.load_failed(exc)
            return
        self.banner.hide()
        pane = self.pane
        if pane is not None and [r.slug for r in roles] == [r.slug for r in self.roles]:
            self.roles = roles
            pane.roles = roles
            pane.table.redraw_headers(roles, self.details.member_count)
            pane.reload()
            return
        self.roles = roles
        if pane is not None:
            await pane.remove()
        pane = MatrixPane(self.app_slug, roles, self.details.member_count, id="matrix")
        await self.mount(pane, before=self.query_one(Footer))
        pane.reload()
        pane.focus_table()
        self.update_title()

    def update_title(self) -> None:
        pane, app = self.pane, self.details
        main = join((self.heading, "bold"))
        if app is not None:
            main.append_text(join(" — ", (app.name, "")))
        if pane is None:
            self.title_bar.show(main, "loading…")
            return
        if pane.subtitle():
            main.append_text(join("  ", (pane.subtitle(), "dim")))
        table = pane.table
        if not table.loaded_once:
            counts = join("loading…")
        else:
            shown = plural(len(table.items), "user" if pane.everyone else "member") + ("+" if table.has_more else "")
            counts = join(shown, " · ", plural(len(self.roles), "role"))
        if table.query_text:
            counts = join(counts, "  filter: ", (table.query_text, "italic"))
        self.title_bar.show(main, counts)

    @on(PagedTable.Loaded)
    @on(PagedTable.Failed)
    @on(ListPane.Changed)
    def _retitle(self) -> None:
        self.update_title()
