"""Explain (`w` on a user's access row, or from the matrix): why a user holds what in one app.

The data plane's answer in short (found, active, roles, permissions), then per
permission the roles that grant it with each grant's origin and end, then every
grant, the expired ones marked.  ctrl+r loads it again; a refusal (403, 404)
shows in the banner; `t` tries the same request.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from pepyhat import schemas
from pepyhat_tui import outcomes
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.screens.base import DataScreen
from pepyhat_tui.text import join, plural
from pepyhat_tui.widgets.why import GrantsPanel, WhyPanel, summary


class ExplainScreen(DataScreen):
    BINDINGS = bindings("try.open")
    DEFAULT_CSS = """
    ExplainScreen #explain-body {
        height: 1fr;
    }
    ExplainScreen #explain-summary, ExplainScreen #explain-meaning {
        height: auto;
        padding: 0 1;
    }
    ExplainScreen #explain-meaning {
        color: $warning;
        text-style: bold;
    }
    ExplainScreen WhyPanel, ExplainScreen GrantsPanel {
        margin-top: 1;
    }
    """

    def __init__(self, email: str, app: str) -> None:
        super().__init__()
        self.email = email
        self.app_slug = app
        self.explained: schemas.ExplainResponse | None = None

    @property
    def heading(self) -> str:
        return f"Why: {self.email} in {self.app_slug}"

    def compose(self) -> ComposeResult:
        yield from self.chrome_top()
        with VerticalScroll(id="explain-body"):
            yield Static(id="explain-summary")
            yield Static(id="explain-meaning")
            yield WhyPanel(id="explain-why")
            yield GrantsPanel(id="explain-grants")
        yield from self.chrome_bottom()

    def on_mount(self) -> None:
        self.title_bar.show(join((self.heading, "bold")), "loading…")
        self.query_one("#explain-body").focus()
        self.reload()

    def reload(self) -> None:
        self.run_worker(self._load(), group="load", exclusive=True)

    async def _load(self) -> None:
        try:
            client = await self.dashboard.wait_client()
            explained = await client.explain(self.email, self.app_slug)
        except ClientError as exc:
            self.load_failed(exc, "Explain failed", f"{exc.status} {exc.code}: {exc.message}" if exc.status else None)
            self.title_bar.show(join((self.heading, "bold")), "not explained")
            return
        self.banner.hide()
        self.explained = explained
        self.show(explained)

    def action_try_request(self) -> None:
        self.dashboard.open_try(app=self.app_slug, email=self.email)

    def show(self, explained: schemas.ExplainResponse) -> None:
        now = self.dashboard.now()
        live = sum(1 for g in explained.grants if not g.expired)
        self.title_bar.show(
            join((f"Why: {explained.email} in {explained.app}", "bold")),
            f"{plural(len(explained.permissions), 'permission')} · {plural(live, 'live grant')}",
        )
        self.query_one("#explain-summary", Static).update(summary(explained))
        meaning = outcomes.answer(explained.found, explained.active)
        field = self.query_one("#explain-meaning", Static)
        field.update(Text(meaning.line() if meaning else ""))
        field.display = meaning is not None
        self.query_one(WhyPanel).show(explained, now)
        self.query_one(GrantsPanel).show(explained, now)
