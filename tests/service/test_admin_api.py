"""The admin API, resource by resource (DESIGN.md "Admin API"), over real HTTP on both backends.

Apps, permissions, roles, members, users, keys and explain: what each endpoint
answers and what it leaves behind, checked by reading back through the API.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import select, update

from pepyhat.store.tables import App, Grant, Key, Role, User
from tests.service.conftest import PLAINTEXT, unique

SUPERADMIN = "test-superadmin"  # the name conftest.mint_superadmin gives the suite's token


# -- helpers -------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(timezone.utc)


def when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def ok(response: httpx.Response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error(response: httpx.Response, status: int, code: str) -> dict:
    """The envelope's details, after checking status, code and shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["message"], body
    return body["error"]["details"]


def one_page(client: httpx.Client, url: str, **params) -> list[dict]:
    """The rows of a list that fits on one page."""
    body = ok(client.get(url, params={"limit": 500, **params}))
    assert body["has_more"] is False and body["next_cursor"] is None, body
    return body["data"]


def stored(key: dict) -> dict:
    """A key record minus its plaintext and what is flushed in the background, at its own pace (pepyhat.usage)."""
    return {k: v for k, v in key.items() if k not in ("key", "last_used_at", "last_used_from", "refused_since_revoke")}


def authz(service, key: str, email: str, app: str) -> httpx.Response:
    with service.anonymous() as client:
        return client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": key})


def expire_key(service, key_id: str) -> None:
    """Move a key's expiry into the past, as if its time had run out."""
    with service.engine.begin() as conn:
        result = conn.execute(update(Key).where(Key.id == key_id).values(expires_at=now() - timedelta(seconds=1)))
    assert result.rowcount == 1


def expire_grant(service, app: str, email: str, role: str) -> None:
    """Move a grant's expiry into the past (the API refuses to set one there)."""
    user_id = select(User.id).where(User.email == email).scalar_subquery()
    role_id = select(Role.id).join(App, App.id == Role.app_id).where(App.slug == app, Role.slug == role).scalar_subquery()
    with service.engine.begin() as conn:
        result = conn.execute(
            update(Grant)
            .where(Grant.user_id == user_id, Grant.role_id == role_id)
            .values(expires_at=now() - timedelta(seconds=1))
        )
    assert result.rowcount == 1


# -- apps ----------------------------------------------------------------------


def test_app_create_get_and_list_row(admin):
    slug = unique("app")
    created = ok(admin.post("/api/v1/apps", json={"slug": slug, "name": "CRM", "description": "Sales"}), 201)
    assert created["slug"] == slug and created["name"] == "CRM" and created["description"] == "Sales"
    assert (created["role_count"], created["member_count"], created["active_key_count"]) == (0, 0, 0)
    assert ok(admin.get(f"/api/v1/apps/{slug}")) == created
    assert one_page(admin, "/api/v1/apps", q=slug) == [created]


def test_app_list_rows_carry_counts(service, admin, make):
    slug = make.app(roles={"admin": ["users.read", "users.write"], "viewer": ["users.read"], "unused": []})
    alice, bob, carol, dave = (make.user() for _ in range(4))
    make.grant(slug, alice, "admin")
    make.grant(slug, alice, "viewer")  # two roles, one member
    make.grant(slug, bob, "viewer")
    make.grant(slug, carol, "viewer")
    expire_grant(service, slug, carol, "viewer")  # an expired grant counts as absent
    make.grant(slug, dave, "admin", expires_at=(now() + timedelta(days=1)).isoformat())  # not yet expired
    live = [make.key(slug)["id"] for _ in range(3)]
    ok(admin.delete(f"/api/v1/keys/{make.key(slug)['id']}"))
    expire_key(service, make.key(slug)["id"])

    [row] = one_page(admin, "/api/v1/apps", q=slug)
    assert (row["role_count"], row["member_count"], row["active_key_count"]) == (3, 3, len(live))
    assert ok(admin.get(f"/api/v1/apps/{slug}")) == row


def test_app_patch(admin, make):
    slug = make.app()
    before = ok(admin.get(f"/api/v1/apps/{slug}"))
    patched = ok(admin.patch(f"/api/v1/apps/{slug}", json={"description": "Customer records"}))
    assert patched == {**before, "description": "Customer records"}
    patched = ok(admin.patch(f"/api/v1/apps/{slug}", json={"name": "Renamed"}))
    assert patched == {**before, "description": "Customer records", "name": "Renamed"}
    assert ok(admin.get(f"/api/v1/apps/{slug}")) == patched


