"""Indexes for the partner-read hot path: events by (consumer, received), eligibility checks with threshold

Every partner read asks for the latest ``received_at`` of a consumer's events
(has anything moved the score since it was cached?). With the index on
``consumer_id`` alone that read fetched every one of the consumer's rows; with
``received_at`` beside it, it is one index probe. Same number of B-trees to
maintain on ingest.

The probing check counts a partner's recent checks of one consumer per
threshold; with ``threshold`` in the index the count never leaves it.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_events_consumer', table_name='events')
    op.create_index('ix_events_consumer_received', 'events', ['consumer_id', 'received_at'])
    op.drop_index('ix_eligibility_checks_partner_consumer', table_name='eligibility_checks')
    op.create_index('ix_eligibility_checks_partner_consumer', 'eligibility_checks',
                    ['partner_id', 'consumer_id', 'checked_at', 'threshold'])


def downgrade() -> None:
    op.drop_index('ix_eligibility_checks_partner_consumer', table_name='eligibility_checks')
    op.create_index('ix_eligibility_checks_partner_consumer', 'eligibility_checks',
                    ['partner_id', 'consumer_id', 'checked_at'])
    op.drop_index('ix_events_consumer_received', table_name='events')
    op.create_index('ix_events_consumer', 'events', ['consumer_id'])
