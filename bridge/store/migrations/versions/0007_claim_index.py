"""claims that never read the backlog: the claim index (status, target, next_attempt_at, id)

A claim takes due pending deliveries of one target oldest-due first and stops at its limit. With the old
index (status, target, next_attempt_at) plus ``ORDER BY id`` it read and sorted every due delivery of the
target first (a temp B-tree); ordered by (next_attempt_at, id) along this index it reads what it claims.
The unused (interface, path, role, business_key, id) index goes: lanes are per target since 0004.

Revision ID: 0007
Revises: 0006
"""

from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_target_next_attempt_at")
        batch_op.drop_index("ix_deliveries_interface_path_role_business_key_id")
        batch_op.create_index(
            "ix_deliveries_status_target_next_attempt_at_id",
            ["status", "target", "next_attempt_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_status_target_next_attempt_at_id")
        batch_op.create_index(
            "ix_deliveries_interface_path_role_business_key_id",
            ["interface", "path", "role", "business_key", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_deliveries_status_target_next_attempt_at", ["status", "target", "next_attempt_at"], unique=False
        )
