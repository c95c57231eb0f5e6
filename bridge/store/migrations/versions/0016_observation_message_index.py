"""pairing that never scans the observations: the index (message_id) of observations

The comparator reads the observation paired with each message it compares (``observed_body``: by
message_id) and a pairing round looks for messages no observation is paired with (``NOT EXISTS`` on
message_id). Without an index both scanned every observation of the ledger, once per message: a backtest
or a live observed shadow of 20,000 documents spent most of its time there (benchmarks/backtest.py).

Revision ID: 0016
Revises: 0015 (forward_blobs)
"""

from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.create_index("ix_observations_message_id", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("observations", schema=None) as batch_op:
        batch_op.drop_index("ix_observations_message_id")
