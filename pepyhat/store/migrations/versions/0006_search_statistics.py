"""PostgreSQL: a finer histogram of users' emails and names, so a search's rows are estimated.

The planner estimates ``ILIKE '%term%'`` by trying the pattern on the column's
histogram.  With the default 101 entries a term 3% of users hold matched none of
them, so it took 33,519 matches for 199 and chose to fetch and sort them all for
a members page (123 ms at 1M users) instead of walking the app's members in page
order (7 ms).  With 1,001 entries it sees about 3%.  SQLite is not concerned
(``pages.common_at`` makes that choice there).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

COLUMNS = ("email", "name")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in COLUMNS:
            op.execute(f"ALTER TABLE users ALTER COLUMN {name} SET STATISTICS 1000")
        op.execute("ANALYZE users")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in COLUMNS:
            op.execute(f"ALTER TABLE users ALTER COLUMN {name} SET STATISTICS -1")
