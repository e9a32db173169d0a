"""Eligibility checks by (consumer, threshold, checked_at): the probing limit across all partners

A consumer's checks by every partner in the window are counted per rung of the threshold ladder,
one index probe per rung (``service.perks._ANSWERED_RUNGS``).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_eligibility_checks_consumer_threshold', 'eligibility_checks',
                    ['consumer_id', 'threshold', 'checked_at'])


def downgrade() -> None:
    op.drop_index('ix_eligibility_checks_consumer_threshold', table_name='eligibility_checks')
