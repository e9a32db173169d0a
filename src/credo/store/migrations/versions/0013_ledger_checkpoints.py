"""Signed checkpoints of the access ledger's head

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ledger_checkpoints',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.String(64), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signature', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('seq', name='pk_ledger_checkpoints'),
    )


def downgrade() -> None:
    op.drop_table('ledger_checkpoints')
