"""Trigram indexes for substring search: a filter over 100k users must not scan them.

SQLite: an FTS5 table with the trigram tokenizer over users' email and name,
external content (the text stays in ``users`` only), kept in step by triggers.
Beware: a batch (move-and-copy) migration of ``users`` on SQLite drops these
triggers with the old table; such a migration must create them again.
PostgreSQL: ``pg_trgm`` GIN indexes, which ILIKE uses as it is.  Keys are
searched by name on PostgreSQL through one too; on SQLite their few
thousand rows are scanned (``keys`` has no integer key an external-content
index could follow: VACUUM may renumber its rowids).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE users_fts USING fts5("
    "email, name, content='users', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER users_fts_insert AFTER INSERT ON users BEGIN "
    "INSERT INTO users_fts(rowid, email, name) VALUES (new.id, new.email, new.name); END",
    "CREATE TRIGGER users_fts_delete AFTER DELETE ON users BEGIN "
    "INSERT INTO users_fts(users_fts, rowid, email, name) VALUES ('delete', old.id, old.email, old.name); END",
    "CREATE TRIGGER users_fts_update AFTER UPDATE OF id, email, name ON users BEGIN "
    "INSERT INTO users_fts(users_fts, rowid, email, name) VALUES ('delete', old.id, old.email, old.name); "
    "INSERT INTO users_fts(rowid, email, name) VALUES (new.id, new.email, new.name); END",
    "INSERT INTO users_fts(users_fts) VALUES ('rebuild')",  # the users already there
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS users_fts_update",
    "DROP TRIGGER IF EXISTS users_fts_delete",
    "DROP TRIGGER IF EXISTS users_fts_insert",
    "DROP TABLE IF EXISTS users_fts",
]
POSTGRES_INDEXES = {"ix_users_email_trgm": ("users", "email"), "ix_users_name_trgm": ("users", "name"),
                    "ix_keys_name_trgm": ("keys", "name")}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in POSTGRES_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
        return
    for name in POSTGRES_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # Fails (rather than breaking them) if other objects use pg_trgm.
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
