"""Errors the service answers with; api/errors.py turns them into the envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Raised anywhere in a request to answer with the envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"{kind}_not_found", f"{kind} {ident!r} not found", {kind: ident})


def conflict(message: str, **details: Any) -> ApiError:
    return ApiError(409, "conflict", message, details)
