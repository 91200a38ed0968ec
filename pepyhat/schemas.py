"""The HTTP contract: every body the service accepts or returns.

The service returns these models and the dashboard's client parses them; no
second copy of any of them exists.  Request models forbid unknown fields so a
typo is a 422, not a silently ignored setting.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from pepyhat import paths as _paths, scopes as _scopes

# Text that one operator writes and another's terminal shows may hold no C0 or C1
# control character (escape sequences: titles, clipboard, colours) and no
# bidirectional override or isolate (text that reads other than it is).
FORBIDDEN_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
TEXT_PATTERN = rf"^[^{FORBIDDEN_CHARACTERS}]*$"
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CHARACTERS}]")

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
PERMISSION_PATTERN = r"^[a-z0-9][a-z0-9._:-]{0,127}$"
EMAIL_PATTERN = rf"^[^@\s/{FORBIDDEN_CHARACTERS}]{{1,64}}@[^@\s/{FORBIDDEN_CHARACTERS}]{{1,255}}$"
DURATION_PATTERN = r"^ *(\d{1,9}) *([smhdw]) *$"  # parse_duration reads it
KEY_PATTERN = r"^(phk_|pha_)([0-9A-Za-z]{48})$"  # keys.parse reads it (and checks the checksum)
KEY_START_PATTERN = r"^(phk_|pha_)[0-9A-Za-z]{6}$"
# A scope path: segments of 1 to 128 characters, none of them '/', white space (Python's
# str.isspace, as scopes.validate reads it) or forbidden text; scopes.validate is the rule.
_SEGMENT = rf"[^/ \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000{FORBIDDEN_CHARACTERS}]{{1,128}}"
SCOPE_PATH_PATTERN = rf"^{_SEGMENT}(/{_SEGMENT})*$"
# RFC 3339 (what OpenAPI's date-time means), the offset left to AwareDatetime's own message.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")

CAPABILITIES: dict[str, str] = {
    "apps.read": "List and read apps, roles and permissions",
    "apps.write": "Create, edit and delete apps, roles and permissions",
    "users.read": "List and read users, members and access",
    "users.write": "Create, edit, deactivate and delete users",
    "grants.write": "Grant and remove roles",
    "keys.read": "List and read app keys and admin tokens",
    "keys.manage": "Create, rotate, revoke and edit keys and tokens",
    "audit.read": "Read the audit log",
    "authz.explain": "Explain why a user has a permission",
}
# What a read-only token may hold: the dashboard offers nothing that writes to one.
READ_CAPABILITIES: frozenset[str] = frozenset({"apps.read", "users.read", "keys.read", "audit.read", "authz.explain"})


def _says(message: str, *types: str) -> WrapValidator:
    """Put a rule in words where pydantic's message for these error types would print a regex.

    The ``pattern`` stays in the JSON schema for clients; only the message changes,
    in the service's 422s and in the dashboard's own validation alike.
    """

    def explain(value: Any, handler) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            kind = next((err["type"] for err in exc.errors() if err["type"] in types), None)
            if kind is None:
                raise
            raise PydanticCustomError(kind, message) from None

    return WrapValidator(explain)


def _rfc3339(value: Any) -> Any:
    # pydantic would also read 1700000000 or "0.5" as a Unix time: not a date the contract knows.
    if isinstance(value, datetime) or (isinstance(value, str) and _DATE_TIME.fullmatch(value)):
        return value
    raise PydanticCustomError(
        "datetime_parsing", "should be a date and time with its offset (RFC 3339), e.g. 2027-01-01T00:00:00Z"
    )


def _scope_path(value: str) -> str:
    try:
        return _scopes.validate(value)
    except _scopes.InvalidPattern as exc:
        raise PydanticCustomError("scope_path", str(exc)) from None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def Unchanged(**constraints: Any) -> Any:
    """A PATCH field: leave it out to keep the value as it is; null is no value for it (a 422)."""
    return Field(default=None, json_schema_extra=_no_default, **constraints)


def _in_utc(value: datetime) -> datetime:
    # 9999-12-31T23:59:59-14:00 is a valid ISO 8601 string but no UTC instant.
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "is outside the calendar once converted to UTC (years 1 to 9999)"
        ) from None


SLUG_RULE = "lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters"
PERMISSION_RULE = "lowercase letters, digits and '.', '_', ':' or '-', starting with a letter or digit, at most 128 characters"
EMAIL_RULE = (
    "an email address: one '@', at most 64 characters before it and 255 after, "
    "no spaces, '/' or control characters"
)
DURATION_RULE = "a number and a unit, one of s, m, h, d, w (e.g. 30d)"

Slug = Annotated[
    str, Field(pattern=SLUG_PATTERN, examples=["crm"]), _says(f"should be {SLUG_RULE}", "string_pattern_mismatch")
]
PermissionSlug = Annotated[
    str,
    Field(pattern=PERMISSION_PATTERN, examples=["users.read"]),
    _says(f"should be {PERMISSION_RULE}", "string_pattern_mismatch"),
]
Email = Annotated[
    str,
    Field(pattern=EMAIL_PATTERN, max_length=320, examples=["alice@example.com"]),
    _says(f"should be {EMAIL_RULE}", "string_pattern_mismatch"),
    AfterValidator(str.lower),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]
Duration = Annotated[
    str, Field(pattern=DURATION_PATTERN, max_length=32), _says(f"should be {DURATION_RULE}", "string_pattern_mismatch")
]
_DURATION = re.compile(DURATION_PATTERN)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Expiries and grace periods are added to now: 3000000d would leave the calendar.
# A century is longer than any key should live and keeps every sum a date.
MAX_DURATION = timedelta(days=36525)


def parse_duration(text: str) -> timedelta:
    """``45s``, ``90m``, ``12h``, ``30d``, ``1w`` as a timedelta, at most MAX_DURATION.

    Part of the contract: the service reads ``expires_in`` and ``grace`` with it, the
    command line ``--expires-in``, and the dashboard an expiry typed as ``30d``.
    """
    match = _DURATION.fullmatch(text or "")
    if match is None:
        raise ValueError(f"invalid duration {text!r}: use a number and one of s, m, h, d, w (e.g. 30d)")
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds > MAX_DURATION.total_seconds():  # before timedelta, which overflows on 999999999w
        raise ValueError(f"duration {text!r} is too long: at most 100 years (36525d)")
    return timedelta(seconds=seconds)


def _span(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:  # well formed but over MAX_DURATION
        raise PydanticCustomError("duration_too_long", str(exc)) from None


# A duration read as a timedelta (a query parameter such as ``expires_within=7d``).
Span = Annotated[Duration, AfterValidator(_span)]

# An instant with its offset, and one that exists in UTC (the store keeps UTC).
Instant = Annotated[
    AwareDatetime,
    _says("needs a UTC offset, e.g. 2027-01-01T00:00:00Z", "timezone_aware"),
    BeforeValidator(_rfc3339),
    AfterValidator(_in_utc),
]
ScopePath = Annotated[
    str,
    Field(examples=["apps/crm/**"], json_schema_extra={"pattern": SCOPE_PATH_PATTERN, "minLength": 1, "maxLength": 512}),
    AfterValidator(_scope_path),
]
Operation = Literal["read", "write", "delete", "*"]
Capability = Literal[
    "apps.read", "apps.write", "users.read", "users.write", "grants.write",
    "keys.read", "keys.manage", "audit.read", "authz.explain",
]
KeyKind = Literal["app", "admin"]
KEY_KINDS: tuple[str, ...] = get_args(KeyKind)
KeyStatus = Literal["active", "expired", "revoked"]

T = TypeVar("T")


def escaped(text: str) -> str:
    """``text`` with each forbidden character written as its escape (``\\x1b``, ``\\u202e``)."""
    return _FORBIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def forbidden_characters(value: Any, loc: tuple[str | int, ...] = ()) -> list[InitErrorDetails]:
    """An error for every string in ``value`` (nested lists and objects included) that breaks the text rule."""
    if isinstance(value, str):
        found = _FORBIDDEN.search(value)
        if found is None:
            return []
        error = PydanticCustomError(
            "forbidden_character",
            "may not contain control characters or bidirectional overrides (U+{codepoint} at position {position})",
            {"codepoint": f"{ord(found.group()):04X}", "position": found.start()},
        )
        return [InitErrorDetails(type=error, loc=loc, input=value)]
    if isinstance(value, dict):
        return [e for k, v in value.items() for e in forbidden_characters(k, loc) + forbidden_characters(v, (*loc, str(k)))]
    if isinstance(value, (list, tuple)):
        return [e for i, v in enumerate(value) for e in forbidden_characters(v, (*loc, i))]
    return []


def add_text_pattern(node: dict[str, Any]) -> None:
    """Give a JSON schema's plain strings (in unions and arrays too) the text rule as their ``pattern``.

    Strings with a pattern, a format or a fixed set of values already exclude the
    forbidden characters; nested models (``$ref``) document their own strings.
    """
    if node.get("type") == "string" and not {"pattern", "format", "enum", "const"} & set(node):
        node["pattern"] = TEXT_PATTERN
    for branch in node.get("anyOf", ()):
        add_text_pattern(branch)
    if isinstance(node.get("items"), dict):
        add_text_pattern(node["items"])


def _document_text_rule(schema: dict[str, Any], *_: Any) -> None:
    for prop in schema.get("properties", {}).values():
        add_text_pattern(prop)


class Model(BaseModel):
    """Every model of the contract: its validator is built when first used, not at import.
    The dashboard uses a few of these at start and imports them all (this module's own import
    time 43-56 -> 25 ms); the service builds them anyway, as its routes are made."""

    model_config = ConfigDict(defer_build=True)


class Request(Model):
    """A request body: unknown fields are refused, and so is hostile text anywhere in it.

    Built at import: FastAPI makes a body's validator under a filter for pydantic's warning
    about the alias it gives the field, and a deferred build escaped it (one warning per body
    model per process, ~330 in the suite).  It costs the dashboard's import ~12 ms.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_text_rule, defer_build=False)

    @field_validator("*", mode="before")
    @classmethod
    def _text_rule(cls, value: Any) -> Any:
        # Checked on the raw input, before any field's own validation, so that the
        # error names the exact place (scopes.0.path) and no later rule sees the text.
        # NUL is among the refused: PostgreSQL text cannot hold it.
        errors = forbidden_characters(value)
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return value


