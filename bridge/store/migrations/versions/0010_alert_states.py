"""alerts (issue 19): alert_states, one row per (interface, rule) with its state and whether it was sent.

Revision ID: 0010
Revises: 0009 (reconciliations)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert_states',
        sa.Column('interface', sa.String(length=200), nullable=False),
        sa.Column('rule', sa.String(length=50), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('since', UtcDateTime(), nullable=False),
        sa.Column('notified', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('interface', 'rule', name=op.f('pk_alert_states')),
    )


def downgrade() -> None:
    op.drop_table('alert_states')
