"""Scope path globs: which resources a key may touch.

Paths are split on ``/``.  A literal segment matches itself, ``*`` exactly one
segment, ``**`` zero or more; a pattern that is ``*`` or ``**`` alone matches
everything.  There are no partial-segment wildcards: ``cr*`` is a literal.

Patterns are tiny, so each is compiled to an NFA over segments; ``covers``
and ``intersects`` explore the product of two NFAs over an alphabet made of
the literals both patterns mention plus one fresh segment standing for every
other string (globs cannot tell two unmentioned literals apart).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

OPERATIONS = ("read", "write", "delete")
ALL_OPERATIONS = "*"
# The segment standing for every unmentioned one must equal no literal a
# pattern can hold: no segment contains "/".  ("\x00" did: a scope with a
# "\x00" segment then covered every other segment.)
_FRESH = "/"
_SEGMENT = re.compile(r"^[^\s/]{1,128}\Z")  # \Z: `$` would accept a trailing newline
MAX_PATH = 512


class InvalidPattern(ValueError):
    pass


def validate(pattern: str) -> str:
    """The pattern itself, or InvalidPattern naming what is wrong."""
    if not pattern or len(pattern) > MAX_PATH:
        raise InvalidPattern("path must be 1 to 512 characters")
    for segment in pattern.split("/"):
        if not segment:
            raise InvalidPattern(f"empty segment in {pattern!r} (no leading, trailing or double '/')")
        if not _SEGMENT.match(segment):
            raise InvalidPattern(f"invalid segment {segment!r} in {pattern!r}")
    return pattern


@lru_cache(maxsize=4096)
def _tokens(pattern: str) -> tuple[str, ...]:
    if pattern in ("*", "**"):
        return ("**",)
    return tuple(pattern.split("/"))


def _closure(tokens: tuple[str, ...], states: Iterable[int]) -> frozenset[int]:
    """Add the states reachable through ``**`` matching nothing."""
    out = set(states)
    stack = list(out)
    while stack:
        state = stack.pop()
        if state < len(tokens) and tokens[state] == "**" and state + 1 not in out:
            out.add(state + 1)
            stack.append(state + 1)
    return frozenset(out)


def _step(tokens: tuple[str, ...], states: frozenset[int], segment: str) -> frozenset[int]:
    nxt = set()
    for state in states:
        if state == len(tokens):
            continue
        token = tokens[state]
        if token == "**":
            nxt.add(state)
        elif token == "*" or token == segment:
            nxt.add(state + 1)
    return _closure(tokens, nxt)


@lru_cache(maxsize=65536)
def matches(pattern: str, path: str) -> bool:
    """Does ``pattern`` match the concrete resource ``path``?"""
    tokens = _tokens(pattern)
    states = _closure(tokens, (0,))
    for segment in path.split("/") if path else ():
        states = _step(tokens, states, segment)
        if not states:
            return False
    return len(tokens) in states


def _explore(a: str, b: str):
    """Yield every reachable pair of (a-states, b-states) of the product NFA."""
    ta, tb = _tokens(a), _tokens(b)
    alphabet = {t for t in ta + tb if t not in ("*", "**")} | {_FRESH}
    start = (_closure(ta, (0,)), _closure(tb, (0,)))
    seen = {start}
    stack = [start]
    while stack:
        pair = stack.pop()
        yield pair, len(ta), len(tb)
        for segment in alphabet:
            nxt = (_step(ta, pair[0], segment), _step(tb, pair[1], segment))
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)


@lru_cache(maxsize=4096)
def covers(outer: str, inner: str) -> bool:
    """Does ``outer`` match every path that ``inner`` matches?"""
    for (sa, sb), accept_a, accept_b in _explore(outer, inner):
        if accept_b in sb and accept_a not in sa:
            return False
    return True


@lru_cache(maxsize=4096)
def intersects(a: str, b: str) -> bool:
    """Is there a path both patterns match?"""
    return any(accept_a in sa and accept_b in sb for (sa, sb), accept_a, accept_b in _explore(a, b))


def allows(operations: Iterable[str], operation: str) -> bool:
    ops = set(operations)
    return ALL_OPERATIONS in ops or operation in ops


def ops_cover(outer: Iterable[str], inner: Iterable[str]) -> bool:
    outer_set = set(outer)
    if ALL_OPERATIONS in outer_set:
        return True
    inner_set = set(inner)
    if ALL_OPERATIONS in inner_set:
        return False
    return inner_set <= outer_set
