"""Key forensics: where a key was last used from, and how often it was tried once dead.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs on both backends (SQLite allows NOT NULL with a default): existing
    # keys start at 0 refusals and no known address.
    with op.batch_alter_table('keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_used_from', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('refused_since_revoke', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('keys', schema=None) as batch_op:
        batch_op.drop_column('refused_since_revoke')
        batch_op.drop_column('last_used_from')
