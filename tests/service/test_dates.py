"""Dates at and past the calendar's ends: a 422 naming the field, never an OverflowError (a 500).

Two shared rules make it so: ``schemas.Instant`` (an offset, and an instant that
exists in UTC) and the bound on ``schemas.parse_duration`` (at most 100 years).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from pepyhat import schemas
from pepyhat.store.tables import Key
from tests.service.test_bad_input import World, envelope, invalid_field, unchanged, world  # noqa: F401  (fixture)
from tests.service.test_cli import failed, minted, pepyhat

LAST_INSTANT_WEST = "9999-12-31T23:59:59-14:00"  # no such UTC instant: it would be in year 10000
FIRST_INSTANT_EAST = "0001-01-01T00:00:00+14:00"  # nor this one: year 0
LAST_UTC = "9999-12-31T23:59:59Z"
FIRST_UTC = "0001-01-01T00:00:00Z"

OVERFLOWS = [
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_in": "3000000d"}, "expires_in"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_in": "999999999w"}, "expires_in"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_at": LAST_INSTANT_WEST}, "expires_at"),
    ("POST", "/api/v1/keys", {"name": "k", "kind": "admin", "expires_at": LAST_INSTANT_WEST}, "expires_at"),
    ("PATCH", "/api/v1/keys/{key}", {"expires_at": LAST_INSTANT_WEST}, "expires_at"),
    ("PATCH", "/api/v1/keys/{token}", {"expires_at": FIRST_INSTANT_EAST}, "expires_at"),
    ("PUT", "/api/v1/apps/{app}/members/{email}/roles/{role}", {"expires_at": LAST_INSTANT_WEST}, "expires_at"),
    ("PUT", "/api/v1/apps/{app}/members/{email}/roles/{role}", {"expires_at": FIRST_INSTANT_EAST}, "expires_at"),
    ("POST", "/api/v1/keys/{key}/rotate", {"grace": "3000000d"}, "grace"),
    ("POST", "/api/v1/keys/{key}/rotate", {"grace": "36526d"}, "grace"),
]


def fill(template, w: World):
    if isinstance(template, str):
        return template.format(app=w.app, role=w.role, email=w.email, key=w.key_id, token=w.token_id)
    return {k: fill(v, w) for k, v in template.items()}


@pytest.mark.parametrize("method, path, body, field", OVERFLOWS, ids=[f"{m} {p} {b}" for m, p, b, _ in OVERFLOWS])
def test_dates_past_the_calendar_are_422(service, admin, world, method, path, body, field):
    with unchanged(service):
        invalid_field(admin.request(method, fill(path, world), json=fill(body, world)), field)


def test_the_messages_say_what_is_allowed(service, admin, world):
    response = admin.post("/api/v1/keys", json={"name": "k", "app": world.app, "expires_in": "3000000d"})
    assert "at most 100 years" in response.json()["error"]["message"]
    response = admin.put(
        f"/api/v1/apps/{world.app}/members/{world.email}/roles/{world.role}", json={"expires_at": LAST_INSTANT_WEST}
    )
    assert "outside the calendar once converted to UTC" in response.json()["error"]["message"]


@pytest.mark.parametrize("name, value", [("since", FIRST_INSTANT_EAST), ("until", LAST_INSTANT_WEST),
                                         ("since", LAST_INSTANT_WEST), ("until", FIRST_INSTANT_EAST)])
def test_audit_filters_past_the_calendar_are_422(service, admin, name, value):
    with unchanged(service):
        details = envelope(admin.get("/api/v1/audit", params={name: value}), 422, "validation_error")
    assert [f["field"] for f in details["fields"]] == [f"query.{name}"]


def test_the_calendars_own_ends_are_fine(service, admin, world):
    """Control for the cases above: the first and last UTC instants, and a century, are accepted."""
    assert admin.get("/api/v1/audit", params={"since": FIRST_UTC, "until": LAST_UTC}).status_code == 200
    grant = admin.put(f"/api/v1/apps/{world.app}/members/{world.email}/roles/{world.role}", json={"expires_at": LAST_UTC})
    assert grant.status_code == 200 and grant.json()["expires_at"].startswith("9999-12-31T23:59:59")
    century = admin.post("/api/v1/keys", json={"name": "k", "app": world.app, "expires_in": "36525d"})
    assert century.status_code == 201, century.text
    far = admin.post("/api/v1/keys", json={"name": "k", "app": world.app, "expires_at": LAST_UTC})
    assert far.status_code == 201, far.text
    # Made in 2000, it has a lifetime of 8000 years: its successor's is cut to what a duration may be.
    with service.engine.begin() as conn:
        conn.execute(update(Key).where(Key.id == far.json()["id"]).values(created_at=datetime(2000, 1, 1, tzinfo=timezone.utc)))
    rotated = admin.post(f"/api/v1/keys/{far.json()['id']}/rotate", json={"grace": "36525d"})
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["expires_at"] < LAST_UTC
    west = admin.patch(f"/api/v1/keys/{world.key_id}", json={"expires_at": "2999-12-31T23:59:59-14:00"})
    assert west.status_code == 200 and west.json()["expires_at"].startswith("3000-01-01T13:59:59")


def test_parse_duration_is_bounded():
    assert schemas.parse_duration("36525d") == schemas.MAX_DURATION
    for text in ("36526d", "5218w", "876601h", "3000000d", "999999999m", "999999999w"):
        with pytest.raises(ValueError, match="at most 100 years"):
            schemas.parse_duration(text)


def test_instant_normalises_to_utc_and_refuses_naive():
    assert schemas.GrantPut(expires_at="2030-01-01T00:00:00+02:00").expires_at.isoformat() == "2029-12-31T22:00:00+00:00"
    with pytest.raises(schemas.ValidationError, match="needs a UTC offset"):
        schemas.GrantPut(expires_at="2030-01-01T00:00:00")


# -- the CLI -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, says",
    [("3000000d", "at most 100 years"), ("10y", "10y"), ("soon", "soon"), ("0s", "more than 0s")],
)
def test_token_create_with_an_unusable_duration_is_a_usage_error(tmp_path, value, says):
    """One line, exit 2 (DESIGN: 2 on usage error), and no database touched."""
    db = tmp_path / "pepyhat.db"
    result = pepyhat("token", "create", "--name", "x", "--capability", "keys.read", "--expires-in", value, "--db", f"sqlite:///{db}")
    stderr = failed(result, code=2)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pepyhat: --expires-in: ") and says in lines[0], stderr
    assert "Error" not in stderr
    assert not db.exists()


def test_token_create_for_a_century(tmp_path):
    minted(pepyhat("token", "create", "--name", "x", "--capability", "keys.read", "--expires-in", "36525d",
                   "--db", f"sqlite:///{tmp_path / 'pepyhat.db'}"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("45s", timedelta(seconds=45)),
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("1w", timedelta(weeks=1)),
        ("0s", timedelta(0)),  # rotate's grace "0s" kills the old key at once
        ("24h", timedelta(days=1)),
    ],
)
def test_parse_duration(text, expected):
    assert schemas.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "d", "30x", "1y", "-5m", "1.5h", "30 days", "1h30m", "ten s", "1e3s", None])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        schemas.parse_duration(text)
