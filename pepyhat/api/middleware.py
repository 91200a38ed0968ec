"""Pure ASGI middleware: request ids, the body cap, metrics and the access log.

Pure ASGI rather than BaseHTTPMiddleware because it sits on the data plane's
hot path.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from urllib.parse import parse_qsl, unquote_plus

from pepyhat import keys, metrics
from pepyhat.api import dataplane
from pepyhat.schemas import escaped

MAX_BODY = 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("pepyhat.access")
_SERIES: dict[tuple[str, str, int], tuple] = {}  # (method, route, status) -> (request counter, latency histogram)


SECRET_IN_URL = (
    "a key was sent in the URL, where proxies, browsers and logs keep it: send keys only in headers "
    "and bodies. To identify a key, POST /api/v1/keys/lookup with {\"key\": \"...\"} in the body"
)


def secret_in_url(path: str, query_string: bytes) -> dict | None:
    """Where a key-shaped string sits in the URL (for the refusal's details), or None.

    The query is read decoded, as the routes would read it, so percent-encoding hides nothing.
    """
    if keys.contains_key(path):
        return {"in": "path"}
    if not query_string:
        return None
    raw = query_string.decode("latin-1")
    for name, value in parse_qsl(raw, keep_blank_values=True):
        if keys.contains_key(value) or keys.contains_key(name):
            # The name is the caller's text: echoed cut (it may be the key) and escaped.
            return {"in": "query", "parameter": escaped(keys.redact(name))}
    if keys.contains_key(unquote_plus(raw)):  # across separators parse_qsl splits on
        return {"in": "query"}
    return None


def _error(status: int, code: str, message: str, request_id: str, details: dict | None = None) -> tuple[dict, dict]:
    body = json.dumps({"error": {"code": code, "message": message, "details": details or {}}}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


class RequestContext:
    def __init__(self, app, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        incoming = None
        length = None
        chunked = False
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status_holder = [500]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database (a 500).
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                for message in _error(400, "bad_request", "NUL characters are not allowed in URLs", request_id):
                    await send(message)
                status_holder[0] = 400
                return
            # Secrets travel only in headers and bodies (DESIGN, Keys): a URL is logged and kept.
            where = secret_in_url(scope["path"], scope.get("query_string", b""))
            if where is not None:
                for message in _error(400, "secret_in_url", SECRET_IN_URL, request_id, where):
                    await send(message)
                status_holder[0] = 400
                return
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                for message in _error(413, "payload_too_large", f"request body over {self.max_body} bytes", request_id):
                    await send(message)
                status_holder[0] = 413
                return
            # A chunked body has no length but is a body all the same.
            has_body = length not in (None, b"0") if length is not None else chunked
            if has_body and not _is_json(content_type):
                message = "request bodies are JSON: send Content-Type: application/json"
                for part in _error(415, "unsupported_media_type", message, request_id):
                    await send(part)
                status_holder[0] = 415
                return
            if length is None and scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
                receive = await self._buffer(receive)
                if receive is None:
                    for message in _error(413, "payload_too_large", f"request body over {self.max_body} bytes", request_id):
                        await send(message)
                    status_holder[0] = 413
                    return
            # The data plane, ahead of the framework (pepyhat.api.dataplane); anything else, or
            # a path that only looks like it, goes through the framework's routing.
            if not (scope["path"].startswith(dataplane.PREFIX) and await dataplane.serve(scope, send_wrapper)):
                await self.app(scope, receive, send_wrapper)
        finally:
            self._observe(scope, status_holder[0], time.perf_counter() - started, request_id)

    async def _buffer(self, receive):
        """Read a body of unknown length, up to the cap; None when over it."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    def _observe(scope, status: int, elapsed: float, request_id: str) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        series = _SERIES.get((method, template, status))
        if series is None:  # found once per route and status: labels() locks and checks its arguments
            series = _SERIES[(method, template, status)] = (
                metrics.REQUESTS.labels(method, template, str(status)), metrics.LATENCY.labels(method, template)
            )
        series[0].inc()
        series[1].observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            # Handed to the logger's handlers as they are (filters, levels and propagation apply as
            # for any record): ``Logger.info`` would also walk the stack for the caller's place.
            access_log.handle(_AccessRecord(
                method, template, status,
                request_id=request_id,
                key_id=scope["state"].get("key_id"),
                path=keys.redact(scope["path"]),  # a key there is refused, and the refusal logged: cut
                duration_ms=round(elapsed * 1000, 2),
                client=(scope.get("client") or (None,))[0],
            ))


class _AccessRecord(logging.LogRecord):
    """One request's access-log line: ``LogRecord``'s fields, its caller's place fixed (always here), made cheaply."""

    _FIXED = {
        "name": access_log.name, "msg": "%s %s %s", "levelno": logging.INFO, "levelname": "INFO",
        "pathname": __file__, "filename": "middleware.py", "module": "middleware", "funcName": "_observe", "lineno": 0,
        "exc_info": None, "exc_text": None, "stack_info": None, "threadName": None, "processName": None, "taskName": None,
    }

    def __init__(self, method: str, route: str, status: int, **fields) -> None:
        vars_ = self.__dict__
        vars_.update(self._FIXED)
        vars_.update(fields)
        self.args = (method, route, status)
        self.method, self.route, self.status = method, route, status
        self.created = now = time.time()
        self.msecs = int((now - int(now)) * 1000) + 0.0
        self.relativeCreated = (now - logging._startTime) * 1000
        self.thread = threading.get_ident()
        self.process = os.getpid()
