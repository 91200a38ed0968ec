"""Text that is, or may be, a key: it goes to the lookup, never into a URL, and is shown masked.

An operator pastes a leaked key wherever the cursor is: a filter, go-to.  A
list's ``q`` travels in the URL (proxy and access logs), so anything shaped
like a key, or like a key's start, is taken out of that path here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pepyhat import keys

PREFIXES = tuple(keys.PREFIXES.values())
# A key's prefix followed by more than a start's worth of key characters: a key, or a
# mangled one (cut short, one character too many); either way a secret, not a name.
_KEYISH = re.compile(r"(?:phk_|pha_)[0-9A-Za-z]{7,}")


@dataclass(frozen=True)
class Suspect:
    """A key-shaped string, classified.  ``problem`` says why it cannot be one of ours."""

    kind: Literal["key", "start"]
    shown: str  # masked: the start and an ellipsis
    problem: str | None = None


def mask(text: str) -> str:
    """A key as it may be shown: its start (prefix and 6 characters) and an ellipsis."""
    return keys.start_of(text) + "…"


def suspect(text: str) -> Suspect | None:
    """``text`` as a key, a key's start, a would-be key, or None for ordinary text."""
    value = text.strip()
    if keys.is_start(value):
        return Suspect("start", value)
    if not _KEYISH.fullmatch(value):
        return None
    length = len(value) - len("phk_")  # (both prefixes are 4 characters)
    if length != keys.RANDOM_LEN + keys.CHECKSUM_LEN:
        return Suspect("key", mask(value), f"not a Pepy Hat key: a key has 48 characters after its prefix, this has {length}")
    try:
        keys.parse(value)
    except keys.MalformedKey:
        return Suspect("key", mask(value), "not a Pepy Hat key: its checksum is wrong (mistyped, or cut and pasted badly?)")
    return Suspect("key", mask(value))


def contains_key(text: str) -> bool:
    """Does ``text`` hold a key's shape anywhere, glued to other text or not?

    The service's own test (it refuses such a URL with 400 secret_in_url), so no text the
    dashboard sends can be one the service would find a key in.
    """
    return keys.contains_key(text)
