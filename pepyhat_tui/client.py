"""The dashboard's only way to the service: typed calls over one ``httpx.AsyncClient``.

The only module that knows URLs.  Every failure, from a refused connection to
a 409, surfaces as ``ClientError`` carrying status, code and message.
"""

from __future__ import annotations

import asyncio
import functools
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import monotonic  # (time itself is the try screen's latency clock, frozen in tests)
from typing import Any, AsyncIterator, Protocol, TypeVar
from urllib.parse import quote

if "httpx" not in sys.modules:
    # httpx's command-line tool (click, rich.progress, pygments: ~50 ms) is optional to httpx itself,
    # which imports it only if it can; the dashboard never runs it: not on the start-up path.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[assignment]
import httpx  # noqa: E402
from pydantic import BaseModel, TypeAdapter, ValidationError

from pepyhat import schemas
from pepyhat_tui.leaks import contains_key
from pepyhat_tui.minted import Minted

M = TypeVar("M", bound=BaseModel)
EMBEDDED_URL = "http://pepyhat.embedded"


class ClientError(Exception):
    """A failed call: ``status`` is None when the service was never reached."""

    def __init__(self, status: int | None, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status else ""
        return f"{prefix}{self.code}: {self.message}"


# What a data-plane reply carries that the calling app should know about.
REPLY_HEADERS = ("x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after",
                 "cache-control")


@dataclass(frozen=True)
class DataPlaneReply:
    """What ``GET /api/v1/authz/...`` answered an app key, as the calling app would see it."""

    status: int
    latency_ms: float
    headers: dict[str, str] = field(default_factory=dict)  # only REPLY_HEADERS
    body: dict[str, Any] | None = None  # the JSON body (an answer, or an error envelope)
    answer: schemas.AuthzResponse | None = None  # a 200's body, parsed
    error: schemas.ErrorBody | None = None  # a refusal's envelope, parsed


@functools.cache
def _tls_context():
    make = getattr(httpx, "create_ssl_context", None)  # httpx >= 0.28; before, each client loads its own
    return make() if make else True


def _seg(value: str) -> str:
    return quote(value, safe="@.+-_:")


def _params(**values: Any) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        out[name] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


class Observer(Protocol):
    """Told of every call's fate: the dashboard's connection watcher (``pepyhat_tui.connection``)."""

    def answered(self) -> None: ...

    def failed(self, error: ClientError) -> None: ...


# What a proxy answers when the service behind it is away or slow.
GATEWAY_STATUSES = frozenset({502, 503, 504})


def error_of(response: httpx.Response) -> ClientError:
    """The service's error envelope as a ClientError; a proxy's page as its status."""
    status = response.status_code
    try:
        error = schemas.ErrorEnvelope.model_validate_json(response.content).error
    except ValidationError:
        if status in GATEWAY_STATUSES:
            reason = f"{status} {response.reason_phrase}".strip()
            return ClientError(status, "bad_gateway", f"a proxy answered {reason}: the service behind it is not answering")
        return ClientError(status, "http_error", f"HTTP {status}")
    return ClientError(status, error.code, error.message, error.details)


class PepyHatClient:
    def __init__(self, http: httpx.AsyncClient, stack: AsyncExitStack | None = None) -> None:
        self._http = http
        self._stack = stack
        self.observer: Observer | None = None
        self._started: dict[int, float] = {}  # calls under way: id -> when sent (monotonic)

    # -- construction ---------------------------------------------------------

    @classmethod
    def remote(cls, url: str, token: str | None, timeout: float = 10.0) -> "PepyHatClient":
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Loading the CA bundle takes a few hundred ms: done once (the preflight's context serves the
        # dashboard too), and not at all for plain http://, where no TLS is ever spoken (no redirects).
        verify = _tls_context() if url.lower().startswith("https://") else False
        http = httpx.AsyncClient(base_url=url.rstrip("/"), headers=headers, timeout=timeout, verify=verify)
        return cls(http)

    @classmethod
    def local(cls, socket_path: Path) -> "PepyHatClient":
        """The embedded service's child process, on its private Unix socket (no token: the operator)."""
        transport = httpx.AsyncHTTPTransport(uds=str(socket_path), verify=False)  # no TLS on a Unix socket
        return cls(httpx.AsyncClient(transport=transport, base_url=EMBEDDED_URL, timeout=30))

    @classmethod
    async def embedded(
        cls,
        database: Path,
        operator: str,
        *,
        demo: bool = False,
        demo_now: datetime | None = None,
    ) -> "PepyHatClient":
        """Run the service in-process on a SQLite file (the tests' way; ``pepyhat-tui`` runs a child, ``local``).

        Importing, migrating and (for the demo) filling it takes a second or more of
        blocking work: it runs in a thread, so the dashboard paints and answers keys
        meanwhile.  Only the lifespan (background tasks) is entered on this event loop.
        """
        from pepyhat.embedded import build_embedded_service

        app = await asyncio.to_thread(build_embedded_service, database, operator, demo=demo, demo_now=demo_now)
        stack = AsyncExitStack()
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("127.0.0.1", 0))
        http = httpx.AsyncClient(transport=transport, base_url=EMBEDDED_URL, timeout=30)
        return cls(http, stack)

    async def aclose(self) -> None:
        await self._http.aclose()
        if self._stack is not None:
            await self._stack.aclose()

    # -- plumbing -------------------------------------------------------------

    async def _call(self, method: str, path: str, *, params=None, json=None) -> httpx.Response:
        if contains_key(path) or any(contains_key(str(v)) for v in (params or {}).values()):
            # A URL ends up in proxy and access logs: a key travels only in a body (the lookup).
            # The service refuses it as well (secret_in_url); here it never leaves the dashboard.
            raise ClientError(None, "secret_in_url", "that looks like a key: find it with the leaked-key lookup")
        response = await self._send(self._http.build_request(method, path, params=params, json=json))
        if response.status_code >= 400:
            error = error_of(response)
            if response.status_code == 401 and self.observer is not None:
                self.observer.failed(error)  # the dashboard's own token refused
            raise error
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """Send; a failure to reach the service at all becomes a ClientError without a status.

        The observer hears of each outcome: an answer, or a failure for want of the service
        (no connection, no answer in time, a proxy's 502/503/504).
        """
        ticket = id(request)
        self._started[ticket] = monotonic()
        try:
            response = await self._http.send(request)
        except httpx.HTTPError as exc:
            error = self._unreached(exc)
            if self.observer is not None:
                self.observer.failed(error)
            raise error from None
        finally:
            self._started.pop(ticket, None)
        if self.observer is not None:
            if response.status_code in GATEWAY_STATUSES:
                self.observer.failed(error_of(response))
            else:
                self.observer.answered()
        return response

    def _unreached(self, exc: httpx.HTTPError) -> ClientError:
        if isinstance(exc, httpx.TimeoutException):
            timeout = self._http.timeout.read
            within = f" within {timeout:g} s" if timeout else " in time"
            return ClientError(None, "timeout", f"the service did not answer{within}")
        if isinstance(exc, httpx.ConnectError):
            return ClientError(None, "unreachable", f"cannot reach the service at {self._http.base_url}")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return ClientError(None, "transport_error", "the connection to the service was cut before its answer")
        return ClientError(None, "transport_error", f"request failed: {type(exc).__name__}")

    def waiting_for(self) -> float | None:
        """Seconds the oldest call under way has waited (None: none is)."""
        if not self._started:
            return None
        return monotonic() - min(self._started.values())

    async def _get(self, model: type[M] | TypeAdapter, method: str, path: str, **kwargs) -> Any:
        response = await self._call(method, path, **kwargs)
        try:
            if isinstance(model, TypeAdapter):
                return model.validate_json(response.content)
            return model.model_validate_json(response.content)
        except ValidationError:
            raise ClientError(response.status_code, "bad_response", f"unexpected response from {path}") from None

    @staticmethod
    def _body(model: BaseModel) -> dict:
        return model.model_dump(mode="json", exclude_unset=True)

    # -- who am I -------------------------------------------------------------

    async def validate(self) -> schemas.ValidatedKey:
        result = await self._get(schemas.ValidateResponse, "GET", "/api/v1/auth/validate")
        return result.key

    async def ready(self) -> bool:
        await self._call("GET", "/readyz")
        return True

    # -- apps -----------------------------------------------------------------

    async def list_apps(self, q: str | None = None, cursor: str | None = None, limit: int = 100) -> schemas.Page[schemas.App]:
        return await self._get(schemas.Page[schemas.App], "GET", "/api/v1/apps", params=_params(q=q, cursor=cursor, limit=limit))

    async def get_app(self, slug: str) -> schemas.App:
        return await self._get(schemas.App, "GET", f"/api/v1/apps/{_seg(slug)}")

    async def create_app(self, body: schemas.AppCreate) -> schemas.App:
        return await self._get(schemas.App, "POST", "/api/v1/apps", json=self._body(body))

    async def update_app(self, slug: str, body: schemas.AppUpdate) -> schemas.App:
        return await self._get(schemas.App, "PATCH", f"/api/v1/apps/{_seg(slug)}", json=self._body(body))

    async def delete_app(self, slug: str, force: bool = False) -> None:
        await self._call("DELETE", f"/api/v1/apps/{_seg(slug)}", params=_params(force=force or None))

    # -- permissions ----------------------------------------------------------

    async def list_permissions(self, app: str, q: str | None = None, cursor: str | None = None, limit: int = 100):
        return await self._get(
            schemas.Page[schemas.Permission], "GET", f"/api/v1/apps/{_seg(app)}/permissions",
            params=_params(q=q, cursor=cursor, limit=limit),
        )

    async def create_permission(self, app: str, body: schemas.PermissionCreate) -> schemas.Permission:
        return await self._get(schemas.Permission, "POST", f"/api/v1/apps/{_seg(app)}/permissions", json=self._body(body))

    async def delete_permission(self, app: str, slug: str) -> None:
        await self._call("DELETE", f"/api/v1/apps/{_seg(app)}/permissions/{_seg(slug)}")

    # -- roles ----------------------------------------------------------------

    async def list_roles(self, app: str, q: str | None = None, cursor: str | None = None, limit: int = 100):
        return await self._get(
            schemas.Page[schemas.Role], "GET", f"/api/v1/apps/{_seg(app)}/roles",
            params=_params(q=q, cursor=cursor, limit=limit),
        )

    async def get_role(self, app: str, slug: str) -> schemas.Role:
        return await self._get(schemas.Role, "GET", f"/api/v1/apps/{_seg(app)}/roles/{_seg(slug)}")

    async def create_role(self, app: str, body: schemas.RoleCreate) -> schemas.Role:
        return await self._get(schemas.Role, "POST", f"/api/v1/apps/{_seg(app)}/roles", json=self._body(body))

    async def update_role(self, app: str, slug: str, body: schemas.RoleUpdate, *, dry_run: bool = False) -> schemas.RoleUpdated:
        """Save the role; with ``dry_run``, only say what its members would gain and lose (nothing saved)."""
        return await self._get(
            schemas.RoleUpdated, "PATCH", f"/api/v1/apps/{_seg(app)}/roles/{_seg(slug)}",
            params=_params(dry_run=dry_run or None), json=self._body(body),
        )

    async def delete_role(self, app: str, slug: str) -> None:
        await self._call("DELETE", f"/api/v1/apps/{_seg(app)}/roles/{_seg(slug)}")

    # -- members and grants ---------------------------------------------------

    async def list_members(
        self, app: str, q: str | None = None, role: str | None = None, permission: str | None = None,
        cursor: str | None = None, limit: int = 100, everyone: bool = False,
    ) -> schemas.Page[schemas.Member]:
        """The app's members; ``everyone``: every user, those without a grant there too."""
        return await self._get(
            schemas.Page[schemas.Member], "GET", f"/api/v1/apps/{_seg(app)}/members",
            params=_params(q=q, role=role, permission=permission, cursor=cursor, limit=limit, everyone=everyone or None),
        )

    async def access_review(self, app: str) -> schemas.AccessReview:
        """Every grant in the app, with its role's permissions: what an access review reads."""
        return await self._get(schemas.AccessReview, "GET", f"/api/v1/apps/{_seg(app)}/access-review")

    async def grant(self, app: str, email: str, role: str, expires_at: datetime | None = None) -> schemas.Grant:
        body = schemas.GrantPut(expires_at=expires_at) if expires_at else None
        return await self._get(
            schemas.Grant, "PUT", f"/api/v1/apps/{_seg(app)}/members/{_seg(email)}/roles/{_seg(role)}",
            json=self._body(body) if body else None,
        )

    async def revoke_grant(self, app: str, email: str, role: str) -> None:
        await self._call("DELETE", f"/api/v1/apps/{_seg(app)}/members/{_seg(email)}/roles/{_seg(role)}")

    # -- users ----------------------------------------------------------------

    async def list_users(
        self, q: str | None = None, active: bool | None = None, cursor: str | None = None, limit: int = 100
    ) -> schemas.Page[schemas.User]:
        return await self._get(
            schemas.Page[schemas.User], "GET", "/api/v1/users", params=_params(q=q, active=active, cursor=cursor, limit=limit)
        )

    async def get_user(self, email: str) -> schemas.User:
        return await self._get(schemas.User, "GET", f"/api/v1/users/{_seg(email)}")

    async def create_user(self, body: schemas.UserCreate) -> schemas.User:
        return await self._get(schemas.User, "POST", "/api/v1/users", json=self._body(body))

    async def update_user(self, email: str, body: schemas.UserUpdate) -> schemas.User:
        return await self._get(schemas.User, "PATCH", f"/api/v1/users/{_seg(email)}", json=self._body(body))

    async def delete_user(self, email: str) -> None:
        await self._call("DELETE", f"/api/v1/users/{_seg(email)}")

    async def user_access(self, email: str) -> schemas.UserAccess:
        return await self._get(schemas.UserAccess, "GET", f"/api/v1/users/{_seg(email)}/access")

    # -- keys -----------------------------------------------------------------

    async def list_keys(
        self, app: str | None = None, kind: str | None = None, status: str | None = None, q: str | None = None,
        cursor: str | None = None, limit: int = 100, expires_within: str | None = None,
    ) -> schemas.Page[schemas.Key]:
        return await self._get(
            schemas.Page[schemas.Key], "GET", "/api/v1/keys",
            params=_params(
                app=app, kind=kind, status=status, q=q, cursor=cursor, limit=limit, expires_within=expires_within
            ),
        )

    async def get_key(self, key_id: str) -> schemas.Key:
        return await self._get(schemas.Key, "GET", f"/api/v1/keys/{_seg(key_id)}")

    async def lookup_key(self, *, key: str | None = None, start: str | None = None) -> list[schemas.Key]:
        """Who a leaked key (or its start) is: the secret travels in the body, never in the URL."""
        body = schemas.KeyLookup(key=key, start=start)
        page = await self._get(schemas.Page[schemas.Key], "POST", "/api/v1/keys/lookup", json=self._body(body))
        return page.data

    async def create_key(self, body: schemas.KeyCreate) -> Minted:
        created = await self._get(schemas.KeyCreated, "POST", "/api/v1/keys", json=self._body(body))
        return Minted.of(created)

    async def update_key(self, key_id: str, body: schemas.KeyUpdate) -> schemas.Key:
        return await self._get(schemas.Key, "PATCH", f"/api/v1/keys/{_seg(key_id)}", json=self._body(body))

    async def revoke_key(self, key_id: str, reason: str | None = None) -> schemas.Key:
        return await self._get(
            schemas.Key, "DELETE", f"/api/v1/keys/{_seg(key_id)}", params=_params(reason=reason or None)
        )

    async def rotate_key(self, key_id: str, grace: str = "24h") -> Minted:
        body = schemas.KeyRotate(grace=grace)
        rotated = await self._get(
            schemas.KeyRotated, "POST", f"/api/v1/keys/{_seg(key_id)}/rotate", json=self._body(body)
        )
        return Minted.of(rotated, rotated.previous)

    async def scope_examples(self, path: str, limit: int = 5) -> "schemas.ScopeExamples":
        """Real resource paths of this organisation that a scope pattern matches."""
        return await self._get(
            schemas.ScopeExamples, "GET", "/api/v1/scopes/examples", params=_params(path=path, limit=limit)
        )

    # -- the data plane, as an app calls it ---------------------------------------

    def authz_path(self, email: str) -> str:
        return f"/api/v1/authz/{_seg(email)}"

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def try_authz(self, email: str, app: str, api_key: str) -> DataPlaneReply:
        """The real data-plane request with an app key, whatever it answers (a 403 is a result here).

        The key goes in ``X-API-Key`` only: the dashboard's own token is not sent along.
        """
        path = self.authz_path(email)
        if contains_key(path) or contains_key(app):
            raise ClientError(None, "secret_in_url", "that looks like a key: a key goes in the key field only")
        request = self._http.build_request("GET", path, params={"app": app}, headers={"X-API-Key": api_key})
        request.headers.pop("Authorization", None)
        started = time.perf_counter()
        response = await self._send(request)
        latency = (time.perf_counter() - started) * 1000
        headers = {name: response.headers[name] for name in REPLY_HEADERS if name in response.headers}
        try:
            body = response.json()
        except ValueError:
            body = None
        answer = error = None
        try:
            if response.status_code == 200:
                answer = schemas.AuthzResponse.model_validate(body)
            else:
                error = schemas.ErrorEnvelope.model_validate(body).error
        except ValidationError:
            pass
        body = body if isinstance(body, dict) else None
        return DataPlaneReply(response.status_code, latency, headers, body, answer, error)

    # -- explain and audit ----------------------------------------------------

    async def explain(self, email: str, app: str) -> schemas.ExplainResponse:
        return await self._get(schemas.ExplainResponse, "GET", f"/api/v1/explain/{_seg(email)}", params={"app": app})

    async def list_audit(self, cursor: str | None = None, limit: int = 100, **filters) -> schemas.Page[schemas.AuditEvent]:
        return await self._get(
            schemas.Page[schemas.AuditEvent], "GET", "/api/v1/audit", params=_params(cursor=cursor, limit=limit, **filters)
        )


async def all_pages(fetch, *, limit: int = 500, cap: int = 5000, **kwargs) -> AsyncIterator[Any]:
    """Every row a list endpoint yields, following cursors, at most ``cap`` rows."""
    cursor, seen = None, 0
    while True:
        page = await fetch(cursor=cursor, limit=limit, **kwargs)
        for row in page.data:
            yield row
            seen += 1
            if seen >= cap:
                return
        if not page.has_more or not page.next_cursor:
            return
        cursor = page.next_cursor
