"""cutover: comparison pairing key and criticality, observations of legacy paths

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('business_key', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('critical', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_comparisons_interface_created_at'), ['interface', 'created_at'],
                              unique=False)
    op.create_table('observations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('interface', sa.String(length=200), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('identity', sa.String(length=500), nullable=False),
    sa.Column('business_key', sa.String(length=300), nullable=False),
    sa.Column('version', sa.String(length=100), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=True),
    sa.Column('origin', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paired_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observations')),
    sa.UniqueConstraint('interface', 'side', 'identity', name=op.f('uq_observations_interface_side_identity'))
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observations_interface_state'), ['interface', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_interface_business_key'), ['interface', 'business_key'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observations_interface_business_key'))
        batch_op.drop_index(batch_op.f('ix_observations_interface_state'))
    op.drop_table('observations')
    with op.batch_alter_table('comparisons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comparisons_interface_created_at'))
        batch_op.drop_column('critical')
        batch_op.drop_column('business_key')
