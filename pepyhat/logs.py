"""Structured JSON logs: one object a line, with request id and key id.

Headers and bodies are never logged.  A URL can still carry a key (the service
refuses it, but the refusal is logged too): whatever is key-shaped in a line is
cut to the key's start, here and in uvicorn's own access log should it be on.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from pepyhat import keys

_FIELDS = ("request_id", "key_id", "method", "path", "route", "status", "duration_ms", "client", "event")
# A line is written per request: its pieces are made cheaply (bench/README.md, the access log's share).
_KEY_LENGTH = len(keys.mint("app"))  # shorter text cannot hold a key: no need to search it
_encode = json.JSONEncoder(default=lambda value: keys.redact(str(value))).encode
_second: list = [None, ""]  # the last whole second formatted, and its text


def _cut(text: str) -> str:
    return keys.redact(text) if len(text) >= _KEY_LENGTH else text


def _timestamp(created: float) -> str:
    """``created`` as ISO 8601 in UTC to the millisecond, as ``datetime.isoformat(timespec="milliseconds")``."""
    second = int(created)
    if second != _second[0]:
        _second[:] = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_second[1]}.{int((created - second) * 1000):03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _cut(record.getMessage()),
        }
        for field in _FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = _cut(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = keys.redact(self.formatException(record.exc_info))
        return _encode(entry)


class RedactKeys(logging.Filter):
    """Cut key-shaped text in a record's message and arguments (uvicorn's access log has the query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = keys.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(keys.redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: keys.redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def configure(level: str = "INFO") -> None:
    """Route pepyhat's and uvicorn's logs to stderr as JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("pepyhat", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # Our middleware writes the access log, with request and key ids; uvicorn's stays off,
    # and should anything turn it back on, it logs no key.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.disabled = True
    if not any(isinstance(f, RedactKeys) for f in uvicorn_access.filters):
        uvicorn_access.addFilter(RedactKeys())
