"""The audit log's `/` filter line, read into the audit endpoint's query parameters.

One line of ``field:value`` tokens::

    actor:alice action:key.* target:apps/crm/** since:2h until:2026-12-01

- ``actor``: a key id or name, exact (quote a name with spaces: ``actor:"ops (embedded)"``).
- ``action``: exact (``user.create``) or a prefix ending in ``*`` (``key.*``).
- ``target``: a scope-style glob over target paths (``apps/crm/**``).
- ``since`` / ``until``: a duration back from now (``2h``, ``7d``), a date
  (``2026-12-01``: midnight UTC) or an instant (``2026-12-01T10:00Z``; no
  offset means UTC).  ``until`` excludes its instant, as the service does.

A word without a field is read by its shape: with a ``/`` a target glob; with
an ``@`` everything about that user (``**/<email>/**``: their record, their
memberships and roles); shaped like an action (``key.rotate``, ``grant*``) an
action; anything else an actor.

Pure: no I/O, ``now`` is given.  ``FilterError`` says in one line what is wrong.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timezone

from pepyhat import scopes
from pepyhat.schemas import parse_duration

FIELDS = ("actor", "action", "target", "since", "until")
MAX_ACTOR = 200  # the endpoint's limits, checked here so a long word is a clear error, not a 422
MAX_ACTION = 64
_ACTION = re.compile(r"[a-z_]+(?:\.[a-z_]+)*(?:\.?\*)?\Z")  # user.create, key.*, grant*


class FilterError(ValueError):
    """A filter line the dashboard will not send: the message is one line for the title bar."""


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, str]:
        """The query parameters of ``GET /api/v1/audit`` (instants with their offset)."""
        out: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None:
                out[field.name] = value.isoformat() if isinstance(value, datetime) else value
        return out

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


def parse(text: str | None, now: datetime) -> AuditFilter:
    """The filter ``text`` says, ``since:2h`` counted back from ``now``.

    ``FilterError`` when it says nothing the service could be sent.
    """
    try:
        words = shlex.split(text or "")
    except ValueError:  # shlex's own words ("No closing quotation") are not ours
        raise FilterError("a quote is not closed") from None
    found: dict[str, object] = {}
    for word in words:
        name, value = _field_of(word)
        if name in found:
            raise FilterError(f"{name}: given twice")
        found[name] = _value(name, value, now)
    since, until = found.get("since"), found.get("until")
    if isinstance(since, datetime) and isinstance(until, datetime) and since >= until:
        raise FilterError(f"since ({since:%Y-%m-%d %H:%M}Z) is not before until ({until:%Y-%m-%d %H:%M}Z)")
    return AuditFilter(**found)  # type: ignore[arg-type]


def _field_of(word: str) -> tuple[str, str]:
    name, colon, value = word.partition(":")
    if colon and name.lower() in FIELDS:
        return name.lower(), value
    # A bare word: what it looks like (an ISO instant has a ':' but names no field).
    if "/" in word:
        return "target", word
    if "@" in word:
        return "target", f"**/{word}/**"
    if ("." in word or word.endswith("*")) and _ACTION.match(word):
        return "action", word
    return "actor", word


def _value(name: str, value: str, now: datetime) -> object:
    if not value:
        raise FilterError(f"{name}: needs a value ({name}:{_EXAMPLES[name]})")
    if name == "actor":
        if len(value) > MAX_ACTOR:
            raise FilterError(f"actor: at most {MAX_ACTOR} characters")
        return value
    if name == "action":
        if len(value) > MAX_ACTION:
            raise FilterError(f"action: at most {MAX_ACTION} characters")
        if "*" in value[:-1]:
            raise FilterError("action: '*' only at the end, as a prefix (key.*)")
        return value
    if name == "target":
        try:
            return scopes.validate(value)
        except scopes.InvalidPattern as exc:
            raise FilterError(f"target: {exc}") from None
    return _instant(name, value, now)


def _instant(name: str, value: str, now: datetime) -> datetime:
    """A duration back from ``now``, a date (midnight UTC) or an ISO instant, in UTC."""
    if value[:1].isdigit() and value[-1:].isalpha() and value[:-1].isdigit():
        try:
            return (now - parse_duration(value)).astimezone(timezone.utc)
        except ValueError as exc:
            raise FilterError(f"{name}: {exc}") from None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day, time(0), tzinfo=timezone.utc)
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise FilterError(
            f"{name}: {value!r} is not a duration (2h, 7d), a date (2026-12-01) or an instant (2026-12-01T10:00Z)"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc)


_EXAMPLES = {"actor": "alice", "action": "key.*", "target": "apps/crm/**", "since": "2h", "until": "2026-12-01"}
