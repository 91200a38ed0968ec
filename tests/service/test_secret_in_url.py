"""Secrets never in URLs, nor in the logs (DESIGN, Keys: "Secrets travel only in bodies and headers").

A key-shaped string (``phk_``/``pha_`` and 48 base62 characters, checksum unread)
anywhere in a URL is refused with 400 ``secret_in_url``, pointing at the lookup;
and what the service logs of such a request holds the key's start, never the key.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from urllib.parse import quote

import httpx
import pytest

from pepyhat import keys
from pepyhat.logs import JsonFormatter, RedactKeys
from tests.conftest import fresh_database
from tests.service.conftest import SEEN_KEYS, unique
from tests.service.test_cli import Served

LOOKUP = "POST /api/v1/keys/lookup"


def secret(kind: str = "app") -> str:
    """A fresh well-formed key; the end-of-session check looks for it at rest too."""
    plaintext = keys.mint(kind)
    SEEN_KEYS.add(plaintext)
    return plaintext


def refused(response: httpx.Response, where: dict) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == "secret_in_url", body
    assert LOOKUP in body["error"]["message"], body
    assert body["error"]["details"] == where, body
    assert response.headers["x-request-id"]


@pytest.fixture
def app(make) -> str:
    return make.app(roles={"viewer": ["users.read"]})


# -- refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/keys",
        "/api/v1/apps",
        "/api/v1/users",
        "/api/v1/apps/{app}/members",
        "/api/v1/apps/{app}/roles",
        "/api/v1/apps/{app}/permissions",
    ],
)
@pytest.mark.parametrize("kind", ["app", "admin"])
def test_a_whole_key_in_a_lists_q_is_refused(service, admin, app, path, kind):
    key = secret(kind)
    refused(admin.get(path.format(app=app), params={"q": key}), {"in": "query", "parameter": "q"})


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("actor={key}", "actor"),  # any parameter, not only q
        ("limit=5&token={key}", "token"),  # one the route does not take
        ("q=leaked:%20{key}%20oops", "q"),  # inside a longer value
        ("q={encoded}", "q"),  # percent-encoded: read as the route would read it
        ("{key}=1", "phk_" + "{start6}\u2026"),  # as a name: echoed cut
    ],
)
def test_a_key_anywhere_in_the_query_is_refused(service, admin, query, parameter):
    key = secret()
    encoded = "".join(f"%{ord(c):02X}" for c in key)
    url = "/api/v1/audit?" + query.format(key=key, encoded=encoded)
    refused(admin.get(url), {"in": "query", "parameter": parameter.format(start6=key[4:10])})


def test_shape_alone_decides_a_bad_checksum_is_still_a_secret(service, admin):
    key = secret()
    mangled = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(keys.MalformedKey):
        keys.parse(mangled)
    SEEN_KEYS.add(mangled)
    refused(admin.get("/api/v1/keys", params={"q": mangled}), {"in": "query", "parameter": "q"})


@pytest.mark.parametrize("template", ["/api/v1/keys/{key}", "/api/v1/users/{key}", "/api/v1/authz/{key}@example.com"])
def test_a_key_in_the_path_is_refused(service, admin, template):
    refused(admin.get(template.format(key=secret())), {"in": "path"})


def test_the_data_plane_refuses_a_key_in_its_query(service, app):
    """The data plane takes its key in X-API-Key; one in the query is a leak, said first."""
    key = secret()
    with service.anonymous() as client:
        response = client.get("/api/v1/authz/someone@example.com", params={"app": app, "api_key": key})
        refused(response, {"in": "query", "parameter": "api_key"})
        # Even with a good key in the header: the one in the URL is out now.
        response = client.get(
            "/api/v1/authz/someone@example.com", params={"app": app, "key": key}, headers={"X-API-Key": key}
        )
        refused(response, {"in": "query", "parameter": "key"})


def test_refused_before_authentication(service):
    with service.anonymous() as client:
        refused(client.get("/api/v1/keys", params={"q": secret()}), {"in": "query", "parameter": "q"})
        refused(client.get("/healthz", params={"k": secret("admin")}), {"in": "query", "parameter": "k"})


@pytest.mark.parametrize(
    "q",
    [
        lambda key: key[:10],  # the start: what the Keys screen filters by
        lambda key: key[:-1],  # 47 characters: no key
        lambda key: "phk-" + key[4:],  # another prefix
        lambda key: "key_" + key[4:20],  # a key id's shape
    ],
    ids=["start", "47-characters", "other-prefix", "key-id"],
)
def test_what_is_not_key_shaped_passes(service, admin, make, q):
    created = make.key(make.app())
    response = admin.get("/api/v1/keys", params={"q": q(created["key"])})
    assert response.status_code == 200, response.text
    if q(created["key"]) == created["key"][:10]:
        assert [k["id"] for k in response.json()["data"]] == [created["id"]]


def test_the_lookup_is_the_way(service, admin, make):
    """What the refusal points at: the key in a body finds it."""
    created = make.key(make.app())
    refused(admin.get("/api/v1/keys", params={"q": created["key"]}), {"in": "query", "parameter": "q"})
    found = admin.post("/api/v1/keys/lookup", json={"key": created["key"]})
    assert found.status_code == 200, found.text
    assert [k["id"] for k in found.json()["data"]] == [created["id"]]


# -- the logs -------------------------------------------------------------------------


def test_the_access_log_holds_no_key(service, admin, caplog):
    in_query, in_path = secret(), secret("admin")
    query_id, path_id = (unique("secret") for _ in range(2))
    with caplog.at_level(logging.INFO, logger="pepyhat.access"):
        refused(
            admin.get("/api/v1/keys", params={"q": in_query}, headers={"X-Request-ID": query_id}),
            {"in": "query", "parameter": "q"},
        )
        refused(admin.get(f"/api/v1/keys/{in_path}", headers={"X-Request-ID": path_id}), {"in": "path"})
        deadline = time.monotonic() + 10
        while {query_id, path_id} - {getattr(r, "request_id", None) for r in caplog.records}:
            assert time.monotonic() < deadline, "the access log never had both requests"
            time.sleep(0.05)

    # The records as logged (what any handler receives), and as the service's formatter writes them.
    records = {r.request_id: r for r in caplog.records if getattr(r, "request_id", None) in (query_id, path_id)}
    for record in records.values():
        assert record.status == 400
        raw = record.getMessage() + " " + " ".join(str(v) for v in vars(record).values())
        assert in_query not in raw and in_path not in raw
    assert records[path_id].path == f"/api/v1/keys/{in_path[:10]}\u2026"

    (by_path,) = service.access_log(path_id)
    (by_query,) = service.access_log(query_id)
    assert by_path["path"] == f"/api/v1/keys/{in_path[:10]}\u2026" and by_path["status"] == 400
    assert by_query["path"] == "/api/v1/keys" and by_query["status"] == 400
    text = service.log_file.read_text()
    assert in_query not in text and in_path not in text


def test_the_formatter_cuts_any_key_it_is_given():
    """The last line of defence: a key in a message, a field or a traceback is cut in the JSON line."""
    key = secret()
    record = logging.LogRecord("pepyhat.api", logging.ERROR, __file__, 1, "saw %s in %s", (key, "a URL"), None)
    record.path = f"/x/{key}"
    try:
        raise ValueError(f"bad {key}")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert key not in line
    entry = json.loads(line)
    assert entry["message"] == f"saw {key[:10]}\u2026 in a URL"
    assert entry["path"] == f"/x/{key[:10]}\u2026"
    assert f"bad {key[:10]}\u2026" in entry["exception"]


def test_uvicorns_access_log_would_log_no_key():
    """Should uvicorn's access log be on after all: its record (path with query) goes through RedactKeys."""
    key = secret()
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/api/v1/keys?q={key}", "1.1", 400), None,
    )
    assert RedactKeys().filter(record) is True
    assert key not in record.getMessage()
    assert f"q={key[:10]}\u2026" in record.getMessage()


