"""A deterministic demo organisation, bulk-inserted so 100k users load in seconds.

The same seed and ``now`` give the same rows, key starts included: the demo
keys are derived from the seed, so they must never guard anything real.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, func, insert, select

from pepyhat import keys, paths, schemas
from pepyhat.store.tables import APP_MEMBERS_FILL, App, Grant, Key, Permission, Role, RolePermission, User

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


def generate(
    engine: Engine,
    *,
    users: int = 200,
    apps: int = 5,
    seed: int = 7,
    now: datetime | None = None,
    key_count: int | None = None,
    crm_members: int | None = None,
) -> DemoSummary:
    """Fill the database with the demo organisation (it must not hold the demo apps yet).

    ``key_count``: at least that many keys, generated app keys added to the demo's own;
    ``crm_members``: exactly that many users with a role in crm (the first app).
    Without them the rows are those of earlier versions, seed for seed.
    """
    if users < 0 or apps < 1:
        raise ValueError("need at least one app and a non-negative number of users")
    if crm_members is not None and not 0 <= crm_members <= users:
        raise ValueError(f"--members must be between 0 and the number of users ({users})")
    if key_count is not None and key_count < 0:
        raise ValueError("--keys must not be negative")
    rng = random.Random(seed)
    # The scale options draw from their own stream, so the rows without them stay as they were.
    scale = random.Random(f"{seed}:scale")
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

        # Rows as tuples in USER_COLUMNS / GRANT_COLUMNS order: a million of them as dicts cost seconds.
        user_rows: list[tuple] = []
        grant_rows: list[tuple] = []
        taken_bases: dict[str, int] = {}  # how many emails each first.last has: the next one is numbered
        app_ids = list(roles_by_app)
        stored = _stored(conn)
        days = [stored(now - day * n) for n in range(0, 702)]  # the few distinct dates, made once
        for i in range(users):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            base = f"{first}.{last}".lower()
            n = taken_bases.get(base, 0) + 1
            taken_bases[base] = n
            email = f"{base}{n}@example.com" if n > 1 else f"{base}@example.com"
            user_id = next_user + i
            age = rng.randint(1, 700)
            created = days[age]
            user_rows.append((user_id, email, f"{first} {last}", rng.random() > 0.03, created, created))
            for app_id in rng.sample(app_ids, k=min(len(app_ids), rng.choice((0, 1, 1, 2, 2, 3)))):
                role_id, _ = rng.choice(roles_by_app[app_id][1:] if rng.random() > 0.08 else roles_by_app[app_id])
                roll = rng.random()
                expires = None
                if roll < 0.04:
                    expires = stored(now - day * rng.randint(1, 60))  # lapsed contractor access
                elif roll < 0.10:
                    expires = stored(now + day * rng.randint(1, 90))  # time-bound access
                grant_rows.append((user_id, role_id, DEMO_OPERATOR, days[age - 1], expires))

        if crm_members is not None:
            grant_rows = _crm_members(grant_rows, user_rows, roles_by_app[app_ids[0]], crm_members, scale, days)

        key_rows = []

        def key(name, kind, app_id, scopes, caps, *, created_days, expires=None, revoked=None, reason=None, limit=None, used=None, draw=rng):
            plaintext = keys.mint(kind, draw)
            key_rows.append(
                dict(
                    id=keys.new_id(draw), name=name, kind=kind, app_id=app_id,
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
        scopes = {app_id: [s.model_dump() for s in schemas.app_key_scopes(app_slugs[app_id])] for app_id in app_ids}
        for n in range(max(0, (key_count or 0) - len(key_rows))):
            # Workers' keys, spread over the apps: mostly live, some revoked, expired or expiring.
            app_id = app_ids[n % len(app_ids)]
            age, roll = scale.randint(1, 700), scale.random()
            key(
                f"{app_slugs[app_id]}-worker-{n + 1:05d}", "app", app_id, scopes[app_id], [], created_days=age,
                revoked=now - day * scale.randint(0, age - 1) if roll < 0.10 else None,
                reason="rotated" if roll < 0.10 else None,
                expires=now - day * scale.randint(1, 30) if 0.10 <= roll < 0.15 else now + day * scale.randint(1, 90) if roll < 0.25 else None,
                used=now - timedelta(minutes=scale.randint(1, 100_000)) if scale.random() < 0.8 else None,
                draw=scale,
            )

        with _bulk_load(conn):
            conn.execute(insert(App), app_rows)
            conn.execute(insert(Permission), perm_rows)
            conn.execute(insert(Role), role_rows)
            conn.execute(insert(RolePermission), rp_rows)
            _insert_many(conn, User, USER_COLUMNS, user_rows)
            _insert_many(conn, Grant, GRANT_COLUMNS, grant_rows)
            conn.execute(insert(Key), key_rows)
    return DemoSummary(apps=len(app_rows), users=len(user_rows), roles=len(role_rows), grants=len(grant_rows), keys=len(key_rows))


USER_COLUMNS = ("id", "email", "name", "active", "created_at", "updated_at")
GRANT_COLUMNS = ("user_id", "role_id", "granted_by", "granted_at", "expires_at")


def _crm_members(grant_rows, user_rows, crm_roles, wanted: int, scale: random.Random, days) -> list[tuple]:
    """The grants, with exactly ``wanted`` users holding a role in crm (some dropped or added)."""
    crm_role_ids = {role_id for role_id, _ in crm_roles}
    holders = sorted({g[0] for g in grant_rows if g[1] in crm_role_ids})
    if len(holders) > wanted:
        dropped = set(scale.sample(holders, len(holders) - wanted))
        return [g for g in grant_rows if not (g[1] in crm_role_ids and g[0] in dropped)]
    held = set(holders)
    others = [u[0] for u in user_rows if u[0] not in held]
    added = []
    for user_id in sorted(scale.sample(others, wanted - len(holders))):
        role_id, _ = scale.choice(crm_roles[1:])
        added.append((user_id, role_id, DEMO_OPERATOR, days[scale.randint(1, 700)], None))
    return grant_rows + added


BATCH = 50_000


def _stored(conn):
    """A date as the rows below hand it over: on SQLite already as the column stores it (each
    distinct date converted once, by the column type's own conversion), else as it is."""
    if conn.dialect.name != "sqlite":
        return lambda value: value
    return _converter(User.__table__.c.created_at.type, conn.dialect)


def _insert_many(conn, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert tuples in big batches; on SQLite straight through the driver (the dates in them
    already stored's, booleans as sqlite3 takes them), for SQLAlchemy's per-row work is most of the time."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(table), [dict(zip(columns, row)) for row in rows[start:start + BATCH]])
        return
    sql = f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    cursor = conn.connection.driver_connection.cursor()
    try:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, rows[start:start + BATCH])
    finally:
        cursor.close()


def _converter(column_type, dialect):
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    memo: dict = {}

    def convert(value):
        if value is None:
            return None
        try:
            return memo[value]
        except KeyError:
            memo[value] = converted = process(value)
            return converted

    return convert


# Insert triggers suspended for a bulk load, each index then built once from the whole table rather
# than fed row by row: the users' trigram index (migration 0003; 1M users: ~17 s instead of ~80 s)
# and the app members (0004; 1.5M grants: ~10 s instead of ~15 s).
REBUILT_AFTER_LOAD = {
    "users_fts_insert": "INSERT INTO users_fts(users_fts) VALUES ('rebuild')",
    "app_members_grant_insert": APP_MEMBERS_FILL,
}


# PostgreSQL's trigger keeping app_members (0004, 0005), off for a bulk load: row by row it
# rewrote each new member's row once per grant (1M users: demo-data 155 -> 247 s, and a table
# of dead rows: the Apps list's count took 174 ms, 132 filled once).
PG_MEMBERS_TRIGGER = "app_members_follow_grants"


@contextmanager
def _bulk_load(conn):
    """SQLite: a big page cache for the index builds, and the derived indexes built at the end.
    PostgreSQL: app_members filled once at the end too, and the planner's statistics taken then,
    not left to autovacuum: until then it takes 100k users for a few pages and scans them for a
    rare term (109 ms, not 3)."""
    if conn.dialect.name != "sqlite":
        suspended = conn.exec_driver_sql(
            "SELECT 1 FROM pg_trigger WHERE tgname = %s AND tgrelid = 'grants'::regclass", (PG_MEMBERS_TRIGGER,)
        ).first() is not None
        # In the load's transaction: if the load fails, the rollback turns the trigger back on too.
        if suspended:
            conn.exec_driver_sql(f"ALTER TABLE grants DISABLE TRIGGER {PG_MEMBERS_TRIGGER}")
        yield
        if suspended:
            conn.exec_driver_sql(APP_MEMBERS_FILL)
            conn.exec_driver_sql(f"ALTER TABLE grants ENABLE TRIGGER {PG_MEMBERS_TRIGGER}")
        conn.exec_driver_sql("ANALYZE")  # every table of the database: none to forget
        return
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB, this connection, this load
    suspended = []
    for name, rebuild in REBUILT_AFTER_LOAD.items():
        trigger = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)).first()
        if trigger is not None:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            suspended.append((rebuild, trigger.sql))
    try:
        yield
        for rebuild, sql in suspended:
            conn.exec_driver_sql(rebuild)
            conn.exec_driver_sql(sql)
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