class Response(Model):
    model_config = ConfigDict(from_attributes=True)


# -- errors and pages ---------------------------------------------------------


class ErrorBody(Model):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(Model):
    error: ErrorBody


class Page(Model, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
    has_more: bool = False


# -- scopes -------------------------------------------------------------------


class Scope(Model):
    # Also read back from stored keys, so it checks no text itself: the request
    # that carries it does (Request._text_rule walks nested values).
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_document_text_rule)

    path: ScopePath
    operations: list[Operation] = Field(min_length=1, examples=[["read"]])

    @field_validator("operations")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        return sorted(set(value))


# A superadmin token holds every capability with these scopes: every path, every operation.
SUPERADMIN_SCOPES: tuple[Scope, ...] = (Scope(path="**", operations=["*"]),)


def app_key_scopes(slug: str) -> list[Scope]:
    """An app key's scopes unless its creator says otherwise: its app's data plane, read."""
    return [Scope(path=_paths.authz(slug, "**"), operations=["read"])]


# -- apps, permissions, roles -------------------------------------------------


class AppCreate(Request):
    slug: Slug
    name: Name
    description: Description = ""


class AppUpdate(Request):
    name: Name = Unchanged()
    description: Description = Unchanged()


class App(Response):
    slug: str
    name: str
    description: str
    created_at: datetime
    role_count: int = 0
    member_count: int = 0
    active_key_count: int = 0


