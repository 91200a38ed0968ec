"""No escalation through keys, and the last superadmin guard.

A token may mint, edit or rotate only keys whose capabilities it holds and
whose every scope one of its own covers (path and operations).  The last
active superadmin token cannot be revoked, shortened or narrowed; those tests
run on a service of their own so the session's shared superadmin is never at
stake.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.schemas import CAPABILITIES
from pepyhat.store import queries
from pepyhat.store.db import make_sessionmaker, transaction
from tests.conftest import create_postgres_database, need
from tests.servers import ServerThread
from tests.service.conftest import SEEN_KEYS, Factory, Service, mint_superadmin

EVERYTHING = [{"path": "**", "operations": ["*"]}]
ALL_CAPABILITIES = sorted(CAPABILITIES)


def scope(path: str, *operations: str) -> dict:
    return {"path": path, "operations": list(operations or ["*"])}


def mint(make: Factory, capabilities, scopes) -> dict:
    """An admin token minted by the superadmin: the created key, plaintext included."""
    return make.key(capabilities=sorted(capabilities), scopes=scopes)


def denied(response: httpx.Response, capabilities=(), scopes=()) -> None:
    """403 escalation_denied naming exactly what the caller lacks."""
    assert response.status_code == 403, response.text
    body = response.json()["error"]
    assert body["code"] == "escalation_denied"
    assert body["details"] == {"capabilities": sorted(capabilities), "scopes": list(scopes)}


def forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"


def new_key(client: httpx.Client, **fields) -> httpx.Response:
    fields.setdefault("name", "minted")
    fields.setdefault("kind", "app" if "app" in fields else "admin")
    return client.post("/api/v1/keys", json=fields)


# -- minting ------------------------------------------------------------------


def test_cannot_mint_a_capability_it_lacks(service, make):
    minter = mint(make, ["keys.manage", "apps.read"], EVERYTHING)
    with service.client(minter["key"]) as client:
        denied(new_key(client, capabilities=["apps.read", "audit.read"]), capabilities=["audit.read"])
        lacking = set(CAPABILITIES) - {"keys.manage", "apps.read"}
        denied(new_key(client, capabilities=ALL_CAPABILITIES), capabilities=lacking)
        allowed = new_key(client, capabilities=["apps.read"])
    assert allowed.status_code == 201, allowed.text
    # Without explicit scopes, a token inherits its minter's reach: never more.
    assert allowed.json()["scopes"] == EVERYTHING


def test_cannot_mint_a_wider_scope(service, make):
    app = make.app()
    minter = mint(make, ["keys.manage", "apps.read"], [scope(f"apps/{app}/**"), scope("tokens/**")])
    with service.client(minter["key"]) as client:
        denied(new_key(client, capabilities=["apps.read"], scopes=EVERYTHING), scopes=EVERYTHING)
        denied(new_key(client, scopes=[scope("apps/**", "read")]), scopes=[scope("apps/**", "read")])
        # An app key's data-plane scopes are held to the same rule.
        denied(new_key(client, app=app, scopes=[scope("**", "read")]), scopes=[scope("**", "read")])
        partly = [scope(f"apps/{app}/authz/**", "read"), scope("users/**", "read")]
        denied(new_key(client, app=app, scopes=partly), scopes=partly[1:])
        narrower = new_key(client, capabilities=["apps.read"], scopes=[scope(f"apps/{app}/roles/**", "read")])
    assert narrower.status_code == 201, narrower.text


def test_cannot_mint_an_operation_it_lacks(service, make):
    app = make.app()
    authz = f"apps/{app}/authz/**"
    # Read on the app, and just enough on its keys to mint there.
    minter = mint(make, ["keys.manage"], [scope(f"apps/{app}/**", "read"), scope(f"apps/{app}/keys/**")])
    with service.client(minter["key"]) as client:
        for operations in (["write"], ["delete", "read"], ["*"]):
            wanted = [scope(authz, *operations)]
            denied(new_key(client, app=app, scopes=wanted), scopes=wanted)
        allowed = new_key(client, app=app, scopes=[scope(authz, "read")])
    assert allowed.status_code == 201, allowed.text


def test_delegated_admin_mints_keys_of_its_app_only(service, make):
    crm, billing = make.app(), make.app()
    delegate = mint(make, ["keys.manage", "keys.read"], [scope(f"apps/{crm}/**")])
    with service.client(delegate["key"]) as client:
        crm_key = new_key(client, app=crm)
        assert crm_key.status_code == 201, crm_key.text
        assert crm_key.json()["app"] == crm
        assert crm_key.json()["scopes"] == [scope(f"apps/{crm}/authz/**", "read")]
        # Billing's keys are outside the delegate's reach: refused before any escalation check.
        forbidden(new_key(client, app=billing))
        # A crm key reaching into billing (a gateway key) would escalate.
        reach = [scope(f"apps/{crm}/authz/**", "read"), scope(f"apps/{billing}/authz/**", "read")]
        denied(new_key(client, app=crm, scopes=reach), scopes=reach[1:])
        # Admin tokens are tokens/ resources, not the app's.
        forbidden(new_key(client, capabilities=["keys.read"], scopes=[scope(f"apps/{crm}/**")]))
    with service.anonymous() as client:
        headers = {"X-API-Key": crm_key.json()["key"]}
        answer = client.get("/api/v1/authz/someone@example.com", params={"app": crm}, headers=headers)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("one_id", ["key_0000000000000000", "None", "new"])
def test_a_scope_naming_one_key_cannot_mint(service, make, one_id):
    """A new key's id does not exist before it is minted: minting needs every id of its kind covered."""
    app = make.app()
    for path, fields in ((f"apps/{app}/keys/{one_id}", {"app": app}), (f"tokens/{one_id}", {"capabilities": ["keys.read"]})):
        minter = mint(make, ["keys.manage", "keys.read"], [scope(f"apps/{app}/**", "read"), scope(path)])
        with service.client(minter["key"]) as client:
            forbidden(new_key(client, **fields))
        every_id = mint(make, ["keys.manage", "keys.read"], [scope(f"apps/{app}/**", "read"), scope(path.rsplit("/", 1)[0] + "/*")])
        with service.client(every_id["key"]) as client:
            assert new_key(client, **fields).status_code == 201  # control: the same, with every id covered


