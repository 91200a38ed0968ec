"""How long each app member stays one: the Apps list's member counts without reading every grant.

``app_members.live_until`` is the latest expiry among the user's grants in the
app, NULL when one of them never expires: the member holds a live grant at ``t``
exactly when it is NULL or later than ``t`` (``queries.live_grant``).  The Apps
list counted members with ``count(DISTINCT user_id)`` over every live grant of
its apps' roles, a read of every grant through the roles' index: 2.7 s for 100
apps at 1M users (10 ms at 10k).  Counted along ``app_members`` it is one walk of
the apps' own rows: 145 ms (5 at 10k), still growing with the members it counts.

The triggers of 0004 become ones that also work ``live_until`` out again for
the user's rows after any change to a grant, its expiry included (a user has
grants in a few apps, so that is a few rows).  As in 0004, a batch
(move-and-copy) migration of ``grants`` on SQLite drops these triggers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import importlib

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Its statements, as 0004 wrote them (a module whose name starts with a digit: imported by name).
_0004 = importlib.import_module("pepyhat.store.migrations.versions.0004_app_members")
ADD, REMOVE = _0004.ADD, _0004.REMOVE
# NULL when one of the user's grants in the app never expires (count() skips NULLs), else the latest.
LIVE_UNTIL = (
    "SELECT CASE WHEN count(g.expires_at) < count(*) THEN NULL ELSE max(g.expires_at) END "
    "FROM grants g JOIN roles r ON r.id = g.role_id WHERE g.user_id = app_members.user_id AND r.app_id = app_members.app_id"
)
SET_LIVE_UNTIL = "UPDATE app_members SET live_until = (" + LIVE_UNTIL + ")"
RECOMPUTE = SET_LIVE_UNTIL + " WHERE user_id = {row}.user_id"

SQLITE_UP = [
    *_0004.SQLITE_DOWN,
    "CREATE TRIGGER app_members_grant_insert AFTER INSERT ON grants BEGIN "
    f"{ADD.format(new='new')}; {RECOMPUTE.format(row='new')}; END",
    "CREATE TRIGGER app_members_grant_delete AFTER DELETE ON grants BEGIN "
    f"{REMOVE.format(old='old')}; {RECOMPUTE.format(row='old')}; END",
    "CREATE TRIGGER app_members_grant_update AFTER UPDATE OF user_id, role_id, expires_at ON grants BEGIN "
    f"{REMOVE.format(old='old')}; {ADD.format(new='new')}; "
    f"{RECOMPUTE.format(row='old')}; {RECOMPUTE.format(row='new')}; END",
]
SQLITE_DOWN = [*_0004.SQLITE_DOWN, *_0004.SQLITE_UP]

POSTGRES_UP = [
    *_0004.POSTGRES_DOWN,
    "CREATE FUNCTION app_members_follow_grants() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "  IF TG_OP IN ('DELETE', 'UPDATE') THEN\n"
    "    PERFORM 1 FROM users WHERE id = OLD.user_id FOR NO KEY UPDATE;\n"
    f"    {REMOVE.format(old='OLD')};\n"
    "  END IF;\n"
    "  IF TG_OP IN ('INSERT', 'UPDATE') THEN\n"
    "    PERFORM 1 FROM users WHERE id = NEW.user_id FOR NO KEY UPDATE;\n"
    f"    {ADD.format(new='NEW')};\n"
    f"    {RECOMPUTE.format(row='NEW')};\n"
    "  END IF;\n"
    "  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id) THEN\n"
    f"    {RECOMPUTE.format(row='OLD')};\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END $$",
    "CREATE TRIGGER app_members_follow_grants AFTER INSERT OR DELETE OR UPDATE OF user_id, role_id, expires_at "
    "ON grants FOR EACH ROW EXECUTE FUNCTION app_members_follow_grants()",
]
POSTGRES_DOWN = [*_0004.POSTGRES_DOWN, *_0004.POSTGRES_UP]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column('app_members', sa.Column('live_until', sa.DateTime(timezone=True), nullable=True))
    op.execute(SET_LIVE_UNTIL)
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.execute("ALTER TABLE app_members DROP COLUMN live_until")
