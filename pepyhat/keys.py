"""Key format: minting, checksum and hashing.

A key is ``phk_`` (app key) or ``pha_`` (admin token) followed by 48 base62
characters: 42 random, then a 6-character base62 CRC-32 of those 42.  The
checksum lets us (and secret scanners) reject a mangled key without touching
the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

from pepyhat.schemas import KEY_PATTERN, KEY_START_PATTERN, KeyKind

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIXES: dict[KeyKind, str] = {"app": "phk_", "admin": "pha_"}
KINDS: dict[str, KeyKind] = {prefix: kind for kind, prefix in PREFIXES.items()}
RANDOM_LEN = 42
CHECKSUM_LEN = 6
START_LEN = 4 + 6  # prefix plus the first 6 random characters
ID_PREFIX = "key_"
ID_PATTERN = r"key_[0-9A-Za-z]{16}"


# Read with fullmatch: `$` alone would accept a trailing newline.
_SHAPE = re.compile(KEY_PATTERN)
_START = re.compile(KEY_START_PATTERN)
# The same shape inside a longer text (a URL, a log line).  Shape only: a key with a
# bad checksum, or one with characters after it, is still someone's secret.
_EMBEDDED = re.compile(KEY_PATTERN.removeprefix("^").removesuffix("$"))


class MalformedKey(ValueError):
    """The string is not a well-formed key with a valid checksum."""


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    """The 6-character base62 CRC-32 of the 42 random characters."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LEN)


def _random(length: int, rng: secrets.SystemRandom | None = None) -> str:
    choice = rng.choice if rng is not None else secrets.choice
    return "".join(choice(ALPHABET) for _ in range(length))


def mint(kind: KeyKind, rng=None) -> str:
    """A new plaintext key.  ``rng`` exists only for the deterministic demo."""
    body = _random(RANDOM_LEN, rng)
    return PREFIXES[kind] + body + checksum(body)


def parse(plaintext: str) -> KeyKind:
    """The key's kind, or MalformedKey if its shape or checksum is wrong."""
    match = _SHAPE.fullmatch(plaintext or "")
    if match is None:
        raise MalformedKey("not a Pepy Hat key")
    rest = match.group(2)
    body, check = rest[:RANDOM_LEN], rest[RANDOM_LEN:]
    if not secrets.compare_digest(checksum(body), check):
        raise MalformedKey("bad checksum")
    return KINDS[match.group(1)]


def contains_key(text: str) -> bool:
    """Does ``text`` hold something shaped like a key anywhere in it?"""
    return _EMBEDDED.search(text) is not None


def redact(text: str) -> str:
    """``text`` with every key-shaped part cut to its start and an ellipsis: ``phk_Ab12Cd…``."""
    return _EMBEDDED.sub(lambda m: m.group()[:START_LEN] + "\u2026", text)


def is_start(value: str) -> bool:
    return _START.fullmatch(value or "") is not None


def digest(plaintext: str) -> str:
    """What the database stores: SHA-256 of the whole key, hex."""
    return hashlib.sha256(plaintext.encode("ascii")).hexdigest()


def start_of(plaintext: str) -> str:
    return plaintext[:START_LEN]


def new_id(rng=None) -> str:
    return ID_PREFIX + _random(16, rng)

