"""Requests the HTTP layer cannot parse get the service's error envelope, not uvicorn's plain text.

Raw bytes over a socket (no client library would send them): a NUL in the raw
path or in a header, a broken Content-Length, a request line that is not HTTP.
Against a real ``pepyhat serve`` (the protocol it runs with), and against each of
uvicorn's two implementations (h11 is the fallback when httptools is missing).
"""

from __future__ import annotations

import json
import socket
import threading

import pytest
import uvicorn

from pepyhat.httpserver import H11Envelope, HttpToolsEnvelope
from tests.servers import free_port, wait_for

MALFORMED = {
    "NUL in the raw path": b"GET /api/v1/authz/a\x00b?app=crm HTTP/1.1\r\nHost: x\r\n\r\n",
    "NUL in a header": b"GET /api/v1/authz/a?app=crm HTTP/1.1\r\nHost: x\r\nX-API-Key: phk_\x00x\r\n\r\n",
    "broken Content-Length": b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    "not HTTP": b"GARBAGE\r\n\r\n",
}


def _exchange(port: int, request: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(b": ") for line in lines)}
    return status, headers, body


def _assert_envelope(status: bytes, headers: dict[bytes, bytes], body: bytes) -> None:
    assert status.startswith(b"HTTP/1.1 400"), status
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(body)
    assert len(headers[b"x-request-id"]) == 32
    error = json.loads(body)["error"]
    assert error["code"] == "bad_request" and "could not be parsed" in error["message"] and error["details"] == {}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_pepyhat_serve_answers_what_it_cannot_parse_with_the_envelope(server, case):
    port = int(server.url.rsplit(":", 1)[1])
    _assert_envelope(*_exchange(port, MALFORMED[case]))


def test_a_well_formed_request_after_a_malformed_one_is_served(server):
    port = int(server.url.rsplit(":", 1)[1])
    _exchange(port, MALFORMED["not HTTP"])
    status, _, body = _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200") and json.loads(body)["status"] == "ok"


async def _bare(scope, receive, send):  # an app that must never be reached by these requests
    raise AssertionError(f"reached the app: {scope['path']!r}")


@pytest.mark.parametrize("protocol", [H11Envelope, HttpToolsEnvelope], ids=["h11", "httptools"])
def test_each_uvicorn_implementation_answers_with_the_envelope(protocol):
    assert protocol is not None, "uvicorn[standard] brings httptools"
    port = free_port()
    config = uvicorn.Config(_bare, host="127.0.0.1", port=port, http=protocol, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn")
        for request in MALFORMED.values():
            _assert_envelope(*_exchange(port, request))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
