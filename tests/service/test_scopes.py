"""Scope globs: ``matches``, ``covers`` and ``intersects`` against a brute-force reference.

The reference below shares nothing with ``pepyhat.scopes`` (no NFAs): ``matches``
is a plain recursive matcher, and ``covers``/``intersects`` enumerate every path
up to a length bound proven sufficient in ``_covers_bound``/``_intersects_bound``.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pepyhat import scopes
from pepyhat.scopes import InvalidPattern, covers, intersects, matches, validate

PATTERN_SEGMENTS = ["a", "b", "c", "*", "**"]
PATH_SEGMENTS = ["a", "b", "c", "d"]
FRESH = ("x", "y")  # segments no generated pattern mentions

# Patterns of at most 3 segments keep the exhaustive reference below a few
# thousand paths per example (see the bounds) while covering every interplay
# of literals, `*` and `**`.
patterns = st.lists(st.sampled_from(PATTERN_SEGMENTS), min_size=1, max_size=3).map("/".join)
paths = st.lists(st.sampled_from(PATH_SEGMENTS), min_size=0, max_size=6)


# -- the reference --------------------------------------------------------------


def _tokens(pattern: str) -> list[str]:
    # `*` or `**` alone matches everything, i.e. behaves like a lone `**`.
    return ["**"] if pattern in ("*", "**") else pattern.split("/")


def _ref_match(tokens: list[str], path: list[str]) -> bool:
    if not tokens:
        return not path
    head, rest = tokens[0], tokens[1:]
    if head == "**":
        # zero segments, or swallow one and stay on `**`
        return _ref_match(rest, path) or (bool(path) and _ref_match(tokens, path[1:]))
    if not path:
        return False
    return (head == "*" or head == path[0]) and _ref_match(rest, path[1:])


def ref_matches(pattern: str, path: list[str]) -> bool:
    return _ref_match(_tokens(pattern), path)


def _all_paths(alphabet, max_len: int):
    # Includes the empty path: `**` matches zero segments, so a pattern made
    # only of `**` matches it, and the implementation's automata count it too.
    for n in range(max_len + 1):
        yield from (list(p) for p in itertools.product(alphabet, repeat=n))


def _alphabet(*patterns: str) -> list[str]:
    literals = {t for p in patterns for t in _tokens(p) if t not in ("*", "**")}
    return sorted(literals) + list(FRESH)


def _covers_bound(outer: str, inner: str) -> int:
    """A length within which a path matched by ``inner`` but not ``outer`` exists, if any does.

    Take such a path w.  (1) Replace every segment inner matched with a
    wildcard by a fresh segment f: inner still matches, outer still fails
    (outer could only match f with a wildcard, which would have matched the
    original segment too).  So w is inner's literals separated by runs of f.
    (2) Let s be the number of `*` in outer.  A run longer than s + 1 that
    holds a segment inner matched with `**` can drop that segment: if outer
    matched the shorter word, the run (still longer than s, all f, so consumed
    by outer wildcards only) would include a segment consumed by an outer `**`,
    which could swallow one more f, and outer would match w.  Runs containing
    such segments number at most the `**` count g of inner, so
    |w| <= (inner tokens other than `**`) + g * (s + 1).
    """
    inner_tokens, outer_tokens = _tokens(inner), _tokens(outer)
    g = inner_tokens.count("**")
    s = outer_tokens.count("*")
    return (len(inner_tokens) - g) + g * (s + 1)


def _intersects_bound(a: str, b: str) -> int:
    """A length within which a path both patterns match exists, if any does.

    In a common path, a segment that both patterns match with `**` can be
    deleted and both still match; so a shortest common path has every segment
    consumed by a non-`**` token of a or of b.
    """
    return sum(t != "**" for t in _tokens(a)) + sum(t != "**" for t in _tokens(b))


def ref_covers(outer: str, inner: str) -> bool:
    paths_ = _all_paths(_alphabet(outer, inner), _covers_bound(outer, inner))
    return all(ref_matches(outer, p) for p in paths_ if ref_matches(inner, p))


def ref_intersects(a: str, b: str) -> bool:
    paths_ = _all_paths(_alphabet(a, b), _intersects_bound(a, b))
    return any(ref_matches(a, p) and ref_matches(b, p) for p in paths_)


# -- properties -----------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(patterns, paths)
@example("*", ["a", "b", "c"])
@example("a/**", ["a"])
@example("**/*", [])
def test_matches_agrees_with_reference(pattern, path):
    assert matches(pattern, "/".join(path)) == ref_matches(pattern, path)


# Long patterns: the automata's state sets grow past eight states, where a set's
# iteration order stops being ascending (a step that stopped at the accepting
# state dropped the states after it).
long_patterns = st.lists(st.sampled_from(["a", "*", "**"]), min_size=1, max_size=10).map("/".join)
long_paths = st.lists(st.just("a"), min_size=0, max_size=12)


@settings(max_examples=300, deadline=None)
@given(long_patterns, long_paths)
@example("a/a/a/a/a/a/a/**", ["a"] * 8)
@example("a/a/a/a/a/a/**/a", ["a"] * 9)
def test_matches_long_patterns_agrees_with_reference(pattern, path):
    assert matches(pattern, "/".join(path)) == ref_matches(pattern, path)


def test_covers_long_pattern():
    assert covers("a/a/a/a/a/a/a/**", "a/a/a/a/a/a/a/a")
    assert intersects("a/a/a/a/a/a/a/**", "a/a/a/a/a/a/a/a/a")


@pytest.mark.parametrize("literal", ["\x00", "\x01", "\u202e", "\ufeff"])
def test_no_literal_stands_for_the_unmentioned_segments(literal):
    # Segments the service refuses today may sit in an older database: a
    # literal must never be taken for "any other segment".
    assert not covers(f"{literal}/**", "*/**")
    assert not covers(f"apps/{literal}", "apps/*")
    assert covers("*/**", f"{literal}/**")
    assert not intersects(f"{literal}", "crm")


@settings(max_examples=250, deadline=None)
@given(patterns, patterns)
@example("**/*", "*/**")
@example("*/**", "**")
@example("**/a/**", "*/*/*")
def test_covers_agrees_with_reference(outer, inner):
    assert covers(outer, inner) == ref_covers(outer, inner)


@settings(max_examples=250, deadline=None)
@given(patterns, patterns)
@example("a/**", "**/b")
@example("*/a", "a/*")
@example("a/*", "*/b/c")
def test_intersects_agrees_with_reference(a, b):
    assert intersects(a, b) == ref_intersects(a, b)


@settings(max_examples=200, deadline=None)
@given(patterns, patterns, paths)
def test_covers_is_consistent_with_matches(outer, inner, path):
    joined = "/".join(path)
    if covers(outer, inner) and matches(inner, joined):
        assert matches(outer, joined)
    if matches(outer, joined) and matches(inner, joined):
        assert intersects(outer, inner)


def test_reference_bounds_are_tight_enough_to_matter():
    # Guards the reference itself: a bound of 0 would make every covers true.
    assert not ref_covers("*/*/*", "**/a/**")
    assert not ref_covers("a/**", "**")
    assert ref_covers("**", "a/*/b")
    assert not ref_intersects("a/*", "b/**")
    assert ref_intersects("a/**", "**/b")


# -- the rules of the brief, by example -----------------------------------------


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        # a literal matches itself
        ("apps/crm", "apps/crm", True),
        ("apps/crm", "apps/wiki", False),
        ("apps/crm", "apps/crm/roles", False),
        # `*` is exactly one segment
        ("apps/*", "apps/crm", True),
        ("apps/*", "apps", False),
        ("apps/*", "apps/crm/roles", False),
        ("apps/*/authz/*", "apps/crm/authz/alice@example.com", True),
        # `**` is zero or more segments
        ("apps/**", "apps", True),
        ("apps/**", "apps/crm", True),
        ("apps/**", "apps/crm/roles/admin", True),
        ("apps/**/admin", "apps/admin", True),
        ("apps/**/admin", "apps/crm/roles/admin", True),
        ("apps/**/admin", "apps/crm/roles/viewer", False),
        ("apps/**", "users/alice@example.com", False),
        # `apps/crm/**` matches `apps/crm` itself
        ("apps/crm/**", "apps/crm", True),
        ("apps/crm/**", "apps/crm/authz/bob@example.com", True),
        ("apps/crm/**", "apps/crmx", False),
        # `*` or `**` alone matches everything
        ("*", "audit", True),
        ("*", "apps/crm/roles/admin", True),
        ("**", "audit", True),
        ("**", "apps/crm/members/alice@example.com", True),
        # no partial-segment wildcards: `cr*` is a literal
        ("apps/cr*", "apps/crm", False),
        ("apps/cr*", "apps/cr*", True),
        ("apps/cr*/**", "apps/crm/roles/admin", False),
        ("a*/**", "apps/crm", False),
        ("apps/?rm", "apps/crm", False),
        ("apps/[c]rm", "apps/crm", False),
    ],
)
def test_matches_examples(pattern, path, expected):
    assert matches(pattern, path) is expected


@pytest.mark.parametrize(
    "outer, inner, expected",
    [
        ("apps/**", "apps/crm/**", True),
        ("apps/crm/**", "apps/**", False),
        ("**/*", "*/**", True),
        ("*/**", "**/*", True),
        ("**", "apps/crm/**", True),
        ("*", "apps/crm/**", True),
        ("**", "*", True),
        ("*", "**", True),
        ("apps/*/authz/**", "apps/crm/authz/**", True),
        ("apps/crm/authz/**", "apps/*/authz/**", False),
        ("apps/*", "apps/**", False),  # `apps/**` also matches `apps` and deeper paths
        ("apps/**", "apps/*", True),
        ("apps/crm/**", "apps/crm", True),
        ("apps/crm", "apps/crm/**", False),
        ("apps/cr*/**", "apps/crm/**", False),  # a literal, not a wildcard
        ("apps/crm/**", "apps/wiki/**", False),
    ],
)
def test_covers_examples(outer, inner, expected):
    assert covers(outer, inner) is expected


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("apps/crm/**", "apps/*/authz/**", True),
        ("apps/crm/**", "apps/wiki/**", False),
        ("apps/*", "users/*", False),
        ("**/admin", "apps/crm/roles/*", True),
        ("apps/*/roles", "apps/crm/**", True),
    ],
)
def test_intersects_examples(a, b, expected):
    assert intersects(a, b) is expected
    assert intersects(b, a) is expected


@pytest.mark.parametrize("pattern", ["apps/crm/**", "**", "*", "audit", "apps/cr*", "users/alice@example.com"])
def test_validate_accepts(pattern):
    assert validate(pattern) == pattern


@pytest.mark.parametrize(
    "pattern",
    ["", "/", "/apps/crm", "apps/crm/", "apps//crm", "apps/crm//**", "apps/c rm", "apps/\tcrm", "apps/crm\n", "a" * 513],
)
def test_validate_rejects(pattern):
    with pytest.raises(InvalidPattern):
        validate(pattern)


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("", "path must be 1 to 512 characters"),
        ("ab/" * 170 + "abc", "path must be 1 to 512 characters"),  # 513 characters, every segment valid
        ("apps//crm", "empty segment in 'apps//crm' (no leading, trailing or double '/')"),
        ("apps/c rm", "invalid segment 'c rm' in 'apps/c rm'"),
    ],
)
def test_validate_says_what_is_wrong(pattern, message):
    # The message reaches the operator in the 422 and the scope editor.
    with pytest.raises(InvalidPattern) as refused:
        validate(pattern)
    assert str(refused.value) == message


def test_validate_accepts_512_characters():
    pattern = ("ab/" * 171)[:-1]
    assert len(pattern) == 512
    assert validate(pattern) == pattern


def test_operations():
    assert scopes.allows(["read"], "read")
    assert not scopes.allows(["read"], "write")
    assert scopes.allows(["*"], "delete")
    assert scopes.ops_cover(["*"], ["read", "write"])
    assert scopes.ops_cover(["read", "write"], ["read"])
    assert scopes.ops_cover(["read"], ["read"])  # equal sets: a key may hand on what it holds
    assert not scopes.ops_cover(["read"], ["read", "write"])
    assert not scopes.ops_cover(["read"], ["*"])
