"""Friends circles and the band-guessing game: circles, members, invitations, join requests, guesses,
blocks, and the rate-limited actions (apart from every table a score is computed from)

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'circles',
        sa.Column('id', sa.String(16), nullable=False),
        sa.Column('name', sa.String(60), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_circles'),
    )
    op.create_table(
        'circle_members',
        sa.Column('id', sa.String(16), nullable=False),
        sa.Column('circle_id', sa.String(16), nullable=False),
        sa.Column('consumer_id', sa.String(128), nullable=False),
        sa.Column('display_name', sa.String(40), nullable=False),
        sa.Column('sharing', sa.String(8), nullable=False),
        sa.Column('badges', sa.JSON(), nullable=False),
        sa.Column('invited_by', sa.String(16)),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name='fk_circle_members_circle_id_circles'),
        sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'], name='fk_circle_members_consumer_id_consumers'),
        sa.PrimaryKeyConstraint('id', name='pk_circle_members'),
        sa.UniqueConstraint('circle_id', 'consumer_id', name='uq_circle_members_circle_consumer'),
    )
    op.create_index('ix_circle_members_consumer_id', 'circle_members', ['consumer_id'])
    op.create_table(
        'circle_invitations',
        sa.Column('id', sa.String(16), nullable=False),
        sa.Column('circle_id', sa.String(16), nullable=False),
        sa.Column('inviter_id', sa.String(16), nullable=False),
        sa.Column('code_sha256', sa.String(64), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=False),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name='fk_circle_invitations_circle_id_circles'),
        sa.ForeignKeyConstraint(['inviter_id'], ['circle_members.id'],
                                name='fk_circle_invitations_inviter_id_circle_members'),
        sa.PrimaryKeyConstraint('id', name='pk_circle_invitations'),
        sa.UniqueConstraint('code_sha256', name='uq_circle_invitations_code_sha256'),
    )
    op.create_index('ix_circle_invitations_circle_id', 'circle_invitations', ['circle_id'])
    op.create_index('ix_circle_invitations_inviter_id', 'circle_invitations', ['inviter_id'])
    op.create_table(
        'circle_join_requests',
        sa.Column('id', sa.String(16), nullable=False),
        sa.Column('invitation_id', sa.String(16), nullable=False),
        sa.Column('circle_id', sa.String(16), nullable=False),
        sa.Column('consumer_id', sa.String(128), nullable=False),
        sa.Column('display_name', sa.String(40), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['invitation_id'], ['circle_invitations.id'],
                                name='fk_circle_join_requests_invitation_id_circle_invitations'),
        sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name='fk_circle_join_requests_circle_id_circles'),
        sa.ForeignKeyConstraint(['consumer_id'], ['consumers.id'],
                                name='fk_circle_join_requests_consumer_id_consumers'),
        sa.PrimaryKeyConstraint('id', name='pk_circle_join_requests'),
        sa.UniqueConstraint('circle_id', 'consumer_id', name='uq_circle_join_requests_circle_consumer'),
    )
    op.create_index('ix_circle_join_requests_invitation_id', 'circle_join_requests', ['invitation_id'])
    op.create_index('ix_circle_join_requests_consumer_id', 'circle_join_requests', ['consumer_id'])
    op.create_table(
        'circle_guesses',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('circle_id', sa.String(16), nullable=False),
        sa.Column('guesser_id', sa.String(16), nullable=False),
        sa.Column('target_id', sa.String(16), nullable=False),
        sa.Column('period', sa.String(7), nullable=False),
        sa.Column('guessed_band', sa.String(16), nullable=False),
        sa.Column('feedback', sa.String(8), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('guessed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['circle_id'], ['circles.id'], name='fk_circle_guesses_circle_id_circles'),
        sa.ForeignKeyConstraint(['guesser_id'], ['circle_members.id'],
                                name='fk_circle_guesses_guesser_id_circle_members'),
        sa.ForeignKeyConstraint(['target_id'], ['circle_members.id'],
                                name='fk_circle_guesses_target_id_circle_members'),
        sa.PrimaryKeyConstraint('id', name='pk_circle_guesses'),
        sa.UniqueConstraint('guesser_id', 'target_id', 'period', name='uq_circle_guesses_guesser_target_period'),
    )
    op.create_index('ix_circle_guesses_circle_id', 'circle_guesses', ['circle_id'])
    op.create_index('ix_circle_guesses_target_id', 'circle_guesses', ['target_id'])
    op.create_table(
        'circle_blocks',
        sa.Column('id', sa.String(16), nullable=False),
        sa.Column('blocker_id', sa.String(128), nullable=False),
        sa.Column('blocked_id', sa.String(128), nullable=False),
        sa.Column('label', sa.String(40), nullable=False),
        sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['blocker_id'], ['consumers.id'], name='fk_circle_blocks_blocker_id_consumers'),
        sa.ForeignKeyConstraint(['blocked_id'], ['consumers.id'], name='fk_circle_blocks_blocked_id_consumers'),
        sa.PrimaryKeyConstraint('id', name='pk_circle_blocks'),
        sa.UniqueConstraint('blocker_id', 'blocked_id', name='uq_circle_blocks_blocker_blocked'),
    )
    op.create_index('ix_circle_blocks_blocked_id', 'circle_blocks', ['blocked_id'])
    op.create_table(
        'circle_actions',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('consumer_id', sa.String(128), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_circle_actions'),
    )
    op.create_index('ix_circle_actions_consumer_kind', 'circle_actions', ['consumer_id', 'kind', 'at'])


def downgrade() -> None:
    op.drop_index('ix_circle_actions_consumer_kind', table_name='circle_actions')
    op.drop_table('circle_actions')
    op.drop_index('ix_circle_blocks_blocked_id', table_name='circle_blocks')
    op.drop_table('circle_blocks')
    op.drop_index('ix_circle_guesses_target_id', table_name='circle_guesses')
    op.drop_index('ix_circle_guesses_circle_id', table_name='circle_guesses')
    op.drop_table('circle_guesses')
    op.drop_index('ix_circle_join_requests_consumer_id', table_name='circle_join_requests')
    op.drop_index('ix_circle_join_requests_invitation_id', table_name='circle_join_requests')
    op.drop_table('circle_join_requests')
    op.drop_index('ix_circle_invitations_inviter_id', table_name='circle_invitations')
    op.drop_index('ix_circle_invitations_circle_id', table_name='circle_invitations')
    op.drop_table('circle_invitations')
    op.drop_index('ix_circle_members_consumer_id', table_name='circle_members')
    op.drop_table('circle_members')
    op.drop_table('circles')