# -- editing and rotating -----------------------------------------------------


def test_cannot_widen_an_app_key_by_patch(service, make):
    crm, billing = make.app(), make.app()
    delegate = mint(make, ["keys.manage"], [scope(f"apps/{crm}/**")])
    with service.client(delegate["key"]) as client:
        key = new_key(client, app=crm).json()
        wider = [scope(f"apps/{crm}/authz/**", "read"), scope(f"apps/{billing}/authz/**", "read")]
        denied(client.patch(f"/api/v1/keys/{key['id']}", json={"scopes": wider}), scopes=wider[1:])
        everywhere = [scope("apps/**", "read")]
        denied(client.patch(f"/api/v1/keys/{key['id']}", json={"scopes": everywhere}), scopes=everywhere)
        narrower = [scope(f"apps/{crm}/authz/alice@example.com", "read")]
        narrowed = client.patch(f"/api/v1/keys/{key['id']}", json={"scopes": narrower})
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scopes"] == narrower


def test_cannot_widen_a_token_by_patch(service, admin, make):
    manager = mint(make, ["keys.manage", "keys.read"], EVERYTHING)
    with service.client(manager["key"]) as client:
        token = new_key(client, capabilities=["keys.read"], scopes=[scope("apps/**", "read")]).json()
        path = f"/api/v1/keys/{token['id']}"
        denied(client.patch(path, json={"capabilities": ["keys.read", "audit.read"]}), capabilities=["audit.read"])
        # Its own token is no exception.
        denied(client.patch(f"/api/v1/keys/{manager['id']}", json={"capabilities": ALL_CAPABILITIES}),
               capabilities=set(CAPABILITIES) - {"keys.manage", "keys.read"})
    unchanged = admin.get(path).json()
    assert unchanged["capabilities"] == ["keys.read"]
    assert unchanged["scopes"] == [scope("apps/**", "read")]
    # A scope widened past the editor's own is refused the same way.
    narrow_manager = mint(make, ["keys.manage", "keys.read"], [scope("tokens/**"), scope("apps/**", "read")])
    with service.client(narrow_manager["key"]) as client:
        writable = [scope("apps/**", "read", "write")]
        denied(client.patch(path, json={"scopes": writable}), scopes=writable)
        narrowed = client.patch(path, json={"capabilities": []})
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["capabilities"] == []


