"""Hardening: the issuer keys a store signed with, presentation nonces used, failed logins

``issuer_keys`` lets a server refuse a key ring that is not the one the store's credentials and
answers were signed with (instead of silently generating a new key); it is filled from the keys of
the credentials already issued. ``used_nonces`` makes an online presentation single-use.
``login_failures`` backs the login rate limits (usernames and clients stored hashed).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'issuer_keys',
        sa.Column('kid', sa.String(64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('kid', name='pk_issuer_keys'),
    )
    op.execute("INSERT INTO issuer_keys (kid, recorded_at) "
               "SELECT kid, MIN(issued_at) FROM issued_credentials GROUP BY kid")
    op.create_table(
        'used_nonces',
        sa.Column('digest', sa.String(64), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name='pk_used_nonces'),
    )
    op.create_index('ix_used_nonces_expires_at', 'used_nonces', ['expires_at'])
    op.create_table(
        'login_failures',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('username_sha256', sa.String(64), nullable=False),
        sa.Column('client_sha256', sa.String(64), nullable=False),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_login_failures'),
    )
    op.create_index('ix_login_failures_username', 'login_failures', ['username_sha256', 'failed_at'])
    op.create_index('ix_login_failures_client', 'login_failures', ['client_sha256', 'failed_at'])
    op.create_index('ix_login_failures_failed_at', 'login_failures', ['failed_at'])


def downgrade() -> None:
    op.drop_table('login_failures')
    op.drop_index('ix_used_nonces_expires_at', table_name='used_nonces')
    op.drop_table('used_nonces')
    op.drop_table('issuer_keys')
