"""disputes: consumer's added information (one extension, FCRA §611(a)(1)(B)); dispute notices to the
furnisher and the consumer (§611(a)(2), (a)(6))

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('information', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('information_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('dispute_notices',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('dispute_id', BigId, nullable=False),
    sa.Column('consumer_id', sa.String(length=128), nullable=False),
    sa.Column('partner_id', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_dispute_notices_dispute_id_disputes')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_dispute_notices_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute_notices'))
    )
    with op.batch_alter_table('dispute_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispute_notices_dispute_id'), ['dispute_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispute_notices_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index('ix_dispute_notices_partner_recipient', ['partner_id', 'recipient', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dispute_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_notices_partner_recipient')
        batch_op.drop_index(batch_op.f('ix_dispute_notices_consumer_id'))
        batch_op.drop_index(batch_op.f('ix_dispute_notices_dispute_id'))
    op.drop_table('dispute_notices')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_column('information_at')
        batch_op.drop_column('information')