def test_cannot_edit_a_more_powerful_token(service, admin, make):
    manager = mint(make, ["keys.manage"], EVERYTHING)
    stronger = mint(make, ALL_CAPABILITIES, [scope("apps/**")])
    lacking = set(CAPABILITIES) - {"keys.manage"}
    with service.client(manager["key"]) as client:
        # Even a harmless rename: the result would still hold what the editor lacks.
        denied(client.patch(f"/api/v1/keys/{stronger['id']}", json={"name": "renamed"}), capabilities=lacking)
    assert admin.get(f"/api/v1/keys/{stronger['id']}").json()["name"] == stronger["name"]


def test_cannot_rotate_a_more_powerful_token(service, admin, make):
    manager = mint(make, ["keys.manage"], [scope("tokens/**"), scope("apps/**")])
    stronger = mint(make, ["keys.manage"], EVERYTHING)
    with service.client(manager["key"]) as client:
        denied(client.post(f"/api/v1/keys/{stronger['id']}/rotate", json={"grace": "0s"}), scopes=EVERYTHING)
    after = admin.get(f"/api/v1/keys/{stronger['id']}").json()
    assert after["status"] == "active"
    assert after["expires_at"] is None


def test_delegated_admin_rotates_keys_of_its_app(service, make):
    crm = make.app()
    key = make.key(crm)
    delegate = mint(make, ["keys.manage"], [scope(f"apps/{crm}/**")])
    with service.client(delegate["key"]) as client:
        rotated = client.post(f"/api/v1/keys/{key['id']}/rotate", json={"grace": "0s"})
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["app"] == crm
    assert rotated.json()["previous"]["status"] == "expired"


# -- the last superadmin, on a service of its own -----------------------------


@pytest.fixture
def lone(backend, tmp_path):
    """A fresh service whose database holds exactly one superadmin token."""
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'lone.db'}"
    else:
        url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    app = create_app(Settings(database_url=url, usage_flush_seconds=0.2, redis_url=None), run_migrations=True)
    engine = app.state.runtime.engine
    key_id, token = mint_superadmin(engine, "lone-superadmin")
    try:
        with ServerThread(app) as server:
            yield Service(backend, server.url, url, engine, app, token, key_id, tmp_path / "unused.log")
    finally:
        engine.dispose()
        if drop is not None:
            drop()


def last_superadmin(response: httpx.Response, key_id: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()["error"]
    assert body["code"] == "last_superadmin"
    assert body["details"] == {"key": key_id}


def in_days(days: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()


def test_last_superadmin_cannot_be_revoked(lone):
    with lone.client() as client:
        last_superadmin(client.delete(f"/api/v1/keys/{lone.superadmin_id}"), lone.superadmin_id)
        # The guard is about the target, not who asks.
        manager = Factory(client).key(capabilities=["keys.manage"], scopes=EVERYTHING)
        with lone.client(manager["key"]) as other:
            last_superadmin(other.delete(f"/api/v1/keys/{lone.superadmin_id}"), lone.superadmin_id)
        after = client.get(f"/api/v1/keys/{lone.superadmin_id}")
    assert after.status_code == 200, after.text
    assert after.json()["status"] == "active"


def test_last_superadmin_cannot_be_shortened(lone):
    path = f"/api/v1/keys/{lone.superadmin_id}"
    with lone.client() as client:
        last_superadmin(client.patch(path, json={"expires_at": in_days(30)}), lone.superadmin_id)
        assert client.get(path).json()["expires_at"] is None
        # Changes that take nothing away are fine.
        renamed = client.patch(path, json={"name": "root", "rate_limit_per_minute": 1000})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "root"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"capabilities": sorted(set(CAPABILITIES) - {"audit.read"})}, id="capabilities"),
        pytest.param({"scopes": [scope("apps/**")]}, id="scopes"),
        pytest.param({"scopes": [scope("**", "read")]}, id="operations"),
    ],
)
def test_last_superadmin_cannot_be_narrowed(lone, change):
    path = f"/api/v1/keys/{lone.superadmin_id}"
    with lone.client() as client:
        last_superadmin(client.patch(path, json=change), lone.superadmin_id)
        after = client.get(path).json()
    assert after["capabilities"] == ALL_CAPABILITIES
    assert after["scopes"] == EVERYTHING