class PermissionCreate(Request):
    slug: PermissionSlug
    description: Description = ""


class Permission(Response):
    app: str
    slug: str
    description: str
    created_at: datetime


class RoleCreate(Request):
    slug: Slug
    name: Name
    description: Description = ""
    permissions: list[PermissionSlug] = Field(default_factory=list, max_length=1000)


class RoleUpdate(Request):
    name: Name = Unchanged()
    description: Description = Unchanged()
    permissions: list[PermissionSlug] = Unchanged(max_length=1000)


class Role(Response):
    app: str
    slug: str
    name: str
    description: str
    permissions: list[str]
    member_count: int = 0
    created_at: datetime


class RoleImpact(Model):
    """What a PATCH of a role's permissions does to its members."""

    members: int
    gained: dict[str, int] = Field(default_factory=dict, description="permission -> members who newly hold it")
    lost: dict[str, int] = Field(default_factory=dict, description="permission -> members who no longer hold it")


class RoleUpdated(Role):
    impact: RoleImpact


# -- users, grants, members ---------------------------------------------------


class UserCreate(Request):
    email: Email
    name: Annotated[str, Field(max_length=200)] = ""
    active: StrictBool = True  # "yes" or 0 is a mistake, not a boolean


class UserUpdate(Request):
    name: Annotated[str, Field(max_length=200)] = Unchanged()
    active: StrictBool = Unchanged()


class User(Response):
    email: str
    name: str
    active: bool
    created_at: datetime


class GrantPut(Request):
    expires_at: Instant | None = None


class GrantInfo(Response):
    role: str
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None = None
    expired: bool = False


class Grant(GrantInfo):
    app: str
    email: str


class Member(Response):
    email: str
    name: str
    active: bool
    grants: list[GrantInfo]


class AppAccess(Model):
    app: str
    app_name: str
    roles: list[str]
    permissions: list[str]
    grants: list[GrantInfo]


class UserAccess(User):
    apps: list[AppAccess]


class AccessReviewRow(Model):
    """One permission a user holds through one grant: a line of an access review."""

    email: str
    name: str
    active: bool
    role: str
    permission: str | None = Field(description="None: the role gives no permission")
    granted_by: str
    granted_at: datetime
    expires_at: datetime | None = None
    expired: bool = False


