"""A deterministic demo organisation, bulk-inserted so 100k users load in seconds.

The same seed and ``now`` give the same rows, key starts included: the demo
keys are derived from the seed, so they must never guard anything real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, insert, select

from pepyhat import keys, paths, schemas
from pepyhat.store.tables import App, Grant, Key, Permission, Role, RolePermission, User

CATALOGUE: list[tuple[str, str, str, list[str]]] = [
    ("crm", "CRM", "Customer accounts, contacts and deals", ["accounts", "contacts", "deals", "reports"]),
    ("wiki", "Wiki", "Internal documentation", ["pages", "spaces", "comments"]),
    ("billing", "Billing", "Invoices, payments and refunds", ["invoices", "payments", "refunds", "customers"]),
    ("hr", "HR Portal", "People, time off and reviews", ["employees", "timeoff", "reviews"]),
    ("support", "Support Desk", "Tickets and macros", ["tickets", "macros", "customers"]),
    ("analytics", "Analytics", "Dashboards and exports", ["dashboards", "exports", "datasets"]),
    ("deploy", "Deploy", "Releases and environments", ["releases", "environments", "secrets"]),
    ("inventory", "Inventory", "Stock, warehouses and orders", ["items", "warehouses", "orders"]),
]
ACTIONS = ["read", "write", "delete"]
FIRST = (
    "Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Karl Laura Mallory Niaj Olivia Peggy Quentin Rupert "
    "Sybil Trent Uma Victor Walter Xena Yusuf Zoe Amara Bruno Chen Dmitri Elif Farah Goran Hana Ines Jonas Kenji "
    "Leila Mateo Nadia Omar Priya Rosa Sven Tariq Ursula Vera Wei Yara"
).split()
LAST = (
    "Anderson Brown Castillo Dubois Eriksen Fischer Garcia Hansen Ito Johansson Kowalski Lopez Martin Nakamura "
    "Okafor Petrov Quinn Rossi Schmidt Tanaka Uddin Varga Weber Xu Yilmaz Zimmermann Almeida Becker Costa Novak"
).split()
DEMO_OPERATOR = "demo-data"


@dataclass
class DemoSummary:
    apps: int
    users: int
    roles: int
    grants: int
    keys: int


def _catalogue(count: int):
    for i in range(count):
        if i < len(CATALOGUE):
            yield CATALOGUE[i]
        else:
            n = i + 1
            yield (f"app-{n:03d}", f"App {n:03d}", f"Generated demo app {n}", ["records", "reports"])


def _ids(conn, table) -> int:
    return conn.execute(select(func.coalesce(func.max(table.id), 0))).scalar_one()


def generate(engine: Engine, *, users: int = 200, apps: int = 5, seed: int = 7, now: datetime | None = None) -> DemoSummary:
    """Fill the database with the demo organisation (it must not hold the demo apps yet)."""
    if users < 0 or apps < 1:
        raise ValueError("need at least one app and a non-negative number of users")
    rng = random.Random(seed)
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    day = timedelta(days=1)
    with engine.begin() as conn:
        wanted = [c[0] for c in _catalogue(apps)]
        taken = conn.execute(select(App.slug).where(App.slug.in_(wanted))).scalars().all()
        if taken:
            raise ValueError(f"demo apps already present ({', '.join(sorted(taken))}); use an empty database")
        next_app, next_perm, next_role, next_user = (_ids(conn, t) + 1 for t in (App, Permission, Role, User))

        app_rows, perm_rows, role_rows, rp_rows = [], [], [], []
        roles_by_app: dict[int, list[tuple[int, str]]] = {}
        app_slugs: dict[int, str] = {}
        for slug, name, description, resources in _catalogue(apps):
            app_id = next_app
            next_app += 1
            created = now - day * rng.randint(200, 900)
            app_rows.append(dict(id=app_id, slug=slug, name=name, description=description, created_at=created, updated_at=created))
            app_slugs[app_id] = slug
            perms: dict[str, int] = {}
            for resource in resources:
                for action in ACTIONS:
                    perm = f"{resource}.{action}"
                    perms[perm] = next_perm
                    perm_rows.append(dict(id=next_perm, app_id=app_id, slug=perm, description=f"{action.title()} {resource}", created_at=created))
                    next_perm += 1
            plan = {
                "admin": ("Administrator", "Everything in the app", list(perms)),
                "editor": ("Editor", "Read and change, no deletes", [p for p in perms if not p.endswith(".delete")]),
                "viewer": ("Viewer", "Read only", [p for p in perms if p.endswith(".read")]),
                f"{resources[0]}-manager": (
                    f"{resources[0].title()} manager",
                    f"Owns {resources[0]}",
                    [p for p in perms if p.startswith(resources[0] + ".")],
                ),
            }
            roles_by_app[app_id] = []
            for role_slug, (role_name, role_desc, role_perms) in plan.items():
                role_rows.append(dict(id=next_role, app_id=app_id, slug=role_slug, name=role_name, description=role_desc, created_at=created, updated_at=created))
                rp_rows.extend(dict(role_id=next_role, permission_id=perms[p]) for p in role_perms)
                roles_by_app[app_id].append((next_role, role_slug))
                next_role += 1

        user_rows, grant_rows = [], []
        seen: set[str] = set()
        app_ids = list(roles_by_app)
        for i in range(users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            base = f"{first}.{last}".lower()
            email = f"{base}@example.com"
            n = 1
            while email in seen:
                n += 1
                email = f"{base}{n}@example.com"
            seen.add(email)
            user_id = next_user + i
            created = now - day * rng.randint(1, 700)
            user_rows.append(
                dict(id=user_id, email=email, name=f"{first} {last}", active=rng.random() > 0.03, created_at=created, updated_at=created)
            )
            for app_id in rng.sample(app_ids, k=min(len(app_ids), rng.choice((0, 1, 1, 2, 2, 3)))):
                role_id, _ = rng.choice(roles_by_app[app_id][1:] if rng.random() > 0.08 else roles_by_app[app_id])
                roll = rng.random()
                expires = None
                if roll < 0.04:
                    expires = now - day * rng.randint(1, 60)  # lapsed contractor access
                elif roll < 0.10:
                    expires = now + day * rng.randint(1, 90)  # time-bound access
                grant_rows.append(
                    dict(user_id=user_id, role_id=role_id, granted_by=DEMO_OPERATOR, granted_at=created + day, expires_at=expires)
                )

        key_rows = []

        def key(name, kind, app_id, scopes, caps, *, created_days, expires=None, revoked=None, reason=None, limit=None, used=None):
            plaintext = keys.mint(kind, rng)
            key_rows.append(
                dict(
                    id=keys.new_id(rng), name=name, kind=kind, app_id=app_id,
                    app_slug=app_slugs.get(app_id) if app_id else None,
                    hash=keys.digest(plaintext), start=keys.start_of(plaintext), scopes=scopes, capabilities=caps,
                    rate_limit_per_minute=limit, created_at=now - day * created_days, created_by=DEMO_OPERATOR,
                    expires_at=expires, last_used_at=used, revoked_at=revoked,
                    revoked_by=DEMO_OPERATOR if revoked else None, revoke_reason=reason,
                )
            )

        for n, app_id in enumerate(app_ids):
            slug = app_slugs[app_id]
            authz_scope = [s.model_dump() for s in schemas.app_key_scopes(slug)]
            key(f"{slug}-production", "app", app_id, authz_scope, [], created_days=120 + n, limit=6000,
                used=now - timedelta(minutes=rng.randint(1, 300)))
            if n == 0:
                key(f"{slug}-staging", "app", app_id, authz_scope, [], created_days=90, expires=now + day * 3,
                    used=now - day * 2)
                key(f"{slug}-laptop-leak", "app", app_id, authz_scope, [], created_days=60, revoked=now - day * 20,
                    reason="pasted in a public channel", used=now - day * 21)
            if n == 1:
                key(f"{slug}-ci", "app", app_id, authz_scope, [], created_days=200, expires=now - day * 10,
                    used=now - day * 11)
        key("auditor", "admin", None, [{"path": "**", "operations": ["read"]}],
            ["apps.read", "audit.read", "keys.read", "users.read"], created_days=30, expires=now + day * 60)
        crm = app_slugs[app_ids[0]]
        key(f"{crm}-delegated-admin", "admin", None, [{"path": f"{paths.app(crm)}/**", "operations": ["*"]}],
            ["apps.read", "apps.write", "grants.write", "keys.manage", "keys.read", "users.read", "authz.explain"],
            created_days=15)

        conn.execute(insert(App), app_rows)
        conn.execute(insert(Permission), perm_rows)
        conn.execute(insert(Role), role_rows)
        conn.execute(insert(RolePermission), rp_rows)
        for start in range(0, len(user_rows), 20_000):
            conn.execute(insert(User), user_rows[start:start + 20_000])
        for start in range(0, len(grant_rows), 20_000):
            conn.execute(insert(Grant), grant_rows[start:start + 20_000])
        conn.execute(insert(Key), key_rows)
    return DemoSummary(apps=len(app_rows), users=len(user_rows), roles=len(role_rows), grants=len(grant_rows), keys=len(key_rows))
