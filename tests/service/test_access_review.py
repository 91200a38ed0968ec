"""Exploring access, from the service: members of everyone, the role dry run, the access review and its export."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from pepyhat import review, schemas
from tests.service.conftest import Factory, unique
from tests.service.test_cli import pepyhat

ROLES = {"viewer": ["users.read"], "editor": ["users.read", "users.write"], "empty": []}


@pytest.fixture
def crm(make: Factory):
    """An app with three roles; ann is a viewer and an editor (until next week), bob an editor, cid nothing."""
    slug = make.app(roles=ROLES)
    ann, bob, cid = (make.user(f"{unique(n)}@example.com") for n in ("ann", "bob", "cid"))
    week = (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()
    make.grant(slug, ann, "viewer")
    make.grant(slug, ann, "editor", expires_at=week)
    make.grant(slug, bob, "editor")
    return slug, ann, bob, cid


# -- members of everyone ------------------------------------------------------

def test_everyone_lists_users_without_a_role_too(admin, crm):
    slug, ann, bob, cid = crm
    members = admin.get(f"/api/v1/apps/{slug}/members", params={"limit": 500}).json()["data"]
    assert {m["email"] for m in members} == {ann, bob}
    found = admin.get(f"/api/v1/apps/{slug}/members", params={"everyone": "true", "q": cid}).json()["data"]
    assert [(m["email"], m["grants"]) for m in found] == [(cid, [])]
    # A permission (or role) filter still keeps only holders: everyone adds nobody there.
    holders = admin.get(
        f"/api/v1/apps/{slug}/members", params={"everyone": "true", "permission": "users.write", "limit": 500}
    ).json()["data"]
    assert {m["email"] for m in holders} == {ann, bob}


# -- the role dry run ---------------------------------------------------------

def test_a_dry_run_says_what_the_save_then_does_and_saves_nothing(admin, crm):
    slug, ann, bob, _ = crm
    url = f"/api/v1/apps/{slug}/roles/editor"
    events = lambda: admin.get("/api/v1/audit", params={"target": url.removeprefix("/api/v1/")}).json()["data"]  # noqa: E731
    before_events = events()
    body = {"permissions": ["users.read"], "name": "Reader"}
    preview = admin.patch(url, params={"dry_run": "true"}, json=body)
    assert preview.status_code == 200, preview.text
    # ann keeps users.read through viewer; both lose users.write
    assert preview.json()["impact"] == {"members": 2, "gained": {}, "lost": {"users.write": 2}}
    assert preview.json()["permissions"] == ["users.read"] and preview.json()["name"] == "Reader"
    unchanged = admin.get(url).json()
    assert unchanged["permissions"] == ["users.read", "users.write"] and unchanged["name"] == "Editor"
    assert events() == before_events  # nothing audited
    saved = admin.patch(url, json=body)
    assert saved.json()["impact"] == preview.json()["impact"]
    assert {k: v for k, v in saved.json().items() if k != "created_at"} == {
        k: v for k, v in preview.json().items() if k != "created_at"
    }


def test_a_dry_run_refuses_what_the_save_would(admin, crm):
    slug = crm[0]
    refused = admin.patch(f"/api/v1/apps/{slug}/roles/editor", params={"dry_run": "true"}, json={"permissions": ["nope"]})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "unknown_permission"


# -- the access review --------------------------------------------------------

def _review(admin, slug) -> schemas.AccessReview:
    response = admin.get(f"/api/v1/apps/{slug}/access-review")
    assert response.status_code == 200, response.text
    return schemas.AccessReview.model_validate(response.json())


def test_the_review_is_every_grant_times_its_permissions(admin, crm):
    slug, ann, bob, cid = crm
    got = _review(admin, slug)
    rows = {(r.email, r.role, r.permission) for r in got.rows}
    assert rows == {
        (ann, "viewer", "users.read"), (ann, "editor", "users.read"), (ann, "editor", "users.write"),
        (bob, "editor", "users.read"), (bob, "editor", "users.write"),
    }
    # It agrees with the members list, grant for grant (granter, date, expiry).
    members = admin.get(f"/api/v1/apps/{slug}/members", params={"limit": 500}).json()["data"]
    when = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
    listed = {
        (m["email"], g["role"], g["granted_by"], when(g["granted_at"]), when(g["expires_at"]))
        for m in members for g in m["grants"]
    }
    assert {(r.email, r.role, r.granted_by, r.granted_at, r.expires_at) for r in got.rows} == listed
    expiring = [r for r in got.rows if r.role == "editor" and r.email == ann]
    assert expiring and all(r.expires_at is not None and not r.expired for r in expiring)


def test_a_role_without_permissions_still_shows_its_grant(admin, make, crm):
    slug, _, _, cid = crm
    make.grant(slug, cid, "empty")
    rows = [r for r in _review(admin, slug).rows if r.email == cid]
    assert [(r.role, r.permission) for r in rows] == [("empty", None)]


def test_the_review_of_an_unknown_app_is_404(admin):
    response = admin.get(f"/api/v1/apps/{unique('nope')}/access-review")
    assert response.status_code == 404 and response.json()["error"]["code"] == "app_not_found"


def test_a_member_scope_sees_only_its_members(service, make, crm):
    slug, ann, bob, _ = crm
    token = make.key(capabilities=["users.read"], scopes=[{"path": f"apps/{slug}/members/{ann}", "operations": ["read"]}])
    with service.client(token["key"]) as client:
        got = _review(client, slug)
    assert {r.email for r in got.rows} == {ann}


# -- written out --------------------------------------------------------------

def test_csv_and_json_carry_every_row(admin, crm):
    got = _review(admin, crm[0])
    rows = list(csv.DictReader(io.StringIO(review.render(got, "csv"))))
    assert [(r["email"], r["role"], r["permission"]) for r in rows] == [(r.email, r.role, r.permission or "") for r in got.rows]
    assert {r["app"] for r in rows} == {got.app}
    parsed = schemas.AccessReview.model_validate(json.loads(review.render(got, "json")))
    assert parsed == got


def test_csv_cells_cannot_become_formulas():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    row = schemas.AccessReviewRow(
        email="a@example.com", name="=HYPERLINK(\"http://evil\")", active=True, role="r", permission=None,
        granted_by="@admin", granted_at=at,
    )
    got = schemas.AccessReview(app="crm", app_name="CRM", generated_at=at, rows=[row])
    (line,) = list(csv.DictReader(io.StringIO(review.render(got, "csv"))))
    assert line["name"] == "'=HYPERLINK(\"http://evil\")" and line["granted_by"] == "'@admin"


def test_the_command_exports_from_the_database_and_from_the_service(service, admin, crm, tmp_path):
    slug = crm[0]
    expected = _review(admin, slug)
    target = tmp_path / "review.csv"
    from_db = pepyhat("export", "access", "--app", slug, "--format", "csv", "--db", service.database_url, "-o", str(target))
    assert from_db.returncode == 0, from_db.stderr
    assert str(target) in from_db.stderr and from_db.stdout == ""
    rows = list(csv.DictReader(target.open()))
    assert [(r["email"], r["role"], r["permission"]) for r in rows] == [
        (r.email, r.role, r.permission or "") for r in expected.rows
    ]
    from_url = pepyhat("export", "access", "--app", slug, "--format", "json", "--url", service.url, "--token", service.superadmin)
    assert from_url.returncode == 0, from_url.stderr
    assert schemas.AccessReview.model_validate_json(from_url.stdout).rows == expected.rows


@pytest.mark.parametrize(
    "args, words",
    [
        (["--app", "no-such-app"], "not found"),
        (["--app", "crm", "--url", "http://127.0.0.1:9", "--token", "pha_x"], "cannot reach"),
    ],
)
def test_the_command_fails_in_one_line(service, args, words):
    result = pepyhat("export", "access", *args, *([] if "--url" in args else ["--db", service.database_url]))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert words in result.stderr


def test_the_command_wants_one_source(service):
    result = pepyhat("export", "access", "--app", "crm", "--db", service.database_url, "--url", "http://x")
    assert result.returncode == 2 and "not both" in result.stderr
