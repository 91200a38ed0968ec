"""The audit trail: one event per admin write and per key lookup, its filters, and retention.

The writes are made with a token minted for the test, so ``actor=<its id>``
isolates this test's events on the shared server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import insert, select

from pepyhat.audit import prune
from pepyhat.config import Settings
from pepyhat.schemas import CAPABILITIES
from pepyhat.store.db import make_engine, migrate
from pepyhat.store.tables import AuditEvent
from tests.conftest import create_postgres_database, need
from tests.service.conftest import PLAINTEXT, unique

# Everything a superadmin may touch, spelled out so that this token is not one: it
# must not count towards the last-superadmin guard that other tests exercise.
ACTOR_SCOPES = [
    {"path": "apps/**", "operations": ["*"]},
    {"path": "users/**", "operations": ["*"]},
    {"path": "tokens/**", "operations": ["*"]},
    {"path": "audit", "operations": ["read"]},
]
WRITE_ACTIONS = {
    "app.create", "app.update", "app.delete",
    "permission.create", "permission.delete",
    "role.create", "role.update", "role.delete",
    "user.create", "user.update", "user.deactivate", "user.reactivate", "user.delete",
    "grant.add", "grant.update", "grant.remove",
    "key.create", "key.update", "key.revoke", "key.rotate", "key.lookup",
}


@dataclass
class Actor:
    id: str
    name: str
    client: httpx.Client


@pytest.fixture
def actor(service, make):
    name = unique("auditor")
    token = make.key(name=name, capabilities=list(CAPABILITIES), scopes=ACTOR_SCOPES)
    with service.client(token["key"]) as client:
        yield Actor(token["id"], name, client)


def events(client: httpx.Client, **params) -> list[dict]:
    """Every event matching the filters, newest first, across all pages."""
    out, cursor = [], None
    while True:
        response = client.get("/api/v1/audit", params={**params, "limit": 500, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        out.extend(page["data"])
        if not page["has_more"]:
            return out
        cursor = page["next_cursor"]


@dataclass
class Recorder:
    """Makes writes and notes the events each should leave, oldest first."""

    client: httpx.Client
    expected: list[tuple[str, str, str]] = field(default_factory=list)  # (action, target, request id)
    plaintexts: list[str] = field(default_factory=list)

    def write(self, method: str, url: str, status: int, **kwargs) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        assert response.status_code == status, response.text
        self.plaintexts += PLAINTEXT.findall(response.text)
        return response

    def expect(self, response: httpx.Response, *events: tuple[str, str]) -> None:
        self.expected += [(action, target, response.headers["x-request-id"]) for action, target in events]


@dataclass
class Trail:
    app: str
    email: str
    key: dict
    successor: dict
    recorder: Recorder
    events: list[dict]  # this actor's events, newest first


@pytest.fixture
def trail(actor) -> Trail:
    """Every kind of write, made by ``actor``, and the events they left."""
    rec = Recorder(actor.client)
    app, email = unique("aud"), f"{unique('aud')}@example.com"
    role, grant = f"apps/{app}/roles/viewer", f"apps/{app}/members/{email}/roles/viewer"

    r = rec.write("POST", "/api/v1/apps", 201, json={"slug": app, "name": "Audit"})
    rec.expect(r, ("app.create", f"apps/{app}"))
    r = rec.write("PATCH", f"/api/v1/apps/{app}", 200, json={"name": "Audited"})
    rec.expect(r, ("app.update", f"apps/{app}"))
    for perm in ("users.read", "users.write"):
        r = rec.write("POST", f"/api/v1/apps/{app}/permissions", 201, json={"slug": perm})
        rec.expect(r, ("permission.create", f"apps/{app}/permissions/{perm}"))
    r = rec.write("POST", f"/api/v1/apps/{app}/roles", 201, json={"slug": "viewer", "name": "Viewer", "permissions": ["users.read"]})
    rec.expect(r, ("role.create", role))
    r = rec.write("PATCH", f"/api/v1/{role}", 200, json={"permissions": ["users.read", "users.write"]})
    rec.expect(r, ("role.update", role))

    r = rec.write("POST", "/api/v1/users", 201, json={"email": email.upper(), "name": "Ann"})
    rec.expect(r, ("user.create", f"users/{email}"))
    r = rec.write("PATCH", f"/api/v1/users/{email}", 200, json={"name": "Ann B"})
    rec.expect(r, ("user.update", f"users/{email}"))
    r = rec.write("PATCH", f"/api/v1/users/{email}", 200, json={"active": False})
    rec.expect(r, ("user.deactivate", f"users/{email}"))
    r = rec.write("PATCH", f"/api/v1/users/{email}", 200, json={"active": True})
    rec.expect(r, ("user.reactivate", f"users/{email}"))

    r = rec.write("PUT", f"/api/v1/{grant}", 200)
    rec.expect(r, ("grant.add", grant))
    until = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0).isoformat()
    r = rec.write("PUT", f"/api/v1/{grant}", 200, json={"expires_at": until})
    rec.expect(r, ("grant.update", grant))
    rec.write("PUT", f"/api/v1/{grant}", 200, json={"expires_at": until})  # no change: nothing to record
    r = rec.write("DELETE", f"/api/v1/{grant}", 204)
    rec.expect(r, ("grant.remove", grant))
    rec.write("DELETE", f"/api/v1/{grant}", 204)  # already gone: nothing to record

    r = rec.write("POST", "/api/v1/keys", 201, json={"name": "gw", "app": app})
    key = r.json()
    old = f"apps/{app}/keys/{key['id']}"
    rec.expect(r, ("key.create", old))
    r = rec.write("PATCH", f"/api/v1/keys/{key['id']}", 200, json={"name": "gateway"})
    rec.expect(r, ("key.update", old))
    # A request id the caller chose is kept, and both events of the rotation share it.
    r = rec.write("POST", f"/api/v1/keys/{key['id']}/rotate", 201, json={"grace": "0s"}, headers={"X-Request-ID": unique("rotate")})
    successor = r.json()
    new = f"apps/{app}/keys/{successor['id']}"
    rec.expect(r, ("key.rotate", old), ("key.create", new))
    r = rec.write("POST", "/api/v1/keys/lookup", 200, json={"key": successor["key"]})
    rec.expect(r, ("key.lookup", new))
    r = rec.write("POST", "/api/v1/keys/lookup", 200, json={"start": successor["start"]})
    rec.expect(r, ("key.lookup", new))
    r = rec.write("POST", "/api/v1/keys/lookup", 200, json={"start": "phk_zzzzzz"})
    rec.expect(r, ("key.lookup", "keys"))  # no match: still recorded
    r = rec.write("DELETE", f"/api/v1/keys/{successor['id']}", 200, params={"reason": "done"})
    rec.expect(r, ("key.revoke", new))

    r = rec.write("DELETE", f"/api/v1/{role}", 204)
    rec.expect(r, ("role.delete", role))
    r = rec.write("DELETE", f"/api/v1/apps/{app}/permissions/users.write", 204)
    rec.expect(r, ("permission.delete", f"apps/{app}/permissions/users.write"))
    r = rec.write("DELETE", f"/api/v1/users/{email}", 204)
    rec.expect(r, ("user.delete", f"users/{email}"))
    r = rec.write("POST", "/api/v1/keys", 201, json={"name": "last", "app": app})
    last = f"apps/{app}/keys/{r.json()['id']}"
    rec.expect(r, ("key.create", last))
    r = rec.write("DELETE", f"/api/v1/apps/{app}", 204, params={"force": "true"})
    rec.expect(r, ("key.revoke", last), ("app.delete", f"apps/{app}"))

    return Trail(app, email, key, successor, rec, events(actor.client, actor=actor.id))


def by_action(trail: Trail, action: str) -> list[dict]:
    return [e for e in trail.events if e["action"] == action]


# -- one event per write -------------------------------------------------------


def test_every_write_leaves_one_event(trail, actor):
    got = [(e["action"], e["target"], e["request_id"]) for e in trail.events]
    assert got == list(reversed(trail.recorder.expected))
    assert {action for action, _, _ in got} == WRITE_ACTIONS


def test_each_event_names_actor_request_and_client(trail, actor):
    ids = [e["id"] for e in trail.events]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)  # newest first
    moments = [datetime.fromisoformat(e["at"]) for e in trail.events]
    assert moments == sorted(moments, reverse=True)
    assert all(m.tzinfo is not None for m in moments)
    for event in trail.events:
        assert (event["actor_id"], event["actor_name"]) == (actor.id, actor.name), event
        assert event["client"] == "127.0.0.1", event
    # One request id per request: only the rotation and the forced app delete wrote twice.
    actions_by_request: dict[str, list[str]] = {}
    for event in trail.events:
        actions_by_request.setdefault(event["request_id"], []).append(event["action"])
    shared = sorted(sorted(actions) for actions in actions_by_request.values() if len(actions) > 1)
    assert shared == [["app.delete", "key.revoke"], ["key.create", "key.rotate"]]
    assert by_action(trail, "key.rotate")[0]["request_id"].startswith("rotate-")  # the caller's own id


def test_before_and_after(trail):
    app, email = trail.app, trail.email
    (created,) = by_action(trail, "app.create")
    assert created["before"] is None and created["after"]["slug"] == app and created["after"]["name"] == "Audit"
    (updated,) = by_action(trail, "app.update")
    assert (updated["before"]["name"], updated["after"]["name"]) == ("Audit", "Audited")
    (deleted,) = by_action(trail, "app.delete")
    assert deleted["after"] is None and deleted["before"]["slug"] == app and deleted["before"]["active_key_count"] == 1

    (role,) = by_action(trail, "role.update")
    assert (role["before"]["permissions"], role["after"]["permissions"]) == (["users.read"], ["users.read", "users.write"])
    (role_deleted,) = by_action(trail, "role.delete")
    assert role_deleted["before"]["permissions"] == ["users.read", "users.write"] and role_deleted["after"] is None

    (user,) = by_action(trail, "user.create")
    assert user["before"] is None and user["after"]["email"] == email
    (renamed,) = by_action(trail, "user.update")
    assert (renamed["before"]["name"], renamed["after"]["name"]) == ("Ann", "Ann B")
    (off,) = by_action(trail, "user.deactivate")
    assert (off["before"]["active"], off["after"]["active"]) == (True, False)
    (on,) = by_action(trail, "user.reactivate")
    assert (on["before"]["active"], on["after"]["active"]) == (False, True)
    (user_deleted,) = by_action(trail, "user.delete")
    assert user_deleted["before"]["email"] == email and user_deleted["after"] is None

    (added,) = by_action(trail, "grant.add")
    assert added["before"] is None and (added["after"]["role"], added["after"]["expires_at"]) == ("viewer", None)
    (changed,) = by_action(trail, "grant.update")
    assert changed["before"]["expires_at"] is None and changed["after"]["expires_at"] is not None
    (removed,) = by_action(trail, "grant.remove")
    assert removed["before"]["expires_at"] == changed["after"]["expires_at"] and removed["after"] is None

    (key_update,) = by_action(trail, "key.update")
    assert (key_update["before"]["name"], key_update["after"]["name"]) == ("gw", "gateway")
    (rotate,) = by_action(trail, "key.rotate")
    assert (rotate["before"]["status"], rotate["after"]["status"]) == ("active", "expired")
    successor_create = by_action(trail, "key.create")[1]
    assert successor_create["after"]["id"] == trail.successor["id"]
    assert successor_create["after"]["rotated_from"] == trail.key["id"]
    revoke = [e for e in by_action(trail, "key.revoke") if e["target"].endswith(trail.successor["id"])][0]
    assert (revoke["before"]["status"], revoke["after"]["status"], revoke["after"]["revoke_reason"]) == ("active", "revoked", "done")
    lookups = by_action(trail, "key.lookup")
    assert [lookup["after"] for lookup in lookups] == [
        {"by": "start", "matches": []},
        {"by": "start", "matches": [trail.successor["id"]]},
        {"by": "key", "matches": [trail.successor["id"]]},
    ]


def test_no_plaintext_key_in_the_trail(trail):
    assert len(trail.recorder.plaintexts) == 3  # the two creates and the rotation showed theirs
    dump = json.dumps(trail.events)
    for plaintext in trail.recorder.plaintexts:
        assert plaintext not in dump
    assert not PLAINTEXT.search(dump)


# -- filters -------------------------------------------------------------------


def test_filter_by_actor_name(trail, actor):
    assert events(actor.client, actor=actor.name) == trail.events
    assert events(actor.client, actor=unique("nobody")) == []


def test_filter_by_action_exact_and_prefix(trail, actor):
    mine = {"actor": actor.id}
    assert events(actor.client, action="user.update", **mine) == by_action(trail, "user.update")
    assert events(actor.client, action="key.*", **mine) == [e for e in trail.events if e["action"].startswith("key.")]
    assert events(actor.client, action="grant.*", **mine) == [e for e in trail.events if e["action"].startswith("grant.")]
    assert [e["action"] for e in events(actor.client, action="user.*", **mine)] == [
        "user.delete", "user.reactivate", "user.deactivate", "user.update", "user.create",
    ]
    assert events(actor.client, action="key", **mine) == []  # exact unless it ends in '*'
    assert events(actor.client, action="k*", **mine) == [e for e in trail.events if e["action"].startswith("k")]


def test_filter_by_target_glob(trail, actor):
    app, mine = trail.app, {"actor": actor.id}

    def targets(pattern):
        return [e["target"] for e in events(actor.client, target=pattern, **mine)]

    assert targets(f"apps/{app}") == [f"apps/{app}"] * 3  # delete, update, create
    everything_in_app = [e["target"] for e in trail.events if e["target"].startswith(f"apps/{app}")]
    assert targets(f"apps/{app}/**") == everything_in_app
    assert targets(f"apps/{app}/keys/*") == [t for t in everything_in_app if t.startswith(f"apps/{app}/keys/")]
    assert targets("apps/*/roles/viewer") == [f"apps/{app}/roles/viewer"] * 3
    assert targets(f"users/{trail.email}") == [f"users/{trail.email}"] * 5
    assert targets("keys") == ["keys"]
    assert targets("**") == [e["target"] for e in trail.events]
    assert targets(f"apps/{app}/members/*/roles/*") == [f"apps/{app}/members/{trail.email}/roles/viewer"] * 3
    assert targets("apps/cr*") == []  # a partial-segment star is a literal


def test_filter_by_since_and_until(trail, actor):
    chronological = list(reversed(trail.events))
    mine = {"actor": actor.id}
    for k in (0, 5, len(chronological) // 2, len(chronological) - 1):
        at = chronological[k]["at"]
        moment = datetime.fromisoformat(at)
        since = events(actor.client, since=at, **mine)
        until = events(actor.client, until=at, **mine)
        # since is inclusive, until exclusive: together they are the whole trail, once.
        assert since == [e for e in trail.events if datetime.fromisoformat(e["at"]) >= moment]
        assert until == [e for e in trail.events if datetime.fromisoformat(e["at"]) < moment]
        assert chronological[k] in since and chronological[k] not in until
    lo, hi = chronological[3]["at"], chronological[9]["at"]
    window = events(actor.client, since=lo, until=hi, action="*", **mine)
    assert window == [e for e in trail.events if datetime.fromisoformat(lo) <= datetime.fromisoformat(e["at"]) < datetime.fromisoformat(hi)]
    assert len(window) == 6
    later = (datetime.fromisoformat(trail.events[0]["at"]) + timedelta(seconds=1)).isoformat()
    assert events(actor.client, since=later, **mine) == []
    # Offsets other than Z mean the same instant.
    shifted = datetime.fromisoformat(lo).astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()
    assert events(actor.client, since=shifted, **mine) == events(actor.client, since=lo, **mine)


def test_reads_are_not_audited(trail, actor):
    before = events(actor.client, actor=actor.id)
    for url in ("/api/v1/apps", "/api/v1/users", "/api/v1/keys", f"/api/v1/keys/{trail.key['id']}", "/api/v1/audit"):
        assert actor.client.get(url).status_code == 200
    assert events(actor.client, actor=actor.id) == before


# -- retention -----------------------------------------------------------------


@pytest.fixture
def fresh_engine(backend, tmp_path):
    """A database of its own: prune deletes across the whole table."""
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'retention.db'}"
    else:
        url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    engine = make_engine(url)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if drop is not None:
            drop()


def add_events(engine, moments: dict[str, datetime]) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(AuditEvent),
            [{"at": at, "action": "app.update", "target": f"apps/{name}", "actor_name": "tests"} for name, at in moments.items()],
        )


def remaining(engine) -> set[str]:
    with engine.connect() as conn:
        return {t.removeprefix("apps/") for t in conn.scalars(select(AuditEvent.target))}


def test_prune_deletes_only_older_events(fresh_engine):
    now = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)
    cutoff = now - timedelta(days=30)
    add_events(
        fresh_engine,
        {
            "ancient": now - timedelta(days=400),
            "old": now - timedelta(days=31),
            "just-older": cutoff - timedelta(microseconds=1),
            "at-cutoff": cutoff,
            "recent": now - timedelta(days=1),
            "future": now + timedelta(days=1),
        },
    )
    assert prune(fresh_engine, 30, now=now) == 3
    assert remaining(fresh_engine) == {"at-cutoff", "recent", "future"}
    assert prune(fresh_engine, 30, now=now) == 0  # nothing left to prune
    assert prune(fresh_engine, 1, now=now) == 1  # a shorter window takes "at-cutoff"
    assert remaining(fresh_engine) == {"recent", "future"}


def test_prune_defaults_to_the_real_clock_and_365_days(fresh_engine, tmp_path):
    assert Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}").audit_retention_days == 365
    now = datetime.now(timezone.utc)
    add_events(fresh_engine, {"last-year": now - timedelta(days=366), "this-year": now - timedelta(days=364)})
    assert prune(fresh_engine, 365) == 1
    assert remaining(fresh_engine) == {"this-year"}
