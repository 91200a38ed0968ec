"""A key just minted (created or rotated): its record, and its plaintext for one reader.

The plaintext is taken once, by the shown-once modal; after ``take`` nothing
here refers to it.  ``repr`` never shows it, so a log line, a worker's result
or a traceback in a test report cannot carry it.
"""

from __future__ import annotations

from pepyhat import schemas

_KEY_FIELDS = frozenset(schemas.Key.model_fields)


class PlaintextGone(RuntimeError):
    """The plaintext was taken already: it is shown once."""


class Minted:
    __slots__ = ("key", "previous", "_plaintext")

    def __init__(self, key: schemas.Key, plaintext: str, previous: schemas.Key | None = None) -> None:
        self.key = key
        self.previous = previous  # a rotation's predecessor, with its new expiry
        self._plaintext: str | None = plaintext

    @classmethod
    def of(cls, created: schemas.KeyCreated, previous: schemas.Key | None = None) -> "Minted":
        # The record is rebuilt without the plaintext field, so it can be kept, listed and logged.
        record = schemas.Key.model_validate({name: getattr(created, name) for name in _KEY_FIELDS})
        return cls(record, created.key, previous)

    @property
    def taken(self) -> bool:
        return self._plaintext is None

    def take(self) -> str:
        plaintext, self._plaintext = self._plaintext, None
        if plaintext is None:
            raise PlaintextGone(f"the plaintext of {self.key.start}… was shown already")
        return plaintext

    def __repr__(self) -> str:
        return f"Minted({self.key.id}, {self.key.start}…{', taken' if self.taken else ''})"
