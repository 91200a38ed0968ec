"""uvicorn's HTTP protocols, answering a request they cannot parse with the service's error envelope.

A NUL or control character in the raw path or a header, a malformed header or
Content-Length, a request line that is not HTTP: uvicorn refuses these before the
app sees anything, in plain text.  Callers read one error shape from the service,
so the same 400 goes out as ``{"error": {...}}``, with a request id.  This
overrides ``send_400_response`` of uvicorn's two implementations (both funnel
every parse failure into it), so uvicorn's minor version is pinned in pyproject.
"""

from __future__ import annotations

import json
import uuid

from uvicorn.protocols.http.h11_impl import H11Protocol

CODE = "bad_request"
MESSAGE = (
    "invalid HTTP request: it could not be parsed (a NUL or control character in the path or a header, "
    "or a malformed request line or header)"
)
BODY = json.dumps({"error": {"code": CODE, "message": MESSAGE, "details": {}}}, separators=(",", ":")).encode()


def _headers(defaults) -> list[tuple[bytes, bytes]]:
    return [
        *defaults,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
        (b"x-request-id", uuid.uuid4().hex.encode()),
        (b"connection", b"close"),
    ]


class H11Envelope(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        import h11

        response = h11.Response(status_code=400, headers=_headers([]), reason=b"Bad Request")
        for event in (response, h11.Data(data=BODY), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is optional in uvicorn: h11 it is
    HttpToolsEnvelope = None
else:

    class HttpToolsEnvelope(HttpToolsProtocol):
        def send_400_response(self, msg: str) -> None:
            lines = [b"HTTP/1.1 400 Bad Request\r\n"]
            lines += [name + b": " + value + b"\r\n" for name, value in _headers(self.server_state.default_headers)]
            self.transport.write(b"".join([*lines, b"\r\n", BODY]))
            self.transport.close()


def protocol() -> type:
    """The class uvicorn's ``http="auto"`` would pick, answering parse failures with the envelope."""
    return HttpToolsEnvelope or H11Envelope
