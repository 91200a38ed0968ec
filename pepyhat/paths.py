"""Resource paths: what a scope matches, what the policy checks and what the audit names.

One function per kind of resource of DESIGN.md ("Scopes and capabilities").
Given ``ANY`` they build the patterns list filters and the policy need
(``app_key(ANY, ANY)`` is ``apps/*/keys/*``); given ``"{slug}"`` they build
the policy's templates.  Values go in as they are: callers pass emails
already lower-cased.
"""

from __future__ import annotations

ANY = "*"  # one segment, whatever it is
EVERYTHING = "**"  # every path
AUDIT = "audit"
KEYS = "keys"  # the audit target of a key lookup that matched no key, or several


def app(slug: str) -> str:
    return f"apps/{slug}"


def permission(slug: str, perm: str) -> str:
    return f"apps/{slug}/permissions/{perm}"


def role(slug: str, role: str) -> str:
    return f"apps/{slug}/roles/{role}"


def member(slug: str, email: str) -> str:
    return f"apps/{slug}/members/{email}"


def grant(slug: str, email: str, role: str) -> str:
    """A member's role: the audit target of grant.add, grant.update and grant.remove."""
    return f"apps/{slug}/members/{email}/roles/{role}"


def app_key(slug: str, key_id: str) -> str:
    return f"apps/{slug}/keys/{key_id}"


def token(key_id: str) -> str:
    """An admin token; it belongs to no app."""
    return f"tokens/{key_id}"


def key(kind: str, app_slug: str | None, key_id: str) -> str:
    return app_key(app_slug, key_id) if kind == "app" else token(key_id)  # type: ignore[arg-type]


def authz(slug: str, email: str) -> str:
    """What the data plane reads (and explain explains)."""
    return f"apps/{slug}/authz/{email}"


def user(email: str) -> str:
    return f"users/{email}"


ALL_APPS = app(ANY)
ALL_USERS = user(ANY)
ALL_KEYS = (app_key(ANY, ANY), token(ANY))  # app keys and admin tokens are separate resources
