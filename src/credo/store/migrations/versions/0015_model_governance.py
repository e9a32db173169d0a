"""Model governance: the model registry and its serving pointer, evaluation samples, the operator log,
drift reports, and the audit store of attributes used only to test fairness

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'models',
        sa.Column('version', sa.String(80), nullable=False),
        sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('registered_by', sa.String(128), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('digest', sa.String(64), nullable=False),
        sa.Column('manifest', sa.Text(), nullable=False),
        sa.Column('champion', sa.Text(), nullable=False),
        sa.Column('challenger', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('version', name='pk_models'),
    )
    op.create_table(
        'model_evaluation',
        sa.Column('version', sa.String(80), nullable=False),
        sa.Column('sample', sa.String(16), nullable=False),
        sa.Column('row', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('subject_id', sa.String(200), nullable=False),
        sa.Column('observed_on', sa.DateTime(timezone=True), nullable=True),
        sa.Column('bad', sa.Integer(), nullable=False),
        sa.Column('features', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['version'], ['models.version'], name='fk_model_evaluation_version_models'),
        sa.PrimaryKeyConstraint('version', 'sample', 'row', name='pk_model_evaluation'),
    )
    op.create_index('ix_model_evaluation_subject_id', 'model_evaluation', ['subject_id'])
    op.create_table(
        'model_serving',
        sa.Column('slot', sa.String(16), nullable=False),
        sa.Column('version', sa.String(80), nullable=False),
        sa.Column('model', sa.String(16), nullable=False),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('log_seq', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['version'], ['models.version'], name='fk_model_serving_version_models'),
        sa.PrimaryKeyConstraint('slot', name='pk_model_serving'),
    )
    op.create_table(
        'operator_log',
        sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('operator', sa.String(128), nullable=False),
        sa.Column('action', sa.String(32), nullable=False),
        sa.Column('model_version', sa.String(80), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('prev_hash', sa.String(64), nullable=False),
        sa.Column('hash', sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint('seq', name='pk_operator_log'),
        sa.UniqueConstraint('prev_hash', name='uq_operator_log_prev_hash'),
    )
    op.create_table(
        'monitor_reports',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('run_id', sa.String(40), nullable=False),
        sa.Column('previous_run_id', sa.String(40), nullable=True),
        sa.Column('model_version', sa.String(80), nullable=False),
        sa.Column('level', sa.String(16), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_monitor_reports'),
    )
    op.create_index('ix_monitor_reports_created_at', 'monitor_reports', ['created_at'])
    # the audit store (credo.fairness.attributes): its own metadata, never joined into features
    op.create_table(
        'audit_attributes',
        sa.Column('subject_id', sa.String(200), nullable=False),
        sa.Column('attribute', sa.String(64), nullable=False),
        sa.Column('value', sa.String(64), nullable=False),
        sa.Column('source', sa.String(200), nullable=False),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('subject_id', 'attribute', name='pk_audit_attributes'),
    )


def downgrade() -> None:
    op.drop_table('audit_attributes')
    op.drop_index('ix_monitor_reports_created_at', table_name='monitor_reports')
    op.drop_table('monitor_reports')
    op.drop_table('operator_log')
    op.drop_table('model_serving')
    op.drop_index('ix_model_evaluation_subject_id', table_name='model_evaluation')
    op.drop_table('model_evaluation')
    op.drop_table('models')
