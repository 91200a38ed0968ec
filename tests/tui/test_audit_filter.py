"""The audit log's filter line, read into the endpoint's parameters (pure: no service, no app)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pepyhat_tui.audit_filter import AuditFilter, FilterError, parse

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)


def test_every_field_at_once():
    got = parse("actor:alice action:key.* target:apps/crm/** since:2h until:2026-12-01", NOW)
    assert got == AuditFilter(
        actor="alice", action="key.*", target="apps/crm/**", since=NOW - timedelta(hours=2),
        until=datetime(2026, 12, 1, tzinfo=timezone.utc),
    )
    assert got.params() == {
        "actor": "alice", "action": "key.*", "target": "apps/crm/**",
        "since": "2025-06-02T07:30:00+00:00", "until": "2026-12-01T00:00:00+00:00",
    }


def test_nothing_typed_is_no_filter():
    assert parse("", NOW) == AuditFilter() and not parse(None, NOW) and parse("  ", NOW).params() == {}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("7d", NOW - timedelta(days=7)),
        ("45m", NOW - timedelta(minutes=45)),
        ("2025-06-01", datetime(2025, 6, 1, tzinfo=timezone.utc)),  # a date: midnight UTC
        ("2025-06-01T10:00Z", datetime(2025, 6, 1, 10, tzinfo=timezone.utc)),
        ("2025-06-01T12:00:00+02:00", datetime(2025, 6, 1, 10, tzinfo=timezone.utc)),
        ("2025-06-01T10:00", datetime(2025, 6, 1, 10, tzinfo=timezone.utc)),  # no offset: UTC
    ],
)
def test_since_and_until_read_durations_dates_and_instants(value, expected):
    got = parse(f"since:{value}", NOW).since
    assert got == expected and got.utcoffset() == timedelta(0)
    assert parse(f"until:{value}", NOW).until == expected


@pytest.mark.parametrize(
    "word, field, value",
    [
        ("apps/crm/**", "target", "apps/crm/**"),
        ("alice@example.com", "target", "**/alice@example.com/**"),  # everything about that user
        ("key.*", "action", "key.*"),
        ("user.create", "action", "user.create"),
        ("grant*", "action", "grant*"),
        ("ops-admin", "actor", "ops-admin"),
        ("Ops.Admin", "actor", "Ops.Admin"),  # not an action's shape (capitals)
    ],
)
def test_a_bare_word_is_read_by_its_shape(word, field, value):
    assert parse(word, NOW).params() == {field: value}


def test_a_quoted_actor_keeps_its_spaces_and_fields_ignore_case():
    assert parse('Actor:"tester (embedded)" ACTION:user.*', NOW).params() == {
        "actor": "tester (embedded)", "action": "user.*",
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("since:yesterday", "since: 'yesterday' is not a duration (2h, 7d), a date"),
        ("until:2025-13-01", "until: '2025-13-01' is not a duration"),
        ("since:5x", "since: invalid duration '5x'"),
        ("since:999999999w", "since: duration '999999999w' is too long"),
        ("since:1h until:2h", "is not before until"),
        ("target:apps//crm", "target: empty segment"),
        ("action:key.*.rotate", "action: '*' only at the end"),
        ("actor:", "actor: needs a value (actor:alice)"),
        ("actor:a actor:b", "actor: given twice"),
        ("alice bob", "actor: given twice"),
        ('actor:"unclosed', "a quote is not closed"),
        ("actor:" + "x" * 201, "actor: at most 200 characters"),
    ],
)
def test_a_bad_filter_says_what_is_wrong_in_one_line(text, message):
    with pytest.raises(FilterError) as caught:
        parse(text, NOW)
    assert message in str(caught.value) and "\n" not in str(caught.value)
