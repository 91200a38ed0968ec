"""Mint a key, or edit one: name, kind, app, expiry, rate limit, scopes, capabilities.

The common case is three keystrokes: on an app's Keys tab, ``n``, a name,
``ctrl+s`` mints an app key of that app with its default scope and no expiry.
Every problem shows on the field it concerns, as typed (expiry, rate limit,
scope rows) and as the service answers (validation, ``escalation_denied``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import ValidationError
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Select, Static

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.client import ClientError, all_pages
from pepyhat_tui.formatting import relative
from pepyhat_tui.screens.form import FormScreen
from pepyhat_tui.text import join
from pepyhat_tui.widgets.capability_editor import CapabilityEditor
from pepyhat_tui.widgets.scope_editor import ScopeEditor, presets

EXPIRY_PRESETS = ("7d", "30d", "90d", "never")
KIND_OPTIONS = [("app key (X-API-Key, data plane)", "app"), ("admin token (Bearer, admin API)", "admin")]
# Where the service's words about a field go: its field name -> our field.
FIELD_OF = {
    "name": "name", "kind": "kind", "app": "app", "expires_in": "expires", "expires_at": "expires",
    "rate_limit_per_minute": "rate", "scopes": "scopes", "capabilities": "capabilities",
}


def read_expiry(text: str, now: datetime) -> tuple[str | None, datetime | None, str]:
    """(expires_in, expires_at, what it means) from what was typed; ValueError in words."""
    value = text.strip().lower()
    if value in ("", "never"):
        return None, None, "never expires"
    try:
        span = schemas.parse_duration(value)
    except ValueError:
        pass
    else:
        if span.total_seconds() <= 0:
            raise ValueError("a key born expired is no use: give more than 0s")
        return value, None, f"expires {relative(now + span, now)}"
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError("use never, a duration (45s, 90m, 12h, 30d, 1w) or a date (2027-01-31)") from None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    if when <= now:
        raise ValueError("that moment has passed")
    return None, when, f"expires {relative(when, now)}"


def read_rate(text: str) -> int | None:
    value = text.strip()
    if not value or value.lower() == "none":
        return None
    if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
        raise ValueError("a whole number of requests per minute, 1 to 1000000, or empty for no limit")
    return int(value)


class KeyForm(FormScreen):
    DEFAULT_CSS = """
    KeyForm .field-error {
        color: $error;
        height: auto;
    }
    KeyForm .field-note {
        color: $text-muted;
        height: auto;
    }
    KeyForm .field-row {
        height: auto;
    }
    KeyForm .field-row > .form-label {
        width: 14;
    }
    KeyForm .field-row > Input, KeyForm .field-row > Select {
        width: 1fr;
    }
    KeyForm .expiry-preset {
        width: auto;
        min-width: 5;
        margin-left: 1;
    }
    KeyForm .field-note, KeyForm .field-error {
        padding-left: 14;
    }
    KeyForm .field-error {
        display: none;
    }
    """

    BINDINGS = bindings("scopes.add")  # from any field, not only from inside the editor

    def __init__(self, *, app: str | None = None, key: schemas.Key | None = None) -> None:
        if key is not None:
            title = join("Edit key ", (key.name, ""), " ", (key.start + "…", "dim"))
        else:
            title = join("New key", *((" of ", (app, "")) if app else ()))
        super().__init__(title, self._save_key, "Save" if key else "Create")
        self.existing = key
        self.fixed_app = key.app if key else app

    # -- fields -----------------------------------------------------------------

    @property
    def kind(self) -> str:
        if self.existing is not None:
            return self.existing.kind
        if self.fixed_app:
            return "app"
        value = self.query_one("#kind", Select).value
        return value if isinstance(value, str) else "app"

    @property
    def chosen_app(self) -> str | None:
        if self.fixed_app:
            return self.fixed_app
        value = self.query_one("#app", Select).value
        return value if isinstance(value, str) else None

    def default_scopes(self, kind: str, app: str | None) -> list[schemas.Scope]:
        if kind == "app":
            try:
                return schemas.app_key_scopes(app) if app else []
            except ValidationError:  # a slug no path can hold: the operator writes the rows
                return []
        identity = self.dashboard.identity
        return list(identity.scopes) if identity else []  # a token inherits its minter's reach

    def labelled(self, label: str, id: str, widget) -> ComposeResult:
        with Horizontal(id=f"row-{id}", classes="field-row"):
            yield Static(label, classes="form-label")
            yield widget
        yield Static("", id=f"error-{id}", classes="field-error")

    def fields(self) -> ComposeResult:
        key = self.existing
        identity = self.dashboard.identity
        own_scopes = list(identity.scopes) if identity else []
        own_caps = list(identity.capabilities) if identity else []
        name = self.text_field("name", key.name if key else None, placeholder="e.g. crm-production", compact=True)
        yield from self.labelled("Name", "name", name)
        if key is None and not self.fixed_app:
            kind = Select(KIND_OPTIONS, value="app", allow_blank=False, id="kind", compact=True)
            yield from self.labelled("Kind", "kind", kind)
            yield from self.labelled("App", "app", Select[str]([], id="app", prompt="loading apps…", compact=True))
        if key is None:
            with Horizontal(classes="field-row"):
                yield Static("Expires", classes="form-label")
                yield self.text_field("expires", "never", placeholder="never, 30d, 12h, 2027-01-31", compact=True)
                for preset in EXPIRY_PRESETS:
                    yield Button(preset, compact=True, name=preset, classes="expiry-preset")
            yield Static("never expires", id="note-expires", classes="field-note")
            yield Static("", id="error-expires", classes="field-error")
        rate = str(key.rate_limit_per_minute) if key and key.rate_limit_per_minute else None
        yield from self.labelled("Limit/minute", "rate", self.text_field("rate", rate, placeholder="none", compact=True))
        initial = key.scopes if key else self.default_scopes(self.kind_initial(), self.fixed_app)
        yield ScopeEditor(
            list(initial), own=own_scopes, examples=self._examples,
            preset_choices=presets(self.fixed_app, [self.fixed_app] if self.fixed_app else []), id="scopes",
        )
        yield Static("", id="error-scopes", classes="field-error")
        yield CapabilityEditor(key.capabilities if key else [], held=own_caps, id="capabilities")
        yield Static("", id="error-capabilities", classes="field-error")

    def kind_initial(self) -> str:
        return self.existing.kind if self.existing else "app"

    def on_mount(self) -> None:
        self.query_one("#name").focus()
        self._show_capabilities()
        if self.existing is None and not self.fixed_app:
            self._load_apps()

    def _show_capabilities(self) -> None:
        admin = self.kind == "admin"
        self.query_one("#capabilities").display = admin
        if self.existing is None and not self.fixed_app:
            for part in ("#row-app", "#error-app"):
                self.query_one(part).display = not admin

    @work(group="options")
    async def _load_apps(self) -> None:
        try:
            apps = [a async for a in all_pages(self.dashboard.client.list_apps)]
        except ClientError as exc:
            self.field_error("app", exc.message)
            return
        select = self.query_one("#app", Select)
        select.set_options([(join((a.slug, ""), " — ", (a.name, "")), a.slug) for a in apps])
        select.prompt = "choose an app" if apps else "no apps yet: create one first"
        self.query_one(ScopeEditor).set_presets(presets(self.chosen_app, [a.slug for a in apps][:20]))

    async def _examples(self, pattern: str) -> tuple[list[str], bool]:
        page = await self.dashboard.client.scope_examples(pattern, limit=3)
        return page.data, page.has_more

    def action_add_row(self) -> None:
        self.query_one(ScopeEditor).action_add_row()

    # -- as typed ---------------------------------------------------------------

    def field_error(self, field: str, message: str = "") -> None:
        line = self.query_one(f"#error-{field}", Static)
        line.update(join("✗ ", (message, "")) if message else "")
        line.display = bool(message)

    @on(Select.Changed, "#kind")
    @on(Select.Changed, "#app")
    def _kind_or_app(self, event: Select.Changed) -> None:
        event.stop()
        self._show_capabilities()
        editor = self.query_one(ScopeEditor)
        if not editor.touched:  # the default follows kind and app until the operator edits the rows
            editor.set_scopes(self.default_scopes(self.kind, self.chosen_app), touched=False)
        self.field_error("app")
        self.field_error("kind")

    @on(Input.Changed, "#name")
    def _name_typed(self, event: Input.Changed) -> None:
        if event.value.strip():  # a complaint about the name stops once there is one
            self.field_error("name")
            self.query_one("#form-error", Static).update("")

    @on(Input.Changed, "#expires")
    def _expiry_typed(self, event: Input.Changed) -> None:
        try:
            _, _, meaning = read_expiry(event.value, self.dashboard.now())
        except ValueError as exc:
            self.query_one("#note-expires", Static).update("")
            self.field_error("expires", str(exc))
            return
        self.query_one("#note-expires", Static).update(meaning)
        self.field_error("expires")

    @on(Button.Pressed, ".expiry-preset")
    def _expiry_preset(self, event: Button.Pressed) -> None:
        event.stop()
        self.query_one("#expires", Input).value = event.button.name or ""

    @on(Input.Changed, "#rate")
    def _rate_typed(self, event: Input.Changed) -> None:
        try:
            read_rate(event.value)
        except ValueError as exc:
            self.field_error("rate", str(exc))
        else:
            self.field_error("rate")

    # -- sending ----------------------------------------------------------------

    def build(self) -> Any:
        for field in ("name", "kind", "app", "expires", "rate", "scopes", "capabilities"):
            if self.query(f"#error-{field}"):
                self.field_error(field)
        problems: dict[str, str] = {}
        name = self.value("name")
        if not name:
            problems["name"] = "give the key a name, such as crm-production"
        if self.existing is None and self.kind == "app" and not self.chosen_app:
            problems["app"] = "choose the app this key reads"
        try:
            rate = read_rate(self.value("rate"))
        except ValueError as exc:
            problems["rate"] = str(exc)
            rate = None
        editor = self.query_one(ScopeEditor)
        try:
            scope_list = editor.scopes()
        except ValueError as exc:
            problems["scopes"] = str(exc)
            scope_list = []
        if not scope_list and "scopes" not in problems and (self.kind == "admin" or self.chosen_app):
            problems["scopes"] = "a key needs at least one scope"
        capabilities = self.query_one(CapabilityEditor).capabilities if self.kind == "admin" else []
        expires_in: str | None = None
        expires_at: datetime | None = None
        if self.existing is None:
            try:
                expires_in, expires_at, _ = read_expiry(self.value("expires"), self.dashboard.now())
            except ValueError as exc:
                problems["expires"] = str(exc)
        if problems:
            for field, message in problems.items():
                self.field_error(field, message)
            raise ValueError(next(iter(problems.values())))
        try:
            return self._body(name, rate, scope_list, capabilities, editor.touched, expires_in, expires_at)
        except ValidationError as exc:  # the contract's own rules, before sending: on their fields too
            for err in exc.errors():
                target = FIELD_OF.get(str(err.get("loc", ("",))[0]))
                if target and self.query(f"#error-{target}"):
                    self.field_error(target, err.get("msg", "invalid").removeprefix("Value error, "))
            raise

    def _body(self, name: str, rate: int | None, scope_list: list[schemas.Scope], capabilities: list[str],
              touched: bool, expires_in: str | None, expires_at: datetime | None) -> Any:
        if self.existing is not None:
            key = self.existing
            body: dict[str, Any] = {**({"name": name} if self.changed("name") else {})}
            if rate != key.rate_limit_per_minute:
                body["rate_limit_per_minute"] = rate
            if scope_list != list(key.scopes):
                body["scopes"] = scope_list
            if key.kind == "admin" and capabilities != sorted(key.capabilities):
                body["capabilities"] = capabilities
            return schemas.KeyUpdate(**body)
        return schemas.KeyCreate(
            name=name, kind=self.kind, app=self.chosen_app if self.kind == "app" else None,  # type: ignore[arg-type]
            # Untouched, the service applies the default (an app's authz, the minter's reach).
            scopes=scope_list if touched else None,
            capabilities=capabilities, rate_limit_per_minute=rate, expires_in=expires_in, expires_at=expires_at,
        )

    async def _save_key(self, body: Any) -> Any:
        client = self.dashboard.client
        if self.existing is not None:
            return await client.update_key(self.existing.id, body)
        return await client.create_key(body)

    def refused(self, error: ClientError) -> None:
        details = error.details or {}
        if error.code == "escalation_denied":
            if details.get("capabilities"):
                self.field_error("capabilities", "your token lacks " + ", ".join(details["capabilities"]) +
                                 ": a key may only hold what its creator holds")
            if details.get("scopes"):
                self.query_one(ScopeEditor).mark_refused(details["scopes"])
                self.field_error("scopes", "your token does not cover the rows marked: narrow them")
            self.show_error(error.message)
            return
        placed = False
        for item in details.get("fields", []):
            top = str(item.get("field", "")).split(".")[0]
            target = FIELD_OF.get(top)
            if target and self.query(f"#error-{target}"):
                self.field_error(target, str(item.get("message", "invalid")))
                placed = True
        if not placed and error.code == "forbidden":
            target = "app" if self.query("#error-app") else "scopes"
            self.field_error(target, error.message)
        self.show_error(error.message)
