"""``GET /api/v1/keys?expires_within=7d``: the active keys that expire soon (the dashboard's flag, filter and count)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.service.test_dataplane import expire_key, revoke


@pytest.fixture
def keys_of_one_app(service, make, admin):
    """An app's keys: expiring in 2 days and in 10, never, revoked (due in 2 days), expired."""
    app = make.app()
    soon = make.key(app, expires_in="2d")["id"]
    later = make.key(app, expires_in="10d")["id"]
    never = make.key(app)["id"]
    revoked = make.key(app, expires_in="2d")["id"]
    revoke(admin, revoked)
    expired = make.key(app, expires_in="1h")["id"]
    expire_key(service, expired)
    return app, {"soon": soon, "later": later, "never": never, "revoked": revoked, "expired": expired}


def listed(admin, **params) -> list[str]:
    response = admin.get("/api/v1/keys", params=params)
    assert response.status_code == 200, response.text
    return [k["id"] for k in response.json()["data"]]


def test_only_active_keys_expiring_within_the_span(service, admin, keys_of_one_app):
    app, ids = keys_of_one_app
    assert listed(admin, app=app, expires_within="7d") == [ids["soon"]]
    assert listed(admin, app=app, expires_within="1w") == [ids["soon"]]
    assert listed(admin, app=app, expires_within="30d") == [ids["later"], ids["soon"]]  # newest first
    assert listed(admin, app=app, expires_within="1d") == []
    assert listed(admin, app=app, expires_within="0s") == []
    assert len(listed(admin, app=app)) == 5  # without it, every key


def test_every_key_shown_expires_within_the_span(service, admin, keys_of_one_app):
    """Across the whole list (other tests' keys too), paged: each row is active and due within 7 days."""
    now = datetime.now(timezone.utc)
    cursor, seen = None, 0
    while True:
        params = {"expires_within": "7d", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/api/v1/keys", params=params).json()
        for key in page["data"]:
            assert key["status"] == "active", key
            assert now < datetime.fromisoformat(key["expires_at"]) <= now + timedelta(days=7, minutes=1), key
        seen += len(page["data"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen >= 1


def test_combines_with_the_other_filters(service, admin, keys_of_one_app):
    app, ids = keys_of_one_app
    assert listed(admin, app=app, expires_within="7d", status="revoked") == []
    assert listed(admin, app=app, expires_within="7d", status="active") == [ids["soon"]]
    assert listed(admin, app=app, expires_within="7d", kind="admin") == []
    token = admin.post("/api/v1/keys", json={"name": "soon-token", "kind": "admin", "capabilities": ["apps.read"], "expires_in": "3d"})
    assert token.status_code == 201, token.text
    assert token.json()["id"] in listed(admin, kind="admin", expires_within="7d", limit=500)
    assert token.json()["id"] in listed(admin, q="soon-token", expires_within="4d")


@pytest.mark.parametrize("value", ["7 days", "abc", "-1d", "7", "d", "1y", "999999999w", "36526d", ""])
def test_a_bad_span_is_a_422_naming_the_parameter(service, admin, value):
    response = admin.get("/api/v1/keys", params={"expires_within": value})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [f["field"] for f in error["details"]["fields"]] == ["query.expires_within"]
    assert error["message"].startswith("query.expires_within: ")


def test_the_longest_span_is_a_century(service, admin, keys_of_one_app):
    app, ids = keys_of_one_app
    assert set(listed(admin, app=app, expires_within="36525d")) == {ids["soon"], ids["later"]}