class AccessReview(Model):
    """Every grant in an app (expired ones marked), each role's permissions spelled out."""

    app: str
    app_name: str
    generated_at: datetime
    rows: list[AccessReviewRow]


# -- keys ---------------------------------------------------------------------


class KeyCreate(Request):
    name: Name
    kind: KeyKind = "app"
    app: Slug | None = None
    scopes: list[Scope] | None = Field(default=None, max_length=100)
    capabilities: list[Capability] = Field(default_factory=list)
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    expires_in: Duration | None = Field(default=None, examples=["30d"])
    expires_at: Instant | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "KeyCreate":
        if self.kind == "app" and self.app is None:
            raise PydanticCustomError("key_inconsistent", "an app key needs 'app'")
        if self.kind == "admin" and self.app is not None:
            raise PydanticCustomError("key_inconsistent", "an admin token belongs to no app; drop 'app'")
        if self.kind == "app" and self.capabilities:
            raise PydanticCustomError("key_inconsistent", "app keys carry no capabilities")
        if self.expires_in is not None and self.expires_at is not None:
            raise PydanticCustomError("key_inconsistent", "give expires_in or expires_at, not both")
        return self


class KeyUpdate(Request):
    name: Name = Unchanged()
    scopes: list[Scope] = Unchanged(max_length=100)
    capabilities: list[Capability] = Unchanged()
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000, description="null: no limit")
    expires_at: Instant | None = Field(default=None, description="null: never")


class Key(Response):
    id: str
    name: str
    kind: KeyKind
    app: str | None
    start: str
    scopes: list[Scope]
    capabilities: list[str]
    rate_limit_per_minute: int | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="The last request made with it, to the minute; a refused one once it is revoked or expired included"
    )
    last_used_from: str | None = Field(default=None, description="The client address of that request")
    refused_since_revoke: int = Field(
        default=0,
        description="Requests refused with it once it was revoked or expired, on every node: is a leaked key still tried?",
    )
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    status: KeyStatus


class ScopeExamples(Model):
    """``GET /api/v1/scopes/examples``: what a scope path would match, for the scope editor."""

    data: list[str] = Field(
        description="Resource paths of this organisation the pattern matches and the caller's token may read, "
        "one of each kind in turn (apps, roles, permissions, members, app keys, authz, users, tokens, audit)",
        examples=[["apps/crm", "apps/crm/roles/admin", "apps/crm/authz/alice@example.com"]],
    )
    has_more: bool = Field(
        description="More paths match than data holds; or may: on a large organisation the search is bounded"
    )


class KeyCreated(Key):
    key: str = Field(description="The plaintext key. Shown once; store it now.")


class KeyRotate(Request):
    grace: Duration = Field(default="24h", examples=["24h", "0s"])


class KeyRotated(KeyCreated):
    previous: Key


class KeyLookup(Request):
    key: str | None = Field(default=None, max_length=100, json_schema_extra={"pattern": KEY_PATTERN})
    start: str | None = Field(default=None, max_length=20, json_schema_extra={"pattern": KEY_START_PATTERN})

    @model_validator(mode="after")
    def _one(self) -> "KeyLookup":
        if (self.key is None) == (self.start is None):
            raise PydanticCustomError("lookup_inconsistent", "give exactly one of 'key' or 'start'")
        return self


# -- data plane and explain ---------------------------------------------------


class AuthzResponse(Model):
    email: str
    app: str
    found: bool
    active: bool
    roles: list[str]
    permissions: list[str]


class ExplainResponse(AuthzResponse):
    grants: list[GrantInfo] = Field(description="Every grant in the app, expired ones included")
    why: dict[str, list[GrantInfo]] = Field(description="permission -> the live grants of roles that hold it")


class ValidatedKey(Model):
    id: str
    name: str
    kind: KeyKind
    app: str | None
    scopes: list[Scope]
    capabilities: list[str]
    expires_at: datetime | None
    rate_limit_per_minute: int | None


class ValidateResponse(Model):
    valid: bool
    key: ValidatedKey


# -- audit and ops ------------------------------------------------------------


class AuditEvent(Response):
    id: int
    at: datetime
    actor_id: str | None
    actor_name: str | None
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    client: str | None


class Health(Model):
    status: Literal["ok", "unavailable"]
    detail: str | None = None
    limiter: str | None = Field(
        default=None,
        description="Where this node counts rate limits: 'redis' (one budget for every node), 'memory' "
        "(this node alone), or 'memory (fallback: why)' while the configured Redis is unreachable",
        examples=["redis", "memory (fallback: ConnectionError: Connection refused)"],
    )