def test_second_superadmin_allows_revoking_the_first(lone):
    with lone.client() as client:
        second = Factory(client).key(capabilities=ALL_CAPABILITIES, scopes=EVERYTHING)
        revoked = client.delete(f"/api/v1/keys/{lone.superadmin_id}")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        assert client.get("/api/v1/apps").status_code == 401
    with lone.client(second["key"]) as client:
        last_superadmin(client.delete(f"/api/v1/keys/{second['id']}"), second["id"])


def test_only_active_full_superadmins_count(lone):
    with lone.client() as client:
        make = Factory(client)
        # Every capability but not every path, or every path but not every capability: not superadmins.
        make.key(capabilities=ALL_CAPABILITIES, scopes=[scope("apps/**"), scope("users/**"), scope("tokens/**")])
        make.key(capabilities=sorted(set(CAPABILITIES) - {"authz.explain"}), scopes=EVERYTHING)
        # A revoked superadmin.
        revoked = make.key(capabilities=ALL_CAPABILITIES, scopes=EVERYTHING)
        assert client.delete(f"/api/v1/keys/{revoked['id']}").status_code == 200
        # An expired one, written straight to the store: the API refuses past expiries.
        with transaction(make_sessionmaker(lone.engine)) as session:
            _, plaintext = queries.create_key(
                session, name="expired-superadmin", kind="admin", app=None, scopes=EVERYTHING,
                capabilities=ALL_CAPABILITIES, rate_limit_per_minute=None,
                expires_at=datetime.now(timezone.utc) - timedelta(hours=1), created_by="tests",
            )
        SEEN_KEYS.add(plaintext)
        last_superadmin(client.delete(f"/api/v1/keys/{lone.superadmin_id}"), lone.superadmin_id)
        shorten = client.patch(f"/api/v1/keys/{lone.superadmin_id}", json={"expires_at": in_days(1)})
        last_superadmin(shorten, lone.superadmin_id)


def test_two_superadmins_revoking_each_other_leave_one(lone):
    """Concurrent revocations must not each count the other as the survivor.

    Without serialization nearly every round revokes both; one clean round
    proves nothing, so several are run.
    """
    survivor = {"id": lone.superadmin_id, "key": lone.superadmin}
    for _ in range(5):
        with lone.client(survivor["key"]) as client:
            other = Factory(client).key(capabilities=ALL_CAPABILITIES, scopes=EVERYTHING)
        pair = [survivor, other]
        barrier = threading.Barrier(2)

        def revoke(me: dict, target: dict) -> int:
            with lone.client(me["key"]) as client:
                barrier.wait()
                return client.delete(f"/api/v1/keys/{target['id']}").status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = list(pool.map(revoke, pair, pair[::-1]))
        # The loser is refused by the guard, or is already revoked when it authenticates.
        assert sorted(statuses) in ([200, 401], [200, 409]), statuses
        survivor = pair[statuses.index(200)]
        with lone.client(survivor["key"]) as client:
            live = client.get("/api/v1/keys", params={"kind": "admin", "status": "active"}).json()["data"]
        assert [k["id"] for k in live] == [survivor["id"]]


def test_rotating_the_last_superadmin_hands_over(lone):
    """Rotation shortens the old token, but its successor is a superadmin too."""
    with lone.client() as client:
        rotated = client.post(f"/api/v1/keys/{lone.superadmin_id}/rotate", json={"grace": "0s"})
        assert rotated.status_code == 201, rotated.text
        assert client.get("/api/v1/apps").status_code == 401
    successor = rotated.json()
    with lone.client(successor["key"]) as client:
        assert client.get("/api/v1/apps").status_code == 200
        last_superadmin(client.delete(f"/api/v1/keys/{successor['id']}"), successor["id"])
