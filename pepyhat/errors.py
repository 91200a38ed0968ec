"""What the service refuses, in its own terms: the store and the operations raise these.

They know nothing of HTTP.  Each carries the envelope's ``code``, ``message``
and ``details``; ``pepyhat.api.errors`` alone gives each kind its status, and
the command line prints the message.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(DomainError):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found", {kind: ident})
        self.code = f"{kind}_not_found"


class Conflict(DomainError):
    """The request contradicts what is stored: a duplicate, or a state that forbids it."""

    code = "conflict"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message, details)


class LastSuperadmin(Conflict):
    code = "last_superadmin"

    def __init__(self, key_id: str, doing: str) -> None:
        super().__init__(f"this is the last active superadmin token; mint another before {doing} it", key=key_id)


class KeyNotActive(Conflict):
    code = "key_not_active"

    def __init__(self, key_id: str, status: str, done: str) -> None:
        super().__init__(f"key {key_id} is {status}; only active keys can be {done}", key=key_id)


class Invalid(DomainError):
    """Well-formed input whose values the service refuses."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details)
        self.code = code


class InvalidField(Invalid):
    """One field's value, as the request models' own refusals name it (``validation_error``)."""

    def __init__(self, field: str, problem: str) -> None:
        # ``problem`` continues the field's name: "expires_at" + "is in the past".
        super().__init__("validation_error", f"{field} {problem}", {"fields": [{"field": field, "message": problem}]})
        self.field = field
        self.problem = problem


class InvalidCursor(DomainError):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__("cursor is not one this endpoint issued")


class Denied(DomainError):
    """The caller may not do this."""


class Forbidden(Denied):
    """The caller lacks the capability, or no scope of theirs reaches the resource."""

    code = "forbidden"

    def __init__(self, capability: str, operation: str, path: str = "") -> None:
        message = f"this token may not {operation} {path}" if path else f"this token lacks {capability}"
        super().__init__(message, {"required_capability": capability, "required_scope": {"path": path, "operation": operation}})


class EscalationDenied(Denied):
    """No escalation: a key may hold only what its creator holds."""

    code = "escalation_denied"

    def __init__(self, capabilities: list[str], scopes: list[dict]) -> None:
        super().__init__(
            "a key may only hold capabilities and scopes its creator holds",
            {"capabilities": capabilities, "scopes": scopes},
        )
