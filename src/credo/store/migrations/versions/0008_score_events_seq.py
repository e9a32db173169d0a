"""Score freshness by event sequence: scores.events_seq; the events index back to (consumer_id)

0007 widened the events index to (consumer_id, received_at) so a partner read
could find a consumer's latest received_at in one probe; that made every
ingested event about 30 % dearer to insert. An online score now records the
highest event ``seq`` it saw, and a read compares it with the consumer's
current ``max(seq)``: SQLite answers that from the (consumer_id) index, whose
entries end in the rowid, so the narrow index serves both. It is also exact
where the time comparison was not (events loaded with historical received_at).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_events_consumer_received', table_name='events')
    op.create_index('ix_events_consumer', 'events', ['consumer_id'])
    with op.batch_alter_table('scores') as batch:
        batch.add_column(sa.Column('events_seq', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scores') as batch:
        batch.drop_column('events_seq')
    op.drop_index('ix_events_consumer', table_name='events')
    op.create_index('ix_events_consumer_received', 'events', ['consumer_id', 'received_at'])
