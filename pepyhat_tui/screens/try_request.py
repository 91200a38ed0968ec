"""Try a request: what the data plane answers an app for a user, and why.

App (the service's apps), email (suggested from the service as you type) and an
optional app key.  With a key, the real ``GET /api/v1/authz/...`` is made with it
in ``X-API-Key``; without, the explain endpoint (admin API) says what the data
plane would answer.  Either way: status, latency, the headers that matter, the
JSON body, why each permission is granted, and the equivalent curl with the key
masked (``c`` copies it).  It asks again as you type (debounced; a newer
keystroke cancels the older request).

The key is a secret: it lives in the masked field only (read into a worker's
locals for the request), never in a URL, the title, a toast or a log, and the
field is emptied when the screen goes.
"""

from __future__ import annotations

import json
import shlex
from typing import Any
from urllib.parse import quote, urlencode

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.suggester import Suggester
from textual.timer import Timer
from textual.widgets import Input, Select, Static

from pepyhat import schemas
from pepyhat_tui import clipboard, outcomes
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import EMBEDDED_URL, ClientError, DataPlaneReply, PepyHatClient
from pepyhat_tui.completion import complete_email
from pepyhat_tui.guarded import resource_path
from pepyhat_tui.leaks import contains_key
from pepyhat_tui.screens.base import DataScreen
from pepyhat_tui.text import join, literal, printable
from pepyhat_tui.widgets.secret_input import SecretInput
from pepyhat_tui.widgets.text_input import TextInput
from pepyhat_tui.widgets.why import WhyPanel

DEBOUNCE = 0.3  # seconds of quiet typing before asking
KEY_ENV = "PEPY_HAT_API_KEY"
URL_ENV = "PEPY_HAT_URL"
DEFAULT_URL = "http://127.0.0.1:8000"  # `pepyhat serve`'s default address
EXPLAIN_LABEL = "explain — admin API, no app key: what the data plane would answer"
# The reply headers an app acts on, as the contract spells them.
SHOWN_HEADERS = {
    "x-request-id": "X-Request-ID",
    "x-ratelimit-limit": "X-RateLimit-Limit",
    "x-ratelimit-remaining": "X-RateLimit-Remaining",
    "x-ratelimit-reset": "X-RateLimit-Reset",
    "retry-after": "Retry-After",
}
MAX_APPS = 5000  # a select of more is no use; `:try <email> <app>` reaches any app
WIDE = 110  # columns from which the body and the why panel sit side by side


def curl_command(client: PepyHatClient, email: str, app: str, *, embedded: bool) -> str:
    """The request an app makes, as a shell command: the key is ``$PEPY_HAT_API_KEY``, never its value.

    The embedded service has no network address: the URL is then ``$PEPY_HAT_URL``
    (default ``pepyhat serve``'s), expanded by the shell outside the quoted path.
    """
    target = f"{client.authz_path(email)}?{urlencode({'app': app}, quote_via=quote)}"
    url = f'"${{{URL_ENV}:-{DEFAULT_URL}}}"{shlex.quote(target)}' if embedded else shlex.quote(client.base_url + target)
    return f'curl -sS -H "X-API-Key: ${KEY_ENV}" {url}'


def json_text(body: Any) -> str:
    """The body as the operator reads it: indented, non-ASCII kept, control and bidi characters escaped."""
    text = json.dumps(body, indent=2, ensure_ascii=False)
    # line by line: printable would escape the newlines themselves
    return "\n".join(printable(line) for line in text.split("\n"))


class EmailSuggester(Suggester):
    """The first email the service has that starts with what is typed."""

    def __init__(self, screen: "TryScreen") -> None:
        super().__init__(use_cache=False, case_sensitive=False)  # (emails are lower-case)
        self.screen = screen

    async def get_suggestion(self, value: str) -> str | None:
        # Input paints a suggestion as it is, and taking it bypasses TextInput's escaping.
        suggested = await complete_email(self.screen.dashboard._client, value)
        return None if suggested is None else printable(suggested)


