"""access_ledger: append-only, hash-chained record of every read of a consumer's score

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_ledger",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumer_ref", sa.String(length=128), nullable=False),
        sa.Column("consumer_salt", sa.String(length=32), nullable=True),
        sa.Column("consumer_commit", sa.String(length=64), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_ref", sa.String(length=128), nullable=False),
        sa.Column("actor_salt", sa.String(length=32), nullable=True),
        sa.Column("actor_commit", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.String(length=64), nullable=True),
        sa.Column("disclosed", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("covers", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_ledger")),
        sa.UniqueConstraint("prev_hash", name="uq_access_ledger_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_access_ledger_hash"),
    )
    with op.batch_alter_table("access_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_access_ledger_consumer_ref", ["consumer_ref", "seq"], unique=False)


def downgrade() -> None:
    op.drop_table("access_ledger")
