"""The error envelope, ``{"error": {"code", "message", "details"}}``, everywhere.

The one place where a refusal gets its HTTP status: domain errors by their
kind (``STATUS``), ``ApiError`` (refusals of HTTP's own: authentication, the
data plane's checks) by the status it carries.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pepyhat import errors as domain
from pepyhat.schemas import escaped

log = logging.getLogger("pepyhat.api")


class ApiError(Exception):
    """Raised in a request to answer with this status and envelope."""

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


# Each kind of domain error's status; a subclass takes its nearest listed ancestor's.
STATUS: dict[type[domain.DomainError], int] = {
    domain.InvalidCursor: 400,
    domain.Denied: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Invalid: 422,
}


def status_of(exc: domain.DomainError) -> int:
    return next((STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS), 500)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def envelope(status: int, code: str, message: str, details: dict | None = None, headers=None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_details(exc: RequestValidationError) -> tuple[str, str, dict]:
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return "invalid_json", "request body is not valid JSON", {}
    fields = []
    for err in errors:
        # An unknown field's name is the caller's text: echo it with its control characters escaped.
        loc = [escaped(str(part)) for part in err.get("loc", ()) if part not in ("body",)]
        fields.append({"field": ".".join(loc) or "body", "message": err.get("msg", "invalid"), "type": err.get("type")})
    first = fields[0] if fields else {"field": "body", "message": "invalid"}
    return "validation_error", f"{first['field']}: {first['message']}", {"fields": fields}


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (asked of the routes, whatever their kind)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(domain.DomainError)
    async def _domain_error(request: Request, exc: domain.DomainError) -> JSONResponse:
        return envelope(status_of(exc), exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, message, details = _validation_details(exc)
        return envelope(400 if code == "invalid_json" else 422, code, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route for {request.method} {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
            # Starlette names only the first matching route's methods; Allow must list them all.
            return envelope(405, code, message, {}, {"Allow": ", ".join(_allowed_methods(request))})
        return envelope(exc.status_code, code, message, {}, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"request_id": request.scope.get("state", {}).get("request_id")})
        return envelope(500, "internal_error", "internal server error; see the service log for the request id")
