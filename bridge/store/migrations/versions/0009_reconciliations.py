"""reconciliation (issue 17): the reconciliations table, one row per (run, interface, path, business date).

Revision ID: 0009
Revises: 0008 (admin API)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reconciliations',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.String(length=36), nullable=False),
        sa.Column('interface', sa.String(length=200), nullable=False),
        sa.Column('path', sa.String(length=10), nullable=False),
        sa.Column('business_date', sa.String(length=10), nullable=False),
        sa.Column('ledger_count', sa.Integer(), nullable=False),
        sa.Column('ledger_amount', sa.String(length=60), nullable=True),
        sa.Column('target_count', sa.Integer(), nullable=True),
        sa.Column('target_amount', sa.String(length=60), nullable=True),
        sa.Column('differences', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliations')),
    )
    with op.batch_alter_table('reconciliations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliations_interface_created_at'), ['interface', 'created_at'])
        batch_op.create_index(batch_op.f('ix_reconciliations_run_id'), ['run_id'])


def downgrade() -> None:
    op.drop_table('reconciliations')
