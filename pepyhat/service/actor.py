"""Who acts, and from where: the caller every operation is made by and audited as.

An ``Actor`` is an admin token (the admin API), or someone at this machine with
every capability and no key: the embedded dashboard's operator, ``pepyhat
init`` and ``pepyhat token create``.  A ``Context`` says where the call came
from, for the audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Literal, Sequence

from sqlalchemy.orm import Session

from pepyhat import keys, scopes
from pepyhat.errors import EscalationDenied, Forbidden
from pepyhat.schemas import CAPABILITIES, SUPERADMIN_SCOPES, KeyKind, Scope
from pepyhat.store import queries
from pepyhat.store.tables import Key

# How a caller's scopes must relate to a path (see api/policy.py): match it, match
# at least one path of the pattern (lists, filtered row by row), or cover it all.
Reach = Literal["one", "some", "all"]


@dataclass(frozen=True)
class Context:
    """Where a call came from: the request's id and the client's address."""

    request_id: str | None = None
    client: str | None = None


LOCAL = Context(client="local")  # the command line


@dataclass(frozen=True)
class Actor:
    id: str | None  # the key's id; None for someone at this machine
    name: str
    kind: KeyKind
    capabilities: frozenset[str]
    scopes: tuple[Scope, ...]
    app: str | None = None

    @classmethod
    def of_key(cls, key: Key) -> Actor:
        return cls(
            id=key.id,
            name=key.name,
            kind=key.kind,  # type: ignore[arg-type]
            capabilities=frozenset(key.capabilities),
            scopes=tuple(Scope.model_validate(s) for s in key.scopes),
            app=key.app_slug,
        )

    @classmethod
    def local(cls, name: str) -> Actor:
        """Someone at this machine: every capability, every path, no key."""
        return cls(None, name, "admin", frozenset(CAPABILITIES), SUPERADMIN_SCOPES)

    # -- reach ----------------------------------------------------------------

    def can(self, path: str, operation: str) -> bool:
        return any(scopes.allows(s.operations, operation) and scopes.matches(s.path, path) for s in self.scopes)

    def can_some(self, pattern: str, operation: str) -> bool:
        return any(scopes.allows(s.operations, operation) and scopes.intersects(s.path, pattern) for s in self.scopes)

    def can_all(self, pattern: str, operation: str) -> bool:
        return any(scopes.allows(s.operations, operation) and scopes.covers(s.path, pattern) for s in self.scopes)

    def reaches(self, path: str, operation: str, reach: Reach = "one") -> bool:
        check = {"one": self.can, "some": self.can_some, "all": self.can_all}[reach]
        return check(path, operation)

    def visible(self, patterns: str | Sequence[str], path_of: Callable[[Any], str]) -> Callable[[Any], bool] | None:
        """A list's row filter: None when every row of ``patterns`` is readable, else one row at a time."""
        wanted = (patterns,) if isinstance(patterns, str) else patterns
        if all(self.can_all(pattern, "read") for pattern in wanted):
            return None
        return lambda row: self.can(path_of(row), "read")

    # -- refusals -------------------------------------------------------------

    def require(self, capability: str, operation: str) -> None:
        if capability not in self.capabilities:
            raise Forbidden(capability, operation)

    def require_reach(self, capability: str, operation: str, targets: Sequence[tuple[str, Reach]]) -> None:
        """Forbidden unless some scope reaches one of the ``(path, reach)`` targets."""
        if not any(self.reaches(path, operation, reach) for path, reach in targets):
            raise Forbidden(capability, operation, targets[0][0])

    def covers_scope(self, scope: Scope) -> bool:
        return any(
            scopes.ops_cover(mine.operations, scope.operations) and scopes.covers(mine.path, scope.path)
            for mine in self.scopes
        )

    def require_grantable(self, capabilities: Iterable[str], key_scopes: Iterable[Scope]) -> None:
        """No escalation: a key may hold only what its minter holds."""
        missing = sorted(set(capabilities) - self.capabilities)
        uncovered = [s.model_dump() for s in key_scopes if not self.covers_scope(s)]
        if missing or uncovered:
            raise EscalationDenied(missing, uncovered)


class KeyRefused(Exception):
    """Why a presented key is refused: one of invalid_api_key, key_revoked, key_expired.

    ``key_id`` names a key that exists but is dead (revoked or expired): the caller
    counts the refusal against it (``UsageTracker.refused``).
    """

    def __init__(self, code: str, message: str, key_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.key_id = key_id


def check_key(session: Session, plaintext: str, kind: KeyKind | None, now: datetime) -> Key:
    """The live key for ``plaintext``; a malformed one never reaches the database."""
    try:
        actual = keys.parse(plaintext)
    except keys.MalformedKey as exc:
        raise KeyRefused("invalid_api_key", f"invalid API key: {exc}") from None
    if kind is not None and actual != kind:
        raise KeyRefused("invalid_api_key", f"invalid API key: an {kind} key is required here")
    key = queries.key_by_hash(session, keys.digest(plaintext))
    if key is None:
        raise KeyRefused("invalid_api_key", "invalid API key: unknown key")
    if key.revoked_at is not None:
        raise KeyRefused("key_revoked", "API key has been revoked", key.id)
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRefused("key_expired", "API key has expired", key.id)
    return key
