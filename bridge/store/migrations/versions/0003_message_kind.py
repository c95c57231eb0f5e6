"""messages.kind: a canonical record or a batch forwarded whole (was the sentinel canonical 'forward')

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='record', nullable=False))
    op.execute("UPDATE messages SET kind = 'forward' WHERE canonical = 'forward'")


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('kind')
