"""delivery resilience (issue 17): circuit_states, the circuit breaker of each target (written on transitions)

Revision ID: 0012
Revises: 0011 (ledger_counts)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "circuit_states",
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("interface", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("retry_at", UtcDateTime(), nullable=True),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_circuit_states")),
    )


def downgrade() -> None:
    op.drop_table("circuit_states")
