"""Every admin endpoint's capability, operation and resource path, in one table.

``authorize`` (api/auth.py) looks the route up here by name and enforces it.
Templates are built by ``pepyhat.paths`` and fill ``{param}`` from the path,
``{body.x}`` from the JSON body and ``{query.x}`` from the query string.
Mode says how the caller's scopes must relate to the path:

- ``one``: a scope matches the concrete path;
- ``some``: a scope matches at least one path of the pattern (lists, whose rows
  are then filtered one by one);
- ``all``: a scope covers every path of the pattern (creating a key whose id
  does not exist yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Sequence

from pepyhat import paths
from pepyhat.paths import ANY
from pepyhat.service.actor import Reach
from pepyhat.store import queries

# The path parameters of the routes, and the body fields that name what a create makes.
SLUG, ROLE, PERM, EMAIL = "{slug}", "{role}", "{perm}", "{email}"
NEW_SLUG, NEW_EMAIL, NEW_KEY_APP = "{body.slug}", "{body.email}", "{body.app}"


def _existing_key(request, body, session) -> Sequence[str]:
    """An existing key's path says whether it is an app's key or an admin token: look it up."""
    key = queries.get_key(session, request.path_params["key_id"])
    return (paths.key(key.kind, key.app_slug, key.id),)


def _new_key(request, body, session) -> Sequence[str]:
    if body.get("kind") == "admin":  # anything else is an app key, or a 422 from the schema
        return (paths.token(ANY),)
    return (paths.app_key(NEW_KEY_APP, ANY),)


@dataclass(frozen=True)
class Rule:
    capability: str
    operation: Literal["read", "write", "delete"]
    paths: tuple[str, ...] | Callable[..., Sequence[str]]
    mode: Reach = "one"


POLICY: dict[str, Rule] = {
    # apps
    "list_apps": Rule("apps.read", "read", (paths.ALL_APPS,), "some"),
    "create_app": Rule("apps.write", "write", (paths.app(NEW_SLUG),)),
    "get_app": Rule("apps.read", "read", (paths.app(SLUG),)),
    "update_app": Rule("apps.write", "write", (paths.app(SLUG),)),
    "delete_app": Rule("apps.write", "delete", (paths.app(SLUG),)),
    # permissions
    "list_permissions": Rule("apps.read", "read", (paths.permission(SLUG, ANY),), "some"),
    "create_permission": Rule("apps.write", "write", (paths.permission(SLUG, NEW_SLUG),)),
    "delete_permission": Rule("apps.write", "delete", (paths.permission(SLUG, PERM),)),
    # roles
    "list_roles": Rule("apps.read", "read", (paths.role(SLUG, ANY),), "some"),
    "create_role": Rule("apps.write", "write", (paths.role(SLUG, NEW_SLUG),)),
    "get_role": Rule("apps.read", "read", (paths.role(SLUG, ROLE),)),
    "update_role": Rule("apps.write", "write", (paths.role(SLUG, ROLE),)),
    "delete_role": Rule("apps.write", "delete", (paths.role(SLUG, ROLE),)),
    # members and grants
    "list_members": Rule("users.read", "read", (paths.member(SLUG, ANY),), "some"),
    "put_grant": Rule("grants.write", "write", (paths.member(SLUG, EMAIL),)),
    "delete_grant": Rule("grants.write", "delete", (paths.member(SLUG, EMAIL),)),
    "access_review": Rule("users.read", "read", (paths.member(SLUG, ANY),), "some"),
    # users
    "list_users": Rule("users.read", "read", (paths.ALL_USERS,), "some"),
    "create_user": Rule("users.write", "write", (paths.user(NEW_EMAIL),)),
    "get_user": Rule("users.read", "read", (paths.user(EMAIL),)),
    "update_user": Rule("users.write", "write", (paths.user(EMAIL),)),
    "delete_user": Rule("users.write", "delete", (paths.user(EMAIL),)),
    "get_user_access": Rule("users.read", "read", (paths.user(EMAIL),)),
    # keys and admin tokens
    "list_keys": Rule("keys.read", "read", paths.ALL_KEYS, "some"),
    "create_key": Rule("keys.manage", "write", _new_key, "all"),
    "lookup_key": Rule("keys.read", "read", paths.ALL_KEYS, "some"),
    "get_key": Rule("keys.read", "read", _existing_key),
    "update_key": Rule("keys.manage", "write", _existing_key),
    "delete_key": Rule("keys.manage", "delete", _existing_key),
    "rotate_key": Rule("keys.manage", "write", _existing_key),
    # scope examples: any read scope will do; each example is checked against the caller's reach
    "scope_examples": Rule("keys.read", "read", (paths.EVERYTHING,), "some"),
    # explain and audit
    "explain": Rule("authz.explain", "read", (paths.authz("{query.app}", EMAIL),)),
    "list_audit": Rule("audit.read", "read", (paths.AUDIT,)),
}
