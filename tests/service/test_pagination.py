"""Keyset pagination over 120+ rows: every page walked by next_cursor.

For each list: no row twice, no row missing (the union is exactly the
expected set), rows in the list's order across page boundaries, full pages
until the last, and ``has_more`` false (with ``next_cursor`` null) only there.
"""

from __future__ import annotations

import random
from datetime import datetime

import httpx
import pytest

from tests.service.conftest import unique

COUNT = 123  # not a multiple of the small limits below, so the last page is partial


def walk(client: httpx.Client, url: str, limit: int, **params) -> list[dict]:
    """Every row of a list, page by page, checking each page's bookkeeping."""
    rows: list[dict] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"data", "next_cursor", "has_more"}, page
        pages += 1
        rows.extend(page["data"])
        if not page["has_more"]:
            assert page["next_cursor"] is None, page
            assert len(page["data"]) <= limit
            break
        # Not the last page: full, and pointing further on.
        assert len(page["data"]) == limit, (pages, len(page["data"]))
        assert page["next_cursor"], page
        cursor = page["next_cursor"]
        assert pages < 1000, "pagination does not terminate"
    assert pages == max(1, -(-len(rows) // limit)), (pages, len(rows), limit)
    return rows


def assert_complete(rows: list[dict], key, expected: list) -> None:
    """``expected`` in the list's order: no duplicates, no gaps, nothing extra, same order."""
    got = [key(r) for r in rows]
    assert len(got) == len(set(got)), "a row came twice"
    assert set(got) == set(expected), (sorted(set(expected) - set(got))[:5], sorted(set(got) - set(expected))[:5])
    assert got == expected


def shuffled(items: list) -> list:
    out = list(items)
    random.Random(7).shuffle(out)  # created out of order, so the order must come from the query
    return out


# -- users ---------------------------------------------------------------------


@pytest.fixture
def users(make) -> tuple[str, list[str], list[str]]:
    """COUNT users under a unique prefix, created out of order; every fourth deactivated."""
    tag = unique("pgu")
    emails = [f"{tag}-{i:03d}@example.com" for i in range(COUNT)]
    inactive = emails[::4]
    for email in shuffled(emails):
        make.user(email, active=email not in inactive)
    return tag, emails, inactive


def test_users(admin, users):
    tag, emails, _ = users
    for limit in (7, 41, 500):
        assert_complete(walk(admin, "/api/v1/users", limit, q=tag), lambda u: u["email"], emails)
    # One row per page, over the ten rows of a narrower prefix.
    assert_complete(walk(admin, "/api/v1/users", 1, q=f"{tag}-00"), lambda u: u["email"], emails[:10])


def test_users_with_a_filter(admin, users):
    tag, emails, inactive = users
    assert len(inactive) == 31
    assert_complete(walk(admin, "/api/v1/users", 6, q=tag, active="false"), lambda u: u["email"], inactive)
    active = [e for e in emails if e not in inactive]
    assert_complete(walk(admin, "/api/v1/users", 9, q=tag, active="true"), lambda u: u["email"], active)


def test_users_cursor_survives_writes_between_pages(admin, make, users):
    """Keyset, not offset: rows added before the cursor or deleted after it shift nothing."""
    tag, emails, _ = users
    first = admin.get("/api/v1/users", params={"q": tag, "limit": 20}).json()
    assert [u["email"] for u in first["data"]] == emails[:20]
    make.user(f"{tag}-000a@example.com")  # sorts inside the first page, already read
    gone = emails[30]
    assert admin.delete(f"/api/v1/users/{gone}").status_code == 204
    rest = walk(admin, "/api/v1/users", 20, q=tag, cursor=first["next_cursor"])
    assert_complete(rest, lambda u: u["email"], [e for e in emails[20:] if e != gone])


# -- apps ----------------------------------------------------------------------


def test_apps(admin):
    tag = unique("pga")
    slugs = [f"{tag}-{i:03d}" for i in range(COUNT)]
    for slug in shuffled(slugs):
        assert admin.post("/api/v1/apps", json={"slug": slug, "name": slug}).status_code == 201
    for limit in (8, 50):
        rows = walk(admin, "/api/v1/apps", limit, q=tag)
        assert_complete(rows, lambda a: a["slug"], slugs)
        assert all(a["role_count"] == 0 and a["active_key_count"] == 0 for a in rows)


# -- keys ----------------------------------------------------------------------


def test_keys(admin, make):
    app = make.app()
    created = [make.key(app, name=f"k-{i:03d}") for i in range(COUNT)]
    # Newest first: created_at descending, then id descending.
    newest_first = [k["id"] for k in sorted(created, key=lambda k: (datetime.fromisoformat(k["created_at"]), k["id"]), reverse=True)]
    assert newest_first == [k["id"] for k in reversed(created)]
    for limit in (10, 123):
        assert_complete(walk(admin, "/api/v1/keys", limit, app=app), lambda k: k["id"], newest_first)

    revoked = {k["id"] for k in created[::3]}
    for key_id in revoked:
        assert admin.delete(f"/api/v1/keys/{key_id}").status_code == 200
    active = [k for k in newest_first if k not in revoked]
    assert_complete(walk(admin, "/api/v1/keys", 11, app=app, status="active"), lambda k: k["id"], active)
    assert_complete(
        walk(admin, "/api/v1/keys", 11, app=app, status="revoked"), lambda k: k["id"], [k for k in newest_first if k in revoked]
    )


# -- permissions and audit -----------------------------------------------------


@pytest.fixture
def busy_app(make) -> tuple[str, list[str]]:
    """An app with COUNT permissions, created out of order: COUNT + 1 audit events under it."""
    app = make.app(permissions=())
    perms = [f"p.{i:03d}" for i in range(COUNT)]
    for perm in shuffled(perms):
        assert make.client.post(f"/api/v1/apps/{app}/permissions", json={"slug": perm}).status_code == 201
    return app, perms


def test_permissions(admin, busy_app):
    app, perms = busy_app
    assert_complete(walk(admin, f"/api/v1/apps/{app}/permissions", 12, q="p."), lambda p: p["slug"], perms)


def test_audit(admin, busy_app):
    app, perms = busy_app
    everything = walk(admin, "/api/v1/audit", 500, target=f"apps/{app}/**")
    assert len(everything) == COUNT + 1
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert everything[-1]["action"] == "app.create"
    assert {e["target"] for e in everything[:-1]} == {f"apps/{app}/permissions/{p}" for p in perms}

    # The target glob filters row by row; small pages must still be full and seamless.
    for limit in (9, 40):
        assert_complete(walk(admin, "/api/v1/audit", limit, target=f"apps/{app}/**"), lambda e: e["id"], ids)
    creates = [e["id"] for e in everything if e["action"] == "permission.create"]
    assert_complete(
        walk(admin, "/api/v1/audit", 13, target=f"apps/{app}/permissions/*", action="permission.create"), lambda e: e["id"], creates
    )
