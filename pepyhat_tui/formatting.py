"""Small text helpers shared by screens: relative times, key status badges."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from pepyhat import schemas

EXPIRING_WITHIN = "7d"  # "expiring" on Keys, in the bar, and as the service reads it (?expires_within=)
EXPIRING_SOON = schemas.parse_duration(EXPIRING_WITHIN)
FUTURE_SLACK = 5  # seconds: a request's round trip, at most, between the service's clock and ours


def relative(when: datetime | None, now: datetime, never: str = "never") -> str:
    if when is None:
        return never
    delta = now - when
    future = delta.total_seconds() < 0
    seconds = abs(int(delta.total_seconds()))
    if future:
        # A moment the service set from its own clock, read a little later here: a 24h grace
        # just given is 23h59m59s away, and reads "in 1d", not "in 23h".
        seconds += FUTURE_SLACK
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            amount = f"{seconds // size}{unit}"
            break
    else:
        return "just now"
    return f"in {amount}" if future else f"{amount} ago"


def kind_label(key: schemas.Key) -> str:
    return "app key" if key.kind == "app" else "admin token"


def key_badge(key: schemas.Key, now: datetime) -> Text:
    """active / expiring / expired / revoked, each its own colour."""
    if key.status == "revoked":
        return Text("revoked", style="bold red")
    if key.status == "expired":
        return Text("expired", style="red")
    if key.expires_at is not None and key.expires_at - now <= EXPIRING_SOON:
        return Text("expiring", style="bold yellow")
    return Text("active", style="green")


def yes_no(value: bool, yes: str = "active", no: str = "inactive") -> Text:
    return Text(yes, style="green") if value else Text(no, style="red")


def grant_summary(grants: list[schemas.GrantInfo], now: datetime) -> str:
    parts = []
    for grant in grants:
        if grant.expired:
            parts.append(f"{grant.role} (expired)")
        elif grant.expires_at is not None:
            parts.append(f"{grant.role} (ends {relative(grant.expires_at, now)})")
        else:
            parts.append(grant.role)
    return ", ".join(parts)


def impact_summary(impact: schemas.RoleImpact) -> str:
    """``12 members: +users.write (12) -billing.read (3)``; or that nobody gains or loses anything."""
    gained = [f"+{p} ({n})" for p, n in impact.gained.items()]
    lost = [f"-{p} ({n})" for p, n in impact.lost.items()]
    members = f"{impact.members} member{'' if impact.members == 1 else 's'}"
    if not gained and not lost:
        return f"{members}: no one gains or loses a permission"
    return f"{members}: {' '.join(gained + lost)}"
