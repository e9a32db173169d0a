"""Adverse-action notices addressed to the consumer (the partner gets only a reference and a link)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'adverse_action_notices',
        sa.Column('id', sa.String(40), nullable=False),
        sa.Column('consumer_id', sa.String(128), nullable=False),
        sa.Column('partner_id', sa.String(64), nullable=False),
        sa.Column('check_id', sa.String(32), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('link_token_sha256', sa.String(64), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['partner_id'], ['partners.id'],
                                name='fk_adverse_action_notices_partner_id_partners'),
        sa.PrimaryKeyConstraint('id', name='pk_adverse_action_notices'),
        sa.UniqueConstraint('check_id', name='uq_adverse_action_notices_check_id'),
    )
    op.create_index('ix_adverse_action_notices_consumer_id', 'adverse_action_notices', ['consumer_id'])


def downgrade() -> None:
    op.drop_index('ix_adverse_action_notices_consumer_id', table_name='adverse_action_notices')
    op.drop_table('adverse_action_notices')
