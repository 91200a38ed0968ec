"""Two ``pepyhat serve`` nodes on one PostgreSQL and one Redis agree on the very next request.

Production runs several stateless nodes behind a balancer: what an operator does
through one node (revoke a leaked key, rotate with no grace, grant, deactivate)
must hold on every other node from the next request on, and a key's rate limit
must be one budget across all of them.  Each check runs several rounds, writing
through one node and reading through the other, both ways.
"""

from __future__ import annotations

import uuid
from typing import Iterator

import httpx
import pytest

from tests.conftest import create_postgres_database, need
from tests.e2e.conftest import Serve, init_token

ROUNDS = 5


class Node:
    """One ``pepyhat serve`` of the cluster, with an admin client and a data-plane client."""

    def __init__(self, name: str, serve: Serve, token: str) -> None:
        self.name, self.serve = name, serve
        self.admin = httpx.Client(base_url=f"{serve.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        self.plane = httpx.Client(base_url=serve.url, timeout=10)

    def authz(self, key: str, email: str, app: str = "crm") -> httpx.Response:
        return self.plane.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": key})

    def ok(self, response: httpx.Response) -> dict:
        assert response.status_code < 300, f"{self.name}: {response.status_code} {response.text}"
        return response.json() if response.content else {}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, redis_url) -> Iterator[tuple[Node, Node]]:
    db, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    folder = tmp_path_factory.mktemp("nodes")
    started: list[Node] = []
    try:
        token = init_token(db)
        for name in "AB":
            started.append(Node(name, Serve(db, folder / f"{name}.log", "--redis-url", redis_url), token))
        a = started[0]
        a.ok(a.admin.post("/apps", json={"slug": "crm", "name": "CRM"}))
        a.ok(a.admin.post("/apps/crm/permissions", json={"slug": "users.read"}))
        a.ok(a.admin.post("/apps/crm/roles", json={"slug": "viewer", "name": "Viewer", "permissions": ["users.read"]}))
        yield started[0], started[1]
    finally:
        for node in started:
            node.serve.stop()
        drop()


def _pairs(nodes: tuple[Node, Node]):
    """(writer, reader) for each round, alternating A->B and B->A."""
    a, b = nodes
    for n in range(ROUNDS):
        yield (a, b) if n % 2 == 0 else (b, a)


def _user(node: Node) -> str:
    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    node.ok(node.admin.post("/users", json={"email": email, "name": "Node Test"}))
    return email


def _key(node: Node, **extra) -> dict:
    return node.ok(node.admin.post("/keys", json={"name": f"k-{uuid.uuid4().hex[:8]}", "app": "crm", **extra}))


def test_a_key_revoked_on_one_node_is_refused_by_the_other_on_the_next_request(nodes):
    email = _user(nodes[0])
    for writer, reader in _pairs(nodes):
        key = _key(writer)
        assert reader.authz(key["key"], email).status_code == 200  # live, and seen by the reader
        writer.ok(writer.admin.delete(f"/keys/{key['id']}"))
        refused = reader.authz(key["key"], email)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "key_revoked"), reader.name


def test_rotating_with_no_grace_on_one_node_kills_the_old_key_on_the_other(nodes):
    email = _user(nodes[0])
    for writer, reader in _pairs(nodes):
        old = _key(writer)
        assert reader.authz(old["key"], email).status_code == 200
        new = writer.ok(writer.admin.post(f"/keys/{old['id']}/rotate", json={"grace": "0s"}))
        assert reader.authz(old["key"], email).status_code == 403, reader.name
        assert reader.authz(new["key"], email).status_code == 200, reader.name


def test_a_grant_or_a_deactivation_on_one_node_is_seen_by_the_other_on_the_next_request(nodes):
    key = _key(nodes[0])["key"]
    for writer, reader in _pairs(nodes):
        email = _user(writer)
        assert reader.authz(key, email).json()["roles"] == []
        writer.ok(writer.admin.put(f"/apps/crm/members/{email}/roles/viewer"))
        assert reader.authz(key, email).json()["roles"] == ["viewer"], reader.name
        writer.ok(writer.admin.delete(f"/apps/crm/members/{email}/roles/viewer"))
        assert reader.authz(key, email).json()["roles"] == [], reader.name
        writer.ok(writer.admin.put(f"/apps/crm/members/{email}/roles/viewer"))
        writer.ok(writer.admin.patch(f"/users/{email}", json={"active": False}))
        answer = reader.authz(key, email).json()
        assert (answer["active"], answer["permissions"]) == (False, []), reader.name


def test_a_rate_limit_is_one_budget_across_both_nodes(nodes):
    limit = 12
    email = _user(nodes[0])
    key = _key(nodes[0], rate_limit_per_minute=limit)["key"]
    statuses = [nodes[n % 2].authz(key, email).status_code for n in range(3 * limit)]
    assert statuses.count(200) == limit, statuses
    assert statuses[:limit] == [200] * limit and set(statuses[limit:]) == {429}, statuses
