"""cluster (issue 18): lease fencing tokens and the node registry

Revision ID: 0013
Revises: 0012 (circuit_states)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("token", sa.BigInteger(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("acquired_at", UtcDateTime(), nullable=True))
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("stopped_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
    )
    op.create_index("ix_nodes_heartbeat_at", "nodes", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_nodes_heartbeat_at", table_name="nodes")
    op.drop_table("nodes")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("acquired_at")
        batch.drop_column("token")
