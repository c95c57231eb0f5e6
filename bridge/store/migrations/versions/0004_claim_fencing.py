"""deliveries.claim_token (fenced outcomes) and the lane index (interface, target, business_key, id)

A claim now carries a token; an outcome is written only where the token still holds. The lane of a business
key is per target whatever the role, hence the new index. Claims open at the upgrade carry no token: no
worker can finish them, and they go back to ``pending`` when their lease runs out (as a dead worker's do).

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim_token', sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_deliveries_interface_target_business_key_id'),
            ['interface', 'target', 'business_key', 'id'],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_interface_target_business_key_id'))
        batch_op.drop_column('claim_token')