class Results(VerticalScroll, can_focus=True):
    """The answer, scrollable; focusable so that ``c`` reaches the screen (the inputs take typed text)."""

    DEFAULT_CSS = """
    Results {
        height: 1fr;
        padding: 0 1;
        border-top: solid $primary 50%;
    }
    Results:focus {
        border-top: solid $accent;
    }
    Results > Static {
        height: auto;
    }
    Results #try-meaning, Results #try-headers, Results #try-curl-note {
        display: none;
    }
    Results .-shown {
        display: block !important;
    }
    Results #try-curl {
        color: $text;
        background: $boost;
        padding: 0 1;
    }
    Results #try-curl-label {
        color: $text-muted;
        margin-top: 1;
    }
    Results #try-body {
        height: auto;
        layout: vertical;
        margin-top: 1;
    }
    Results #try-body.-wide {
        layout: horizontal;
    }
    Results #try-body > #try-json {
        height: auto;
        width: 100%;
    }
    Results #try-body.-wide > #try-json {
        width: auto;
        max-width: 45%;
        margin-right: 3;
    }
    Results #try-body.-wide > WhyPanel {
        width: 1fr;
    }
    """


class TryScreen(DataScreen):
    DEFAULT_CSS = """
    TryScreen #try-form {
        height: auto;
        padding: 0 1;
    }
    TryScreen .try-row {
        height: 1;
    }
    TryScreen #try-row-app {
        margin-bottom: 1;
    }
    TryScreen .try-label {
        width: 7;
        color: $text-muted;
    }
    TryScreen #try-app {
        width: 26;
        margin-right: 2;
    }
    TryScreen #try-email, TryScreen #try-key {
        width: 1fr;
    }
    """
    BINDINGS = bindings("try.copy")
    HEADING = "Try a request"

    def __init__(self, *, app: str | None = None, email: str | None = None) -> None:
        super().__init__()
        self.wanted_app = app
        self.initial_email = email or ""
        self.curl: str | None = None  # the command `c` copies (no secret in it)
        self.reply: DataPlaneReply | None = None  # the data plane's last answer (with a key)
        self.explained: schemas.ExplainResponse | None = None  # explain's last answer
        self.body_json: str | None = None  # the JSON shown
        self.answered: tuple[str, str, bool] | None = None  # (app, email, with a key) of what is shown
        self._debounce: Timer | None = None
        self._curl_embedded = False
        self.key_field = SecretInput(placeholder="app key (optional: without one, explain answers)", id="try-key",
                                     compact=True)

    # -- layout ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield from self.chrome_top()
        with VerticalScroll(id="try-form", can_focus=False):
            with Horizontal(id="try-row-app", classes="try-row"):
                yield Static("App", classes="try-label")
                yield Select[str]([], prompt="loading apps…", id="try-app", compact=True)
                yield Static("Email", classes="try-label")
                yield TextInput(printable(self.initial_email), placeholder="user's email", id="try-email",
                                suggester=EmailSuggester(self), compact=True)
            with Horizontal(classes="try-row"):
                yield Static("Key", classes="try-label")
                yield self.key_field
        with Results(id="try-result"):
            yield Static(id="try-status")
            yield Static(id="try-meaning")
            yield Static(id="try-headers")
            yield Static(id="try-curl-label")
            yield Static(id="try-curl")
            yield Static(id="try-curl-note")
            with Horizontal(id="try-body"):
                yield Static(id="try-json")
                yield WhyPanel(id="try-why")
        yield from self.chrome_bottom()

    @property
    def app_select(self) -> Select[str]:
        return self.query_one("#try-app", Select)

    @property
    def email_field(self) -> Input:
        return self.query_one("#try-email", Input)

    @property
    def why_panel(self) -> WhyPanel:
        return self.query_one("#try-why", WhyPanel)

    @property
    def results(self) -> Results:
        return self.query_one(Results)

    @property
    def chosen_app(self) -> str | None:
        value = self.app_select.value
        return value if isinstance(value, str) else None

    def on_mount(self) -> None:
        self.title_bar.show(join((self.heading, "bold")), "loading…")
        self._idle()
        if self.wanted_app is None:
            self.app_select.focus()
        elif not self.initial_email:
            self.email_field.focus()
        else:
            self.key_field.focus()
        self.load_apps()

    def on_resize(self) -> None:
        self.query_one("#try-body").set_class(self.size.width >= WIDE, "-wide")

    def on_unmount(self) -> None:
        # However the screen goes (escape, a mode switch, quitting), the key goes with it.
        self.key_field.forget()
        if self._debounce is not None:
            self._debounce.stop()

    def action_back(self) -> None:
        self.key_field.forget()
        super().action_back()

    def action_available(self, action: str) -> bool:
        if action == "copy_curl":
            return self.curl is not None
        return super().action_available(action)

    # -- the apps -------------------------------------------------------------

    @work(group="apps", exclusive=True)
    async def load_apps(self) -> None:
        """The service's apps into the select, page by page; then the one asked for, even if unknown."""
        try:
            client = await self.dashboard.wait_client()
            slugs: list[str] = []
            cursor = None
            while True:
                page = await client.list_apps(cursor=cursor, limit=100)
                slugs += [a.slug for a in page.data]
                self._set_apps(slugs)
                if not page.has_more or not page.next_cursor or len(slugs) >= MAX_APPS:
                    break
                cursor = page.next_cursor
        except ClientError as exc:
            self.load_failed(exc, "Loading apps failed")
            return
        if self.wanted_app and self.wanted_app not in slugs:
            self._set_apps(slugs + [self.wanted_app])  # so the answer (404 app_not_found) says it is unknown
        self.banner.hide()

    def _set_apps(self, slugs: list[str]) -> None:
        select = self.app_select
        keep = self.chosen_app or self.wanted_app
        with self.prevent(Select.Changed):  # a new page is not a new choice
            select.set_options([(literal(slug), slug) for slug in slugs])
            if keep in slugs:
                select.value = keep
        select.prompt = "app…"
        if self.chosen_app != (self.answered or (None,))[0]:
            self.ask_now()

    # -- asking ---------------------------------------------------------------

    @on(Input.Changed, "#try-email, #try-key")
    @on(Select.Changed, "#try-app")
    def _changed(self, event) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE, self.ask_now)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.ask_now()

    def ask_now(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self.ask()

    def reload(self) -> None:
        self.load_apps()
        self.ask_now()

    @work(group="try", exclusive=True)
    async def ask(self) -> None:
        """One answer for what the fields hold now (a newer call cancels this one)."""
        app, email = self.chosen_app, self.email_field.value.strip()
        if not app or not email:
            self._idle()
            return
        if contains_key(email) or contains_key(app):
            self._refused_locally()
            return
        try:
            client = await self.dashboard.wait_client()
        except ClientError as exc:
            self.banner.show(exc.message)
            return
        self.title_bar.show(join((self.heading, "bold")), "asking…")
        embedded = self._embedded(client)
        self._set_curl(curl_command(client, email, app, embedded=embedded), embedded=embedded)
        if self.key_field.value.strip():
            await self._ask_data_plane(client, app, email)
        else:
            await self._ask_explain(client, app, email)

    def _embedded(self, client: PepyHatClient) -> bool:
        return self.dashboard.target.mode != "remote" or client.base_url == EMBEDDED_URL

    async def _ask_data_plane(self, client: PepyHatClient, app: str, email: str) -> None:
        try:
            # (read here, into the call only: the key is kept nowhere else)
            reply = await client.try_authz(email, app, self.key_field.value.strip())
        except ClientError as exc:
            self._failed(exc, with_key=True)
            return
        self.banner.hide()
        self.reply, self.explained, self.answered = reply, None, (app, email, True)
        code = reply.error.code if reply.error else ("OK" if reply.status == 200 else "")
        status = join((f"{reply.status} {code}".strip(), _status_style(reply.status)),
                      f" · {reply.latency_ms:.0f} ms — the data plane's answer to this app key")
        if reply.answer is not None:
            meaning = outcomes.answer(reply.answer.found, reply.answer.active)
            self._show_status(status, meaning.line() if meaning else None)
        elif reply.error is not None:
            self._show_status(status, outcomes.refusal(reply.status, reply.error.code))
        else:
            self._show_status(status, "the reply is not the data plane's JSON")
        self._show_headers(reply.headers)
        self._show_body(reply.body)
        self._title("data plane (app key)")
        await self._explain_why(client, app, email)

    async def _explain_why(self, client: PepyHatClient, app: str, email: str) -> None:
        """With a key, the why panel needs explain too: only if the token may."""
        path = resource_path("apps", app, "authz", email)
        if not self.dashboard.allows("authz.explain", path):
            self.why_panel.note("not shown: your token lacks authz.explain for " + printable(path))
            return
        try:
            explained = await client.explain(email, app)
        except ClientError as exc:
            self.why_panel.note(join("not shown: explain answered ", (f"{exc.status or ''} {exc.code}".strip(), "bold"),
                                     " — ", (exc.message, "")))
            return
        self.explained = explained
        self.why_panel.show(explained, self.dashboard.now())

    async def _ask_explain(self, client: PepyHatClient, app: str, email: str) -> None:
        if not self.dashboard.allows("authz.explain", resource_path("apps", app, "authz", email)):
            self._cannot_explain(app, email)
            return
        try:
            explained = await client.explain(email, app)
        except ClientError as exc:
            self._failed(exc, with_key=False)
            return
        self.banner.hide()
        self.reply, self.explained, self.answered = None, explained, (app, email, False)
        meaning = outcomes.answer(explained.found, explained.active)
        self._show_status(Text(EXPLAIN_LABEL, style="bold"), meaning.line() if meaning else None)
        self._show_headers({})
        self._show_body(schemas.AuthzResponse.model_validate(explained.model_dump()).model_dump(mode="json"))
        self.why_panel.show(explained, self.dashboard.now())
        self._title("explain (no key)")

    # -- showing --------------------------------------------------------------

    def _title(self, mode: str) -> None:
        self.title_bar.show(join((self.heading, "bold")), mode)

    def _idle(self) -> None:
        self.reply = self.explained = self.body_json = self.answered = None
        self._title("")
        self._show_status(Text("Choose an app and type an email; add an app key to ask the data plane itself.",
                               style="italic"), None)
        self._show_headers({})
        self._show_body(None)
        self._set_curl(None)
        self.why_panel.note("")

    def _refused_locally(self) -> None:
        """A key typed into the email (or app): it must not travel in a URL, so nothing is sent."""
        self._idle()
        self._show_status(Text("not sent", style="bold red"), outcomes.refusal(400, "secret_in_url")
                          + " (nothing was sent: a key goes in the key field only)")

    def _cannot_explain(self, app: str, email: str) -> None:
        curl = self.curl
        self._idle()
        self._show_status(Text("explain — not allowed", style="bold red"),
                          "your token lacks authz.explain here: give an app key to ask the data plane itself")
        self._set_curl(curl, embedded=self._curl_embedded)

    def _failed(self, exc: ClientError, *, with_key: bool) -> None:
        self.reply, self.explained, self.answered = None, None, None
        if exc.status is None:  # never reached the service: the banner says so until it answers
            self.load_failed(exc)
        label = "the data plane" if with_key else EXPLAIN_LABEL
        code = f"{exc.status} {exc.code}" if exc.status else exc.code
        self._show_status(join((code, "bold red"), " — ", label),
                          outcomes.refusal(exc.status, exc.code) if exc.status else printable(exc.message))
        self._show_headers({})
        self._show_body(None)
        self.why_panel.note(join("not shown: ", (exc.message, "")))
        self._title("data plane (app key)" if with_key else "explain (no key)")

    def _show_status(self, status: Text, meaning: str | None) -> None:
        self.query_one("#try-status", Static).update(status)
        field = self.query_one("#try-meaning", Static)
        field.update(literal(meaning or "", "bold yellow"))
        field.set_class(bool(meaning), "-shown")

    def _show_headers(self, headers: dict[str, str]) -> None:
        lines = [join(f"{SHOWN_HEADERS[name]}: ", (value, "bold")) for name, value in headers.items()
                 if name in SHOWN_HEADERS]
        field = self.query_one("#try-headers", Static)
        field.update(join(*lines, separator="\n"))
        field.set_class(bool(lines), "-shown")

    def _show_body(self, body: Any) -> None:
        field = self.query_one("#try-json", Static)
        if body is None:
            self.body_json = None
            field.update("")
            return
        self.body_json = json_text(body)
        theme = "monokai" if self.app.current_theme.dark else "default"
        field.update(Syntax(self.body_json, "json", theme=theme, background_color="default", word_wrap=True))

    def _set_curl(self, curl: str | None, *, embedded: bool = False) -> None:
        had = self.curl is not None
        self.curl, self._curl_embedded = curl, embedded
        label = self.query_one("#try-curl-label", Static)
        note = self.query_one("#try-curl-note", Static)
        if curl is None:
            label.update("")
            self.query_one("#try-curl", Static).update("")
            note.set_class(False, "-shown")
        else:
            label.update(Text(f"curl, the key as ${KEY_ENV} — c copies it (tab to the results first)"))
            self.query_one("#try-curl", Static).update(literal(curl))
            note.update(Text(f"embedded: no network address; {URL_ENV} is where `pepyhat serve` runs",
                             style="dim italic"))
            note.set_class(embedded, "-shown")
        if had != (curl is not None):
            self.refresh_bindings()

    # -- actions --------------------------------------------------------------

    def action_copy_curl(self) -> None:
        if self.curl is None:
            return
        copied = clipboard.copy(self.app, self.curl)
        self.notify(f"curl {copied.message}" if copied.ok else "copy failed: select the curl and copy it by hand",
                    severity="information" if copied.ok else "warning")


def _status_style(status: int) -> str:
    if status == 200:
        return "bold green"
    if status == 429:
        return "bold yellow"
    return "bold red"
