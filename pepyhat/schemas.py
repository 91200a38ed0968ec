"""The HTTP contract: every body the service accepts or returns.

The service returns these models and the dashboard's client parses them; no
second copy of any of them exists.  Request models forbid unknown fields so a
typo is a 422, not a silently ignored setting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from pepyhat import paths as _paths, scopes as _scopes

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
PERMISSION_PATTERN = r"^[a-z0-9][a-z0-9._:-]{0,127}$"
EMAIL_PATTERN = r"^[^@\s/]{1,64}@[^@\s/]{1,255}$"

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

Slug = Annotated[str, Field(pattern=SLUG_PATTERN, examples=["crm"])]
PermissionSlug = Annotated[str, Field(pattern=PERMISSION_PATTERN, examples=["users.read"])]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=320), AfterValidator(str.lower)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=2000)]
Operation = Literal["read", "write", "delete", "*"]
Capability = Literal[
    "apps.read", "apps.write", "users.read", "users.write", "grants.write",
    "keys.read", "keys.manage", "audit.read", "authz.explain",
]
KeyKind = Literal["app", "admin"]
KEY_KINDS: tuple[str, ...] = get_args(KeyKind)
KeyStatus = Literal["active", "expired", "revoked"]

T = TypeVar("T")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refuse it as bad input, not a database fault.
        if _has_nul(value):
            raise ValueError("strings may not contain NUL characters")
        return value


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- errors and pages ---------------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
    has_more: bool = False


# -- scopes -------------------------------------------------------------------


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(examples=["apps/crm/**"])
    operations: list[Operation] = Field(min_length=1, examples=[["read"]])

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        try:
            return _scopes.validate(value)
        except _scopes.InvalidPattern as exc:
            raise ValueError(str(exc)) from None

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
    name: Name | None = None
    description: Description | None = None


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
    name: Name | None = None
    description: Description | None = None
    permissions: list[PermissionSlug] | None = Field(default=None, max_length=1000)


class Role(Response):
    app: str
    slug: str
    name: str
    description: str
    permissions: list[str]
    member_count: int = 0
    created_at: datetime


class RoleImpact(BaseModel):
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
    active: bool = True


class UserUpdate(Request):
    name: Annotated[str, Field(max_length=200)] | None = None
    active: bool | None = None


class User(Response):
    email: str
    name: str
    active: bool
    created_at: datetime


class GrantPut(Request):
    expires_at: datetime | None = None


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


class AppAccess(BaseModel):
    app: str
    app_name: str
    roles: list[str]
    permissions: list[str]
    grants: list[GrantInfo]


class UserAccess(User):
    apps: list[AppAccess]


# -- keys ---------------------------------------------------------------------


class KeyCreate(Request):
    name: Name
    kind: KeyKind = "app"
    app: Slug | None = None
    scopes: list[Scope] | None = Field(default=None, max_length=100)
    capabilities: list[Capability] = Field(default_factory=list)
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    expires_in: str | None = Field(default=None, examples=["30d"])
    expires_at: datetime | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "KeyCreate":
        if self.kind == "app" and self.app is None:
            raise ValueError("an app key needs 'app'")
        if self.kind == "admin" and self.app is not None:
            raise ValueError("an admin token belongs to no app; drop 'app'")
        if self.kind == "app" and self.capabilities:
            raise ValueError("app keys carry no capabilities")
        if self.expires_in is not None and self.expires_at is not None:
            raise ValueError("give expires_in or expires_at, not both")
        return self


class KeyUpdate(Request):
    name: Name | None = None
    scopes: list[Scope] | None = Field(default=None, max_length=100)
    capabilities: list[Capability] | None = None
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=1_000_000)
    expires_at: datetime | None = None


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
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    status: KeyStatus


class KeyCreated(Key):
    key: str = Field(description="The plaintext key. Shown once; store it now.")


class KeyRotate(Request):
    grace: str = Field(default="24h", examples=["24h", "0s"])


class KeyRotated(KeyCreated):
    previous: Key


class KeyLookup(Request):
    key: str | None = Field(default=None, max_length=100)
    start: str | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _one(self) -> "KeyLookup":
        if (self.key is None) == (self.start is None):
            raise ValueError("give exactly one of 'key' or 'start'")
        return self


# -- data plane and explain ---------------------------------------------------


class AuthzResponse(BaseModel):
    email: str
    app: str
    found: bool
    active: bool
    roles: list[str]
    permissions: list[str]


class ExplainResponse(AuthzResponse):
    grants: list[GrantInfo] = Field(description="Every grant in the app, expired ones included")
    why: dict[str, list[GrantInfo]] = Field(description="permission -> the live grants of roles that hold it")


class ValidatedKey(BaseModel):
    id: str
    name: str
    kind: KeyKind
    app: str | None
    scopes: list[Scope]
    capabilities: list[str]
    expires_at: datetime | None
    rate_limit_per_minute: int | None


class ValidateResponse(BaseModel):
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


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    detail: str | None = None
