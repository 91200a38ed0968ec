"""Names completed from the service as they are typed: an app's slug, a user's email.

What `:` (``:matrix cr`` -> ``crm``) and the try screen's email field suggest.
None when nothing completes, when the service cannot answer (the screen that
opens says what is wrong), or when the text is a key (it never becomes a ``?q=``).
"""

from __future__ import annotations

from pepyhat_tui.client import ClientError, PepyHatClient
from pepyhat_tui.leaks import contains_key

LOOKED_AT = 20  # names asked for per keystroke


async def complete_app(client: PepyHatClient | None, start: str) -> str | None:
    return await _complete(client, start, "apps")


async def complete_email(client: PepyHatClient | None, start: str) -> str | None:
    return await _complete(client, start.lower(), "users")


async def _complete(client: PepyHatClient | None, start: str, kind: str) -> str | None:
    if client is None or not start or contains_key(start):
        return None
    try:
        if kind == "apps":
            names = [a.slug for a in (await client.list_apps(q=start, limit=LOOKED_AT)).data]
        else:
            names = [u.email for u in (await client.list_users(q=start, limit=LOOKED_AT)).data]
    except ClientError:
        return None
    return next((n for n in sorted(names) if n.startswith(start) and n != start), None)