@pytest.fixture
def served_database(backend, tmp_path):
    with fresh_database(backend, tmp_path / "served.db") as url:
        yield url


def test_pepyhat_serve_logs_no_key(served_database, tmp_path):
    """The real ``pepyhat serve``: uvicorn's access log is off, ours cuts the key; stderr holds no key."""
    in_query, in_path, in_data_plane = secret(), secret("admin"), secret()
    with Served(served_database, tmp_path) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        refused(client.get("/api/v1/keys", params={"q": in_query}), {"in": "query", "parameter": "q"})
        refused(client.get(f"/api/v1/keys/{quote(in_path)}"), {"in": "path"})
        refused(
            client.get("/api/v1/authz/a@example.com", params={"app": "crm", "key": in_data_plane}),
            {"in": "query", "parameter": "key"},
        )
    stderr = served.stderr_path.read_text()
    lines = [json.loads(line) for line in stderr.splitlines()[1:] if line.startswith("{")]
    access = [e for e in lines if e["logger"] == "pepyhat.access" and e["status"] == 400]
    assert len(access) == 3, stderr
    assert f"/api/v1/keys/{in_path[:10]}\u2026" in {e["path"] for e in access}
    assert not [e for e in lines if e["logger"] == "uvicorn.access"], stderr
    for key in (in_query, in_path, in_data_plane):
        assert key not in stderr
