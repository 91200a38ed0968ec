"""``last_used_at``: batched in memory, written at most once a minute per key."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.store.tables import Key
from pepyhat.usage import UsageTracker
from tests.servers import ServerThread
from tests.service.test_dataplane import seeded_app

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
