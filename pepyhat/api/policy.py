"""Every admin endpoint's capability, operation and resource path, in one table.

``authorize`` (api/auth.py) looks the route up here by name and enforces it;
the permission-matrix test walks the same table.  Templates fill ``{param}``
from the path, ``{body.x}`` from the JSON body and ``{query.x}`` from the
query string.  Mode says how the caller's scopes must relate to the path:

- ``one``: a scope matches the concrete path;
- ``some``: a scope matches at least one path of the pattern (lists, whose rows
  are then filtered one by one);
- ``all``: a scope covers every path of the pattern (creating a key whose id
  does not exist yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from sqlalchemy import select

from pepyhat.errors import not_found

Mode = Literal["one", "some", "all"]
KEY_PATTERNS = ("apps/*/keys/*", "tokens/*")


def key_path(kind: str, app: str | None, key_id: str) -> str:
    return f"apps/{app}/keys/{key_id}" if kind == "app" else f"tokens/{key_id}"


def _existing_key(request, body, session) -> Sequence[str]:
    from pepyhat.store.tables import Key

    key_id = request.path_params["key_id"]
    row = session.execute(select(Key.kind, Key.app_slug).where(Key.id == key_id)).first()
    if row is None:
        raise not_found("key", key_id)
    return (key_path(row.kind, row.app_slug, key_id),)


def _new_key(request, body, session) -> Sequence[str]:
    if body.get("kind", "app") == "admin":
        return ("tokens/*",)
    return ("apps/{body.app}/keys/*",)


@dataclass(frozen=True)
class Rule:
    capability: str
    operation: Literal["read", "write", "delete"]
    paths: tuple[str, ...] | Callable[..., Sequence[str]]
    mode: Mode = "one"


POLICY: dict[str, Rule] = {
    # apps
    "list_apps": Rule("apps.read", "read", ("apps/*",), "some"),
    "create_app": Rule("apps.write", "write", ("apps/{body.slug}",)),
    "get_app": Rule("apps.read", "read", ("apps/{slug}",)),
    "update_app": Rule("apps.write", "write", ("apps/{slug}",)),
    "delete_app": Rule("apps.write", "delete", ("apps/{slug}",)),
    # permissions
    "list_permissions": Rule("apps.read", "read", ("apps/{slug}/permissions/*",), "some"),
    "create_permission": Rule("apps.write", "write", ("apps/{slug}/permissions/{body.slug}",)),
    "delete_permission": Rule("apps.write", "delete", ("apps/{slug}/permissions/{perm}",)),
    # roles
    "list_roles": Rule("apps.read", "read", ("apps/{slug}/roles/*",), "some"),
    "create_role": Rule("apps.write", "write", ("apps/{slug}/roles/{body.slug}",)),
    "get_role": Rule("apps.read", "read", ("apps/{slug}/roles/{role}",)),
    "update_role": Rule("apps.write", "write", ("apps/{slug}/roles/{role}",)),
    "delete_role": Rule("apps.write", "delete", ("apps/{slug}/roles/{role}",)),
    # members and grants
    "list_members": Rule("users.read", "read", ("apps/{slug}/members/*",), "some"),
    "put_grant": Rule("grants.write", "write", ("apps/{slug}/members/{email}",)),
    "delete_grant": Rule("grants.write", "delete", ("apps/{slug}/members/{email}",)),
    # users
    "list_users": Rule("users.read", "read", ("users/*",), "some"),
    "create_user": Rule("users.write", "write", ("users/{body.email}",)),
    "get_user": Rule("users.read", "read", ("users/{email}",)),
    "update_user": Rule("users.write", "write", ("users/{email}",)),
    "delete_user": Rule("users.write", "delete", ("users/{email}",)),
    "get_user_access": Rule("users.read", "read", ("users/{email}",)),
    # keys and admin tokens
    "list_keys": Rule("keys.read", "read", KEY_PATTERNS, "some"),
    "create_key": Rule("keys.manage", "write", _new_key, "all"),
    "lookup_key": Rule("keys.read", "read", KEY_PATTERNS, "some"),
    "get_key": Rule("keys.read", "read", _existing_key),
    "update_key": Rule("keys.manage", "write", _existing_key),
    "delete_key": Rule("keys.manage", "delete", _existing_key),
    "rotate_key": Rule("keys.manage", "write", _existing_key),
    # explain and audit
    "explain": Rule("authz.explain", "read", ("apps/{query.app}/authz/{email}",)),
    "list_audit": Rule("audit.read", "read", ("audit",)),
}
