"""``last_used_at``, ``last_used_from`` and ``refused_since_revoke``: batched in memory, flushed, never written per request."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.store.tables import Key
from pepyhat.usage import UsageTracker
from tests.servers import ServerThread, wait_for
from tests.service.test_dataplane import assert_error, expire_key, revoke, seeded_app, unknown_key

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


def last_used(service, key_id: str) -> datetime | None:
    with service.engine.connect() as conn:
        return conn.execute(select(Key.last_used_at).where(Key.id == key_id)).scalar_one()


@pytest.fixture
def quiet_node(service):
    """A second node on the service's database whose background flush never fires during a test.

    The shared service flushes every 0.2 s, so "not written yet" could not be
    observed there; here only an explicit ``flush()`` (or shutdown) writes.
    """
    app = create_app(Settings(database_url=service.database_url, redis_url=None, usage_flush_seconds=3600))
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield app.state.runtime, client


def test_not_written_per_request_until_flushed(service, make, admin, quiet_node):
    runtime, client = quiet_node
    app = seeded_app(make)
    email = make.user()
    created = make.key(app)
    before = datetime.now(timezone.utc)

    response = client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": created["key"]})

    after = datetime.now(timezone.utc)
    assert response.status_code == 200, response.text
    assert last_used(service, created["id"]) is None
    assert runtime.usage.pending() == 1

    assert runtime.usage.flush() == 1

    used = last_used(service, created["id"])
    assert used is not None and before <= used <= after
    assert runtime.usage.pending() == 0
    shown = admin.get(f"/api/v1/keys/{created['id']}").json()["last_used_at"]
    assert datetime.fromisoformat(shown) == used


def test_second_request_within_a_minute_queues_nothing(service, make, quiet_node):
    runtime, client = quiet_node
    app = seeded_app(make)
    email = make.user()
    created = make.key(app)

    def ask() -> None:
        response = client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": created["key"]})
        assert response.status_code == 200, response.text

    ask()
    assert runtime.usage.flush() == 1
    first = last_used(service, created["id"])

    ask()
    assert runtime.usage.pending() == 0
    assert runtime.usage.flush() == 0
    assert last_used(service, created["id"]) == first


def test_admin_tokens_and_validate_are_batched_too(service, make, quiet_node):
    runtime, client = quiet_node
    token = make.key(capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    app_key = make.key(seeded_app(make))

    assert client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token['key']}"}).status_code == 200
    assert client.get("/api/v1/auth/validate", headers={"X-API-Key": app_key["key"]}).status_code == 200

    assert (last_used(service, token["id"]), last_used(service, app_key["id"])) == (None, None)
    assert runtime.usage.flush() == 2
    assert last_used(service, token["id"]) is not None
    assert last_used(service, app_key["id"]) is not None


def test_shutdown_flushes_what_is_pending(service, make):
    app = seeded_app(make)
    created = make.key(app)
    node = create_app(Settings(database_url=service.database_url, redis_url=None, usage_flush_seconds=3600))
    with ServerThread(node) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": created["key"]})
        assert response.status_code == 200, response.text
        assert last_used(service, created["id"]) is None

    assert last_used(service, created["id"]) is not None


def test_running_service_flushes_in_the_background(service, make):
    app = seeded_app(make)
    created = make.key(app)
    with service.anonymous() as client:
        response = client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": created["key"]})
    assert response.status_code == 200, response.text

    # The service flushes every 0.2 s; wait for it, bounded so a broken flush fails.
    deadline = time.monotonic() + 15
    while last_used(service, created["id"]) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_used(service, created["id"]) is not None


# -- UsageTracker, with explicit times ---------------------------------------------------


def test_note_once_a_minute_per_key(service, make):
    key_id = make.key(seeded_app(make))["id"]
    other_id = make.key(seeded_app(make))["id"]
    tracker = UsageTracker(service.engine)

    tracker.note(key_id, T0)
    tracker.note(key_id, T0 + timedelta(seconds=59))  # within the minute: nothing new
    tracker.note(other_id, T0 + timedelta(seconds=30))  # another key is its own
    assert tracker.pending() == 2
    assert tracker.flush() == 2
    assert last_used(service, key_id) == T0
    assert last_used(service, other_id) == T0 + timedelta(seconds=30)

    tracker.note(key_id, T0 + timedelta(seconds=59, microseconds=999_999))
    assert tracker.pending() == 0
    tracker.note(key_id, T0 + timedelta(minutes=1))
    assert tracker.pending() == 1
    assert tracker.flush() == 1
    assert last_used(service, key_id) == T0 + timedelta(minutes=1)
    assert tracker.flush() == 0


def test_flush_never_moves_last_used_backwards(service, make):
    """Two nodes flushing in either order leave the later use."""
    key_id = make.key(seeded_app(make))["id"]
    early, late = UsageTracker(service.engine), UsageTracker(service.engine)
    late.note(key_id, T0 + timedelta(minutes=5))
    early.note(key_id, T0)

    assert late.flush() == 1
    assert early.flush() == 1
    assert last_used(service, key_id) == T0 + timedelta(minutes=5)


# -- forensics: where from, and a dead key still tried ---------------------------------


def forensics(service, key_id: str) -> tuple[datetime | None, str | None, int]:
    with service.engine.connect() as conn:
        row = conn.execute(
            select(Key.last_used_at, Key.last_used_from, Key.refused_since_revoke).where(Key.id == key_id)
        ).one()
    return tuple(row)


def test_a_use_records_where_it_came_from(service, make, admin, quiet_node):
    runtime, client = quiet_node
    app = seeded_app(make)
    created = make.key(app)
    response = client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": created["key"]})
    assert response.status_code == 200, response.text
    assert forensics(service, created["id"])[1:] == (None, 0)

    assert runtime.usage.flush() == 1

    used_at, used_from, refused = forensics(service, created["id"])
    assert (used_from, refused) == ("127.0.0.1", 0) and used_at is not None
    shown = admin.get(f"/api/v1/keys/{created['id']}").json()
    assert (shown["last_used_from"], shown["refused_since_revoke"]) == ("127.0.0.1", 0)


def test_a_revoked_key_tried_three_times(service, make, admin, quiet_node):
    """Refused as before (403 key_revoked), counted in memory, written by the flush with its address."""
    runtime, client = quiet_node
    app = seeded_app(make)
    created = make.key(app)
    revoke(admin, created["id"])

    for _ in range(3):
        response = client.get(
            "/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": created["key"]}
        )
        assert_error(response, 403, "key_revoked")
    assert forensics(service, created["id"]) == (None, None, 0)  # nothing written per request
    assert runtime.usage.pending() == 1

    assert runtime.usage.flush() == 1

    used_at, used_from, refused = forensics(service, created["id"])
    assert (used_from, refused) == ("127.0.0.1", 3) and used_at is not None
    shown = admin.get(f"/api/v1/keys/{created['id']}").json()
    assert (shown["status"], shown["refused_since_revoke"], shown["last_used_from"]) == ("revoked", 3, "127.0.0.1")
    assert runtime.usage.flush() == 0  # written once


def test_a_revoked_admin_token_is_refused_as_before_and_counted(service, make, admin, quiet_node):
    runtime, client = quiet_node
    token = make.key(capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    revoke(admin, token["id"])

    for attempt in (
        lambda: client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token['key']}"}),
        lambda: client.get("/api/v1/keys", headers={"Authorization": f"Bearer {token['key']}"}),
        lambda: client.get("/api/v1/auth/validate", headers={"Authorization": f"Bearer {token['key']}"}),
    ):
        response = attempt()
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["details"] == {"reason": "key_revoked"}

    assert runtime.usage.flush() == 1
    assert forensics(service, token["id"])[1:] == ("127.0.0.1", 3)


def test_an_expired_key_counts_too(service, make, quiet_node):
    runtime, client = quiet_node
    app = seeded_app(make)
    app_key = make.key(app)
    token = make.key(capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    expire_key(service, app_key["id"])
    expire_key(service, token["id"])

    data_plane = client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": app_key["key"]})
    assert_error(data_plane, 403, "key_expired")
    admin_plane = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token['key']}"})
    assert admin_plane.status_code == 401 and admin_plane.json()["error"]["details"] == {"reason": "key_expired"}

    assert runtime.usage.flush() == 2
    assert forensics(service, app_key["id"])[2] == 1
    assert forensics(service, token["id"])[2] == 1


def test_live_and_unknown_keys_count_no_refusal(service, make, quiet_node):
    runtime, client = quiet_node
    app = seeded_app(make)
    live = make.key(app)
    other = make.key(seeded_app(make))  # live, but not for this app: refused, yet not dead
    for key in (live["key"], other["key"], unknown_key()):
        client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": key})
    runtime.usage.flush()
    assert forensics(service, live["id"])[2] == 0
    assert forensics(service, other["id"])[2] == 0


def test_refusals_from_two_nodes_add_up(service, make, admin):
    """Each node counts its own; the flush adds (refused_since_revoke + n), never overwrites."""
    key_id = make.key(seeded_app(make))["id"]
    revoke(admin, key_id)
    one, two = UsageTracker(service.engine), UsageTracker(service.engine)
    for _ in range(2):
        one.refused(key_id, T0, "10.0.0.1")
    for _ in range(3):
        two.refused(key_id, T0 + timedelta(seconds=1), "10.0.0.2")

    assert one.flush() == 1 and two.flush() == 1
    assert forensics(service, key_id) == (T0 + timedelta(seconds=1), "10.0.0.2", 5)

    one.refused(key_id, T0 + timedelta(seconds=2), "10.0.0.1")
    assert one.flush() == 1
    assert forensics(service, key_id) == (T0 + timedelta(seconds=2), "10.0.0.1", 6)


def test_the_later_use_keeps_its_address_whichever_node_flushes_last(service, make):
    key_id = make.key(seeded_app(make))["id"]
    early, late = UsageTracker(service.engine), UsageTracker(service.engine)
    late.note(key_id, T0 + timedelta(minutes=5), "10.0.0.5")
    early.note(key_id, T0, "10.0.0.1")
    assert late.flush() == 1 and early.flush() == 1
    assert forensics(service, key_id)[:2] == (T0 + timedelta(minutes=5), "10.0.0.5")


def test_a_refusal_is_noted_within_the_minute_of_a_use(service, make):
    """The minute's rule spares writes for live keys; a dead key's attempt is what the operator looks for."""
    key_id = make.key(seeded_app(make))["id"]
    tracker = UsageTracker(service.engine)
    tracker.note(key_id, T0, "10.0.0.1")
    assert tracker.flush() == 1
    tracker.refused(key_id, T0 + timedelta(seconds=10), "203.0.113.9")
    assert tracker.flush() == 1
    assert forensics(service, key_id) == (T0 + timedelta(seconds=10), "203.0.113.9", 1)


def test_a_failed_flush_keeps_what_it_held(service, make, tmp_path):
    key_id = make.key(seeded_app(make))["id"]
    broken = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no keys table: the flush fails
    tracker = UsageTracker(broken)
    tracker.refused(key_id, T0, "10.0.0.1")
    tracker.refused(key_id, T0, "10.0.0.1")
    with pytest.raises(OperationalError):
        tracker.flush()
    assert tracker.pending() == 1
    tracker.refused(key_id, T0 + timedelta(seconds=1), "10.0.0.2")  # noted while it was down

    tracker._engine = service.engine  # the database is back
    assert tracker.flush() == 1
    assert forensics(service, key_id) == (T0 + timedelta(seconds=1), "10.0.0.2", 3)


def test_shutdown_flushes_refusals(service, make, admin):
    app = seeded_app(make)
    created = make.key(app)
    revoke(admin, created["id"])
    node = create_app(Settings(database_url=service.database_url, redis_url=None, usage_flush_seconds=3600))
    with ServerThread(node) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        response = client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": created["key"]})
        assert_error(response, 403, "key_revoked")
        assert forensics(service, created["id"])[2] == 0

    assert forensics(service, created["id"])[1:] == ("127.0.0.1", 1)


def test_the_background_flush_writes_refusals(service, make, admin):
    app = seeded_app(make)
    created = make.key(app)
    revoke(admin, created["id"])
    with service.anonymous() as client:
        response = client.get("/api/v1/authz/someone@example.com", params={"app": app}, headers={"X-API-Key": created["key"]})
    assert_error(response, 403, "key_revoked")
    wait_for(lambda: forensics(service, created["id"])[2] == 1, "the background flush of a refusal")
