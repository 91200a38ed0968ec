"""Grant a role: to whom, in which app, and optionally until when."""

from __future__ import annotations

from datetime import datetime, timezone

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Select

from pepyhat import schemas
from pepyhat_tui.client import ClientError, PepyHatClient, all_pages
from pepyhat_tui.guarded import resource_path
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join


def parse_expiry(text: str, now: datetime) -> datetime | None:
    """Empty = no expiry; ``30d``/``12h``/``1w`` from now; or an ISO date/time (UTC if no offset)."""
    text = text.strip()
    if not text:
        return None
    try:
        return now + schemas.parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expiry {text!r}: use a duration like 30d or a date like 2027-01-31") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


class GrantForm(FormScreen):
    def __init__(self, client: PepyHatClient, *, app: str | None = None, email: str | None = None) -> None:
        title = join("Grant a role", *((" to ", (email, "")) if email else ()), *((" in ", (app, "")) if app else ()))
        super().__init__(title, self._grant, "Grant")
        self.client = client
        self.fixed_app = app
        self.fixed_email = email

    def fields(self) -> ComposeResult:
        if self.fixed_email is None:
            yield from field("User email", self.text_field("email", placeholder="alice@example.com"))
        if self.fixed_app is None:
            yield from field("App", Select[str]([], id="app", prompt="loading apps…"))
        yield from field("Role", Select[str]([], id="role", prompt="choose an app first" if self.fixed_app is None else "loading roles…"))
        yield from field("Expires (optional)", self.text_field("expires", placeholder="30d, 12h, or 2027-01-31"))

    def on_mount(self) -> None:
        if self.fixed_email is None:
            self.query_one("#email").focus()
        if self.fixed_app is None:
            self._load_apps()
        else:
            self._load_roles(self.fixed_app)

    @work(group="options")
    async def _load_apps(self) -> None:
        try:
            apps = [a async for a in all_pages(self.client.list_apps)]
        except ClientError as exc:
            self.show_error(exc.message)
            return
        select = self.query_one("#app", Select)
        grantable = [a for a in apps if self._may_grant_in(a.slug)]
        select.set_options([(join((a.slug, ""), " — ", (a.name, "")), a.slug) for a in grantable])
        select.prompt = "choose an app"

    def _may_grant_in(self, app: str) -> bool:
        """Offer only the apps where the token's scopes reach this member: readable is not enough."""
        if self.fixed_email is None:  # any member: the email is typed
            return self.dashboard.allows("grants.write", resource_path("apps", app, "members") + "/*", "write", "new")
        return self.dashboard.allows("grants.write", resource_path("apps", app, "members", self.fixed_email), "write", "row")

    @work(group="options", exclusive=True)
    async def _load_roles(self, app: str) -> None:
        try:
            roles = [r async for r in all_pages(self.client.list_roles, app=app)]
        except ClientError as exc:
            self.show_error(exc.message)
            return
        select = self.query_one("#role", Select)
        select.set_options([(join((r.slug, ""), " — ", (r.name, "")), r.slug) for r in roles])
        select.prompt = "choose a role" if roles else "this app has no roles"

    @on(Select.Changed, "#app")
    def _app_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._load_roles(event.value)

    def build(self):
        email = self.fixed_email or self.value("email").lower()
        app = self.fixed_app or self.query_one("#app", Select).value
        role = self.query_one("#role", Select).value
        if not email or "@" not in email:
            raise ValueError("email: enter the user's email")
        if not isinstance(app, str):
            raise ValueError("app: choose an app")
        if not isinstance(role, str):
            raise ValueError("role: choose a role")
        expires_at = parse_expiry(self.value("expires"), self.dashboard.now())
        return (app, email, role, expires_at)

    async def _grant(self, body):
        app, email, role, expires_at = body
        return await self.client.grant(app, email, role, expires_at)
