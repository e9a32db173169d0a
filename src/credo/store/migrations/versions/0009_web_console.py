"""The web app's console: operators and browser sessions of the partner console and operator pages

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'operators',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('username', sa.String(128), nullable=False),
        sa.Column('password_hash', sa.String(200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_operators'),
        sa.UniqueConstraint('username', name='uq_operators_username'),
    )
    op.create_table(
        'console_sessions',
        sa.Column('token_sha256', sa.String(64), nullable=False),
        sa.Column('role', sa.String(16), nullable=False),
        sa.Column('subject', sa.String(64), nullable=False),
        sa.Column('api_key_id', sa.String(32), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('token_sha256', name='pk_console_sessions'),
    )


def downgrade() -> None:
    op.drop_table('console_sessions')
    op.drop_table('operators')