def test_app_delete_without_live_keys(admin, make, service):
    slug = make.app(roles={"viewer": ["users.read"]})
    make.grant(slug, make.user(), "viewer")
    revoked = make.key(slug)["id"]
    ok(admin.delete(f"/api/v1/keys/{revoked}"))
    expired = make.key(slug)["id"]
    expire_key(service, expired)

    # Only active keys block a delete; revoked and expired ones do not.
    assert ok(admin.delete(f"/api/v1/apps/{slug}"), 204) is None
    error(admin.get(f"/api/v1/apps/{slug}"), 404, "app_not_found")
    assert one_page(admin, "/api/v1/apps", q=slug) == []
    assert ok(admin.get(f"/api/v1/keys/{expired}"))["status"] == "expired"


def test_app_delete_with_active_keys_is_a_conflict_unless_forced(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(slug, email, "viewer")
    keys = [make.key(slug) for _ in range(2)]
    already = make.key(slug)
    ok(admin.delete(f"/api/v1/keys/{already['id']}", params={"reason": "old"}))

    details = error(admin.delete(f"/api/v1/apps/{slug}"), 409, "conflict")
    assert details == {"app": slug, "active_keys": 2}
    assert ok(admin.get(f"/api/v1/apps/{slug}"))["active_key_count"] == 2
    assert authz(service, keys[0]["key"], email, slug).status_code == 200

    assert ok(admin.delete(f"/api/v1/apps/{slug}", params={"force": "true"}), 204) is None
    error(admin.get(f"/api/v1/apps/{slug}"), 404, "app_not_found")
    # The revoked keys' records stay, naming who revoked them and why.
    for key in keys:
        record = ok(admin.get(f"/api/v1/keys/{key['id']}"))
        assert record["status"] == "revoked"
        assert record["app"] == slug
        assert record["revoked_by"] == SUPERADMIN
        assert record["revoke_reason"] == f"app {slug} deleted"
        assert authz(service, key["key"], email, slug).json()["error"]["code"] == "key_revoked"
    # A key revoked before keeps its own record untouched.
    untouched = ok(admin.get(f"/api/v1/keys/{already['id']}"))
    assert untouched["revoke_reason"] == "old"
    assert {k["id"] for k in one_page(admin, "/api/v1/keys", app=slug)} == {keys[0]["id"], keys[1]["id"], already["id"]}


def test_app_unknown_is_404(admin):
    missing = unique("nope")
    for response in (
        admin.get(f"/api/v1/apps/{missing}"),
        admin.patch(f"/api/v1/apps/{missing}", json={"name": "x"}),
        admin.delete(f"/api/v1/apps/{missing}"),
    ):
        assert error(response, 404, "app_not_found") == {"app": missing}


# -- permissions ---------------------------------------------------------------


def test_permissions_create_list_delete(admin, make):
    slug = make.app(permissions=())
    created = ok(
        admin.post(f"/api/v1/apps/{slug}/permissions", json={"slug": "users.read", "description": "Read users"}), 201
    )
    assert {k: created[k] for k in ("app", "slug", "description")} == {"app": slug, "slug": "users.read", "description": "Read users"}
    for perm in ("billing:export", "audit.read"):
        ok(admin.post(f"/api/v1/apps/{slug}/permissions", json={"slug": perm}), 201)
    listed = one_page(admin, f"/api/v1/apps/{slug}/permissions")
    assert [p["slug"] for p in listed] == ["audit.read", "billing:export", "users.read"]
    assert [p["slug"] for p in one_page(admin, f"/api/v1/apps/{slug}/permissions", q="USERS")] == ["users.read"]

    make.role(slug, "viewer", ["users.read", "audit.read"])
    assert ok(admin.delete(f"/api/v1/apps/{slug}/permissions/users.read"), 204) is None
    assert [p["slug"] for p in one_page(admin, f"/api/v1/apps/{slug}/permissions")] == ["audit.read", "billing:export"]
    # A deleted permission leaves the roles that held it.
    assert ok(admin.get(f"/api/v1/apps/{slug}/roles/viewer"))["permissions"] == ["audit.read"]
    error(admin.delete(f"/api/v1/apps/{slug}/permissions/users.read"), 404, "permission_not_found")


def test_permissions_are_per_app(admin, make):
    one, two = make.app(permissions=("users.read",)), make.app(permissions=("users.read",))
    ok(admin.delete(f"/api/v1/apps/{one}/permissions/users.read"), 204)
    assert [p["slug"] for p in one_page(admin, f"/api/v1/apps/{two}/permissions")] == ["users.read"]


# -- roles ---------------------------------------------------------------------


def test_roles_create_get_list_delete(service, admin, make):
    slug = make.app(permissions=("users.read", "users.write"))
    created = make.role(slug, "editor", ["users.write", "users.read"])
    assert {k: created[k] for k in ("app", "slug", "name", "permissions", "member_count")} == {
        "app": slug, "slug": "editor", "name": "Editor", "permissions": ["users.read", "users.write"], "member_count": 0,
    }
    make.role(slug, "viewer", ["users.read"])
    email = make.user()
    make.grant(slug, email, "editor")
    assert ok(admin.get(f"/api/v1/apps/{slug}/roles/editor")) == {**created, "member_count": 1}
    assert [r["slug"] for r in one_page(admin, f"/api/v1/apps/{slug}/roles")] == ["editor", "viewer"]
    assert [r["slug"] for r in one_page(admin, f"/api/v1/apps/{slug}/roles", q="view")] == ["viewer"]

    key = make.key(slug)["key"]
    assert authz(service, key, email, slug).json()["roles"] == ["editor"]
    assert ok(admin.delete(f"/api/v1/apps/{slug}/roles/editor"), 204) is None
    error(admin.get(f"/api/v1/apps/{slug}/roles/editor"), 404, "role_not_found")
    # Its grants went with it.
    assert authz(service, key, email, slug).json()["roles"] == []
    assert one_page(admin, f"/api/v1/apps/{slug}/members") == []


def test_role_patch_replaces_permissions_and_reports_impact(service, admin, make):
    slug = make.app(permissions=("a", "b", "c", "d"))
    make.role(slug, "target", ["a", "b"])
    make.role(slug, "other", ["b", "c"])
    make.role(slug, "third", ["a"])
    only, many, outsider, lapsed = (make.user() for _ in range(4))
    make.grant(slug, only, "target")  # holds a, b through target alone
    for role in ("target", "other", "third"):
        make.grant(slug, many, role)  # holds a (third) and b, c (other) elsewhere
    make.grant(slug, outsider, "other")  # not a member of target: never counted
    make.grant(slug, lapsed, "target")
    expire_grant(service, slug, lapsed, "target")  # expired: not a member

    response = ok(admin.patch(f"/api/v1/apps/{slug}/roles/target", json={"permissions": ["b", "c", "d"]}))
    assert response["permissions"] == ["b", "c", "d"]
    assert response["member_count"] == 2
    # c: only `only` newly holds it (many has it via other); d: both; a: only `only` loses it (many keeps it via third).
    assert response["impact"] == {"members": 2, "gained": {"c": 1, "d": 2}, "lost": {"a": 1}}
    assert ok(admin.get(f"/api/v1/apps/{slug}/roles/target"))["permissions"] == ["b", "c", "d"]

    key = make.key(slug)["key"]
    assert authz(service, key, only, slug).json()["permissions"] == ["b", "c", "d"]
    assert authz(service, key, many, slug).json()["permissions"] == ["a", "b", "c", "d"]

    # Emptying it: `only` loses b, c, d; `many` keeps b, c through other and loses d alone.
    emptied = ok(admin.patch(f"/api/v1/apps/{slug}/roles/target", json={"permissions": []}))
    assert emptied["permissions"] == []
    assert emptied["impact"] == {"members": 2, "gained": {}, "lost": {"b": 1, "c": 1, "d": 2}}


def test_role_patch_of_name_only_keeps_permissions(admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    make.grant(slug, make.user(), "viewer")
    before = ok(admin.get(f"/api/v1/apps/{slug}/roles/viewer"))
    response = ok(admin.patch(f"/api/v1/apps/{slug}/roles/viewer", json={"name": "Readers", "description": "Read-only"}))
    assert response == {**before, "name": "Readers", "description": "Read-only", "impact": {"members": 1, "gained": {}, "lost": {}}}


def test_role_of_one_app_cannot_use_another_apps_permission(admin, make):
    mine, theirs = make.app(permissions=("users.read",)), make.app(permissions=("billing:export",))
    details = error(
        admin.post(f"/api/v1/apps/{mine}/roles", json={"slug": "r", "name": "R", "permissions": ["billing:export"]}),
        422,
        "unknown_permission",
    )
    assert details == {"app": mine, "permissions": ["billing:export"]}
    assert one_page(admin, f"/api/v1/apps/{mine}/roles") == []
    # The permission exists, only not in this app.
    assert [p["slug"] for p in one_page(admin, f"/api/v1/apps/{theirs}/permissions")] == ["billing:export"]


# -- members -------------------------------------------------------------------


def test_members_list_and_filters(service, admin, make):
    slug = make.app(permissions=("users.read", "users.write", "billing:export"))
    make.role(slug, "viewer", ["users.read"])
    make.role(slug, "editor", ["users.read", "users.write"])
    make.role(slug, "billing", ["billing:export"])
    tag = unique("m")
    ann = make.user(f"ann-{tag}@example.com")
    ben = make.user(f"ben-{tag}@example.com")
    cat = make.user(f"cat-{tag}@example.com")
    make.user(f"dan-{tag}@example.com")  # no grant here: never a member
    make.grant(slug, ann, "viewer")
    make.grant(slug, ben, "editor")
    make.grant(slug, ben, "billing")
    make.grant(slug, cat, "billing")
    expire_grant(service, slug, cat, "billing")

    members = one_page(admin, f"/api/v1/apps/{slug}/members")
    assert [m["email"] for m in members] == [ann, ben, cat]
    by_email = {m["email"]: m for m in members}
    assert [(g["role"], g["granted_by"], g["expired"]) for g in by_email[ben]["grants"]] == [
        ("billing", SUPERADMIN, False), ("editor", SUPERADMIN, False),
    ]
    assert [(g["role"], g["expired"]) for g in by_email[cat]["grants"]] == [("billing", True)]
    assert by_email[ann]["active"] is True and by_email[ann]["name"] == "Test User"

    def emails(**params):
        return [m["email"] for m in one_page(admin, f"/api/v1/apps/{slug}/members", **params)]

    assert emails(q="BEN-") == [ben]
    assert emails(role="viewer") == [ann]
    assert emails(role="billing") == [ben]  # cat's billing grant has expired
    assert emails(role="nope") == []
    assert emails(permission="users.read") == [ann, ben]
    assert emails(permission="users.write") == [ben]
    assert emails(permission="billing:export") == [ben]
    assert emails(permission="users.read", role="viewer") == [ann]
    assert emails(permission="users.read", q="ann") == [ann]


def test_grant_put_is_idempotent_and_sets_expiry(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    url = f"/api/v1/apps/{slug}/members/{email}/roles/viewer"
    first = ok(admin.put(url))
    assert {k: first[k] for k in ("app", "email", "role", "granted_by", "expires_at", "expired")} == {
        "app": slug, "email": email, "role": "viewer", "granted_by": SUPERADMIN, "expires_at": None, "expired": False,
    }
    assert ok(admin.put(url)) == first  # same grant, same granted_at
    assert ok(admin.put(url, json={})) == first

    until = (now() + timedelta(days=7)).replace(microsecond=0)
    timed = ok(admin.put(url, json={"expires_at": until.isoformat()}))
    assert when(timed["expires_at"]) == until
    assert timed["granted_at"] == first["granted_at"]
    assert ok(admin.put(url, json={"expires_at": until.isoformat()})) == timed
    [member] = one_page(admin, f"/api/v1/apps/{slug}/members")
    assert [(g["role"], when(g["expires_at"])) for g in member["grants"]] == [("viewer", until)]
    assert authz(service, make.key(slug)["key"], email, slug).json()["roles"] == ["viewer"]

    # A PUT without expires_at makes the grant permanent again.
    assert ok(admin.put(url))["expires_at"] is None


def test_grant_put_takes_the_email_in_any_case(admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    grant = ok(admin.put(f"/api/v1/apps/{slug}/members/{email.upper()}/roles/viewer"))
    assert grant["email"] == email


def test_grant_delete_is_idempotent(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"], "editor": ["users.write"]})
    email = make.user()
    make.grant(slug, email, "viewer")
    make.grant(slug, email, "editor")
    url = f"/api/v1/apps/{slug}/members/{email}/roles/viewer"
    assert ok(admin.delete(url), 204) is None
    assert ok(admin.delete(url), 204) is None
    [member] = one_page(admin, f"/api/v1/apps/{slug}/members")
    assert [g["role"] for g in member["grants"]] == ["editor"]
    assert authz(service, make.key(slug)["key"], email, slug).json()["roles"] == ["editor"]


def test_grant_of_unknown_things_is_404(admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    stranger = f"{unique('nobody')}@example.com"
    error(admin.put(f"/api/v1/apps/{slug}/members/{stranger}/roles/viewer"), 404, "user_not_found")
    error(admin.put(f"/api/v1/apps/{slug}/members/{email}/roles/nope"), 404, "role_not_found")
    error(admin.put(f"/api/v1/apps/{unique('nope')}/members/{email}/roles/viewer"), 404, "app_not_found")
    error(admin.delete(f"/api/v1/apps/{slug}/members/{stranger}/roles/viewer"), 404, "user_not_found")
    assert one_page(admin, f"/api/v1/apps/{slug}/members") == []


# -- users ---------------------------------------------------------------------


def test_user_create_get_and_email_lowercase(admin):
    email = f"{unique('Mixed')}@Example.COM"
    created = ok(admin.post("/api/v1/users", json={"email": email, "name": "Mixed Case"}), 201)
    assert {k: created[k] for k in ("email", "name", "active")} == {"email": email.lower(), "name": "Mixed Case", "active": True}
    assert ok(admin.get(f"/api/v1/users/{email}")) == created
    assert ok(admin.get(f"/api/v1/users/{email.lower()}")) == created


def test_user_emails_are_unique_case_insensitively(admin):
    tag = unique("bob")
    ok(admin.post("/api/v1/users", json={"email": f"{tag}@x.com", "name": "Bob"}), 201)
    details = error(admin.post("/api/v1/users", json={"email": f"{tag.capitalize()}@X.com", "name": "Other Bob"}), 409, "conflict")
    assert details == {"email": f"{tag}@x.com"}
    assert [(u["email"], u["name"]) for u in one_page(admin, "/api/v1/users", q=tag)] == [(f"{tag}@x.com", "Bob")]


def test_users_list_q_and_active(admin, make):
    tag = unique("u")
    amy = make.user(f"amy-{tag}@example.com")
    bo = make.user(f"bo-{tag}@example.com", active=False)
    cy = make.user(f"cy-{unique('x')}@example.com")
    ok(admin.patch(f"/api/v1/users/{cy}", json={"name": f"Cy {tag}"}))

    def emails(**params):
        return [u["email"] for u in one_page(admin, "/api/v1/users", **params)]

    assert emails(q=tag) == [amy, bo, cy]  # q matches the name too
    assert emails(q=tag.upper()) == [amy, bo, cy]
    assert emails(q=tag, active="true") == [amy, cy]
    assert emails(q=tag, active="false") == [bo]
    assert emails(q=f"amy-{tag}") == [amy]


def test_user_deactivate_reactivate_keeps_grants(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(slug, email, "viewer")
    key = make.key(slug)["key"]

    off = ok(admin.patch(f"/api/v1/users/{email}", json={"active": False}))
    assert off["active"] is False
    assert authz(service, key, email, slug).json() == {
        "email": email, "app": slug, "found": True, "active": False, "roles": [], "permissions": [],
    }
    [member] = one_page(admin, f"/api/v1/apps/{slug}/members")
    assert (member["active"], [g["role"] for g in member["grants"]]) == (False, ["viewer"])

    on = ok(admin.patch(f"/api/v1/users/{email}", json={"active": True, "name": "Back Again"}))
    assert (on["active"], on["name"]) == (True, "Back Again")
    assert authz(service, key, email, slug).json()["roles"] == ["viewer"]
    assert ok(admin.get(f"/api/v1/users/{email}")) == on


def test_user_delete(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(slug, email, "viewer")
    assert ok(admin.delete(f"/api/v1/users/{email}"), 204) is None
    error(admin.get(f"/api/v1/users/{email}"), 404, "user_not_found")
    error(admin.delete(f"/api/v1/users/{email}"), 404, "user_not_found")
    assert one_page(admin, f"/api/v1/apps/{slug}/members") == []
    assert ok(admin.get(f"/api/v1/apps/{slug}"))["member_count"] == 0
    assert authz(service, make.key(slug)["key"], email, slug).json()["found"] is False


def test_user_access_across_apps(service, admin, make):
    crm = make.app(permissions=("users.read", "users.write"))
    make.role(crm, "viewer", ["users.read"])
    make.role(crm, "editor", ["users.read", "users.write"])
    wiki = make.app(permissions=("pages.read",))
    make.role(wiki, "reader", ["pages.read"])
    idle = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(crm, email, "viewer")
    make.grant(crm, email, "editor")
    make.grant(wiki, email, "reader")
    make.grant(idle, email, "viewer")
    expire_grant(service, idle, email, "viewer")

    access = ok(admin.get(f"/api/v1/users/{email}/access"))
    assert (access["email"], access["active"]) == (email, True)
    apps = {a["app"]: a for a in access["apps"]}
    assert set(apps) == {crm, wiki, idle}
    assert (apps[crm]["roles"], apps[crm]["permissions"]) == (["editor", "viewer"], ["users.read", "users.write"])
    assert (apps[wiki]["roles"], apps[wiki]["permissions"]) == (["reader"], ["pages.read"])
    # The expired grant is shown, flagged, and grants nothing.
    assert (apps[idle]["roles"], apps[idle]["permissions"]) == ([], [])
    assert [(g["role"], g["expired"]) for g in apps[idle]["grants"]] == [("viewer", True)]
    assert apps[crm]["app_name"] == crm.title()

    ok(admin.patch(f"/api/v1/users/{email}", json={"active": False}))
    off = ok(admin.get(f"/api/v1/users/{email}/access"))
    assert all(a["roles"] == [] and a["permissions"] == [] for a in off["apps"])
    assert sorted(len(a["grants"]) for a in off["apps"]) == [1, 1, 2]
    error(admin.get(f"/api/v1/users/{unique('x')}@example.com/access"), 404, "user_not_found")


# -- keys ----------------------------------------------------------------------


def test_key_create_and_get_never_return_the_plaintext(admin, make):
    slug = make.app()
    created = make.key(slug, name="gateway", rate_limit_per_minute=120)
    plaintext = created["key"]
    assert plaintext.startswith("phk_") and PLAINTEXT.fullmatch(plaintext)
    assert created["start"] == plaintext[:10]
    assert {k: created[k] for k in ("name", "kind", "app", "capabilities", "rate_limit_per_minute", "status", "created_by")} == {
        "name": "gateway", "kind": "app", "app": slug, "capabilities": [], "rate_limit_per_minute": 120,
        "status": "active", "created_by": SUPERADMIN,
    }
    assert created["scopes"] == [{"path": f"apps/{slug}/authz/**", "operations": ["read"]}]

    got = admin.get(f"/api/v1/keys/{created['id']}")
    assert stored(ok(got)) == stored(created)
    listed = admin.get("/api/v1/keys", params={"app": slug})
    looked_up = admin.post("/api/v1/keys/lookup", json={"key": plaintext})
    for response in (got, listed, looked_up):
        assert response.status_code == 200, response.text
        assert plaintext not in response.text and not PLAINTEXT.search(response.text)


def test_key_list_filters(service, admin, make):
    slug, other = make.app(), make.app()
    tag = unique("kf")
    active = make.key(slug, name=f"{tag}-active")
    revoked = make.key(slug, name=f"{tag}-revoked")
    expired = make.key(slug, name=f"{tag}-expired")
    elsewhere = make.key(other, name=f"{tag}-elsewhere")
    token = make.key(name=f"{tag}-token", capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    ok(admin.delete(f"/api/v1/keys/{revoked['id']}"))
    expire_key(service, expired["id"])

    def ids(**params):
        return [k["id"] for k in one_page(admin, "/api/v1/keys", **params)]

    # Newest first.
    assert ids(q=tag) == [token["id"], elsewhere["id"], expired["id"], revoked["id"], active["id"]]
    assert ids(app=slug) == [expired["id"], revoked["id"], active["id"]]
    assert ids(app=slug, status="active") == [active["id"]]
    assert ids(app=slug, status="revoked") == [revoked["id"]]
    assert ids(app=slug, status="expired") == [expired["id"]]
    assert ids(q=tag, kind="admin") == [token["id"]]
    assert ids(q=tag, kind="app", status="active") == [elsewhere["id"], active["id"]]
    assert ids(q=f"{tag}-EXPIRED") == [expired["id"]]  # names match case-insensitively
    assert ids(q=active["start"]) == [active["id"]]
    assert ids(q=active["id"]) == [active["id"]]
    assert ids(app=unique("none")) == []


def test_key_patch(admin, make):
    slug = make.app()
    created = make.key(slug)
    url = f"/api/v1/keys/{created['id']}"
    until = (now() + timedelta(days=30)).replace(microsecond=0)
    scopes = [{"path": f"apps/{slug}/authz/**", "operations": ["read"]}, {"path": "apps/*/authz/*", "operations": ["read"]}]
    patched = ok(
        admin.patch(url, json={"name": "renamed", "scopes": scopes, "rate_limit_per_minute": 60, "expires_at": until.isoformat()})
    )
    assert (patched["name"], patched["scopes"], patched["rate_limit_per_minute"]) == ("renamed", scopes, 60)
    assert when(patched["expires_at"]) == until
    assert patched["status"] == "active"
    assert stored(ok(admin.get(url))) == stored(patched)
    # Fields left out stay; null clears the rate limit.
    cleared = ok(admin.patch(url, json={"rate_limit_per_minute": None}))
    assert stored(cleared) == stored({**patched, "rate_limit_per_minute": None})


def test_key_revoke_keeps_the_record(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    created = make.key(slug)
    assert authz(service, created["key"], email, slug).status_code == 200
    revoked = ok(admin.delete(f"/api/v1/keys/{created['id']}", params={"reason": "leaked in a ticket"}))
    assert (revoked["status"], revoked["revoked_by"], revoked["revoke_reason"]) == ("revoked", SUPERADMIN, "leaked in a ticket")
    assert revoked["revoked_at"] is not None
    assert stored(ok(admin.get(f"/api/v1/keys/{created['id']}"))) == stored(revoked)
    assert authz(service, created["key"], email, slug).json()["error"]["code"] == "key_revoked"
    # Revoking again changes nothing; an edit or a rotation of a revoked key is refused.
    assert stored(ok(admin.delete(f"/api/v1/keys/{created['id']}", params={"reason": "again"}))) == stored(revoked)
    error(admin.patch(f"/api/v1/keys/{created['id']}", json={"name": "x"}), 409, "key_not_active")
    error(admin.post(f"/api/v1/keys/{created['id']}/rotate", json={"grace": "0s"}), 409, "key_not_active")
    error(admin.delete(f"/api/v1/keys/key_{'0' * 16}"), 404, "key_not_found")


def test_rotate_with_grace_keeps_the_old_key_until_then(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    old = make.key(slug, rate_limit_per_minute=500)
    started = now()
    rotated = ok(admin.post(f"/api/v1/keys/{old['id']}/rotate", json={"grace": "24h"}), 201)
    finished = now()

    previous = rotated["previous"]
    assert previous["id"] == old["id"] and previous["status"] == "active"
    # No expiry before: the old key now expires after the grace period.
    assert started + timedelta(hours=24) <= when(previous["expires_at"]) <= finished + timedelta(hours=24)
    assert rotated["id"] != old["id"] and rotated["key"] != old["key"]
    assert {k: rotated[k] for k in ("name", "kind", "app", "scopes", "capabilities", "rate_limit_per_minute", "expires_at")} == {
        k: old[k] for k in ("name", "kind", "app", "scopes", "capabilities", "rate_limit_per_minute", "expires_at")
    }
    assert authz(service, old["key"], email, slug).status_code == 200
    assert authz(service, rotated["key"], email, slug).status_code == 200
    assert stored(ok(admin.get(f"/api/v1/keys/{old['id']}"))) == stored(previous)


def test_rotate_grace_never_extends_an_earlier_expiry(admin, make):
    slug = make.app()
    soon = (now() + timedelta(hours=1)).replace(microsecond=0)
    old = make.key(slug, expires_at=soon.isoformat())
    rotated = ok(admin.post(f"/api/v1/keys/{old['id']}/rotate", json={"grace": "24h"}), 201)
    assert when(rotated["previous"]["expires_at"]) == soon  # min(now + 24h, old expiry)
    assert rotated["previous"]["status"] == "active"


def test_rotate_with_zero_grace_kills_the_old_key_at_once(service, admin, make):
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(slug, email, "viewer")
    old = make.key(slug)
    rotated = admin.post(f"/api/v1/keys/{old['id']}/rotate", json={"grace": "0s"})
    body = ok(rotated, 201)
    assert body["previous"]["status"] == "expired"
    assert authz(service, old["key"], email, slug).json()["error"]["code"] == "key_expired"
    fresh = authz(service, body["key"], email, slug)
    assert fresh.status_code == 200 and fresh.json()["roles"] == ["viewer"]
    # The successor's plaintext is in the rotate response and nowhere after it.
    for response in (
        admin.get(f"/api/v1/keys/{body['id']}"),
        admin.get("/api/v1/keys", params={"app": slug}),
        admin.post("/api/v1/keys/lookup", json={"key": body["key"]}),
    ):
        assert response.status_code == 200, response.text
        assert body["key"] not in response.text and not PLAINTEXT.search(response.text)
    assert [k["id"] for k in one_page(admin, "/api/v1/keys", app=slug, status="active")] == [body["id"]]


def test_rotate_defaults_to_24h_grace(admin, make):
    old = make.key(make.app())
    started = now()
    previous = ok(admin.post(f"/api/v1/keys/{old['id']}/rotate"), 201)["previous"]
    assert started + timedelta(hours=24) <= when(previous["expires_at"]) <= now() + timedelta(hours=24)


def test_lookup_by_plaintext_and_by_start(admin, make):
    slug = make.app()
    key = make.key(slug)
    token = make.key(capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    for body, expected in (
        ({"key": key["key"]}, key),
        ({"start": key["start"]}, key),
        ({"key": token["key"]}, token),
        ({"start": token["key"][:10]}, token),
    ):
        found = ok(admin.post("/api/v1/keys/lookup", json=body))
        assert [k["id"] for k in found["data"]] == [expected["id"]], body
        assert stored(found["data"][0]) == stored(expected)
    # A well-formed key the service never issued matches nothing.
    assert ok(admin.post("/api/v1/keys/lookup", json={"start": "phk_zzzzzz"}))["data"] == []
    error(admin.post("/api/v1/keys/lookup", json={"key": key["key"][:-1] + "!"}), 422, "invalid_key")
    error(admin.post("/api/v1/keys/lookup", json={"start": "phk_ab"}), 422, "invalid_start")


# -- explain -------------------------------------------------------------------


def test_explain_names_the_grants_behind_each_permission(service, admin, make):
    slug = make.app(permissions=("users.read", "users.write", "billing:export"))
    make.role(slug, "viewer", ["users.read"])
    make.role(slug, "editor", ["users.read", "users.write"])
    make.role(slug, "billing", ["billing:export"])
    email = make.user()
    until = (now() + timedelta(days=3)).replace(microsecond=0)
    viewer = make.grant(slug, email, "viewer")
    editor = make.grant(slug, email, "editor", expires_at=until.isoformat())
    make.grant(slug, email, "billing")
    expire_grant(service, slug, email, "billing")

    body = ok(admin.get(f"/api/v1/explain/{email.upper()}", params={"app": slug}))
    assert {k: body[k] for k in ("email", "app", "found", "active", "roles", "permissions")} == {
        "email": email, "app": slug, "found": True, "active": True,
        "roles": ["editor", "viewer"], "permissions": ["users.read", "users.write"],
    }

    def grant(g):
        return {"role": g["role"], "granted_by": g["granted_by"], "granted_at": when(g["granted_at"]), "expires_at": when(g["expires_at"])}

    assert list(body["why"]) == ["users.read", "users.write"]  # the expired billing grant explains nothing
    assert [grant(g) for g in body["why"]["users.read"]] == [grant(editor), grant(viewer)]
    assert [grant(g) for g in body["why"]["users.write"]] == [grant(editor)]
    assert grant(editor)["expires_at"] == until and grant(editor)["granted_by"] == SUPERADMIN
    assert [(g["role"], g["expired"]) for g in body["grants"]] == [("billing", True), ("editor", False), ("viewer", False)]


def test_explain_unknown_user_and_unknown_app(admin, make):
    slug = make.app()
    stranger = f"{unique('nobody')}@example.com"
    assert ok(admin.get(f"/api/v1/explain/{stranger}", params={"app": slug})) == {
        "email": stranger, "app": slug, "found": False, "active": False, "roles": [], "permissions": [], "grants": [], "why": {},
    }
    error(admin.get(f"/api/v1/explain/{stranger}", params={"app": unique("none")}), 404, "app_not_found")
