"""pepyhat_tui.text: service text shown literally, and counts in words."""

from __future__ import annotations

import pytest

from pepyhat_tui.text import join, literal, plural, printable


@pytest.mark.parametrize(
    "count, noun, expected",
    [(0, "row", "0 rows"), (1, "row", "1 row"), (2, "row", "2 rows"), (1, "member", "1 member"),
     (1, "live role", "1 live role"), (3, "active key", "3 active keys"), (2, "policy", "2 policies")],
)
def test_plural(count, noun, expected):
    irregular = {"policy": "policies"}.get(noun)
    assert plural(count, noun, irregular) == expected


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("Red \x1b[31mALERT", "Red \\x1b[31mALERT"),
        ("title \x1b]0;pwned\x07", "title \\x1b]0;pwned\\x07"),
        ("\x00\x7f\x85\x9b", "\\x00\\x7f\\x85\\x9b"),  # NUL, DEL, NEL and CSI of C1
        ("abc\u202edef", "abc\\u202edef"),  # a right-to-left override
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),  # an isolate
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("tag\U000e0041", "tag\\U000e0041"),  # a tag character, format category
    ],
)
def test_printable_escapes_what_the_terminal_would_obey(raw, shown):
    assert printable(raw) == shown


@pytest.mark.parametrize("kept", ["Évian café", "e\u0301\u0301\u0301", "日本語", "crm 🎩", "[bold]not bold[/]", ""])
def test_printable_keeps_text_a_person_reads(kept):
    assert printable(kept) == kept


def test_none_is_empty():
    assert printable(None) == ""


def test_literal_is_never_markup_and_cuts_with_an_ellipsis():
    assert literal("Evil [/] name").plain == "Evil [/] name"
    assert literal("[red]x[/red]").spans == []
    assert literal("abcdef", limit=4).plain == "abc…"
    assert literal("abcd", limit=4).plain == "abcd"


def test_join_escapes_only_the_service_parts():
    line = join("App ", ("\x1b]0;t\x07", "bold"), " · ", "2 roles")
    assert line.plain == "App \\x1b]0;t\\x07 · 2 roles"
