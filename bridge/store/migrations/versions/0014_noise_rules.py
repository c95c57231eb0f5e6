"""accepted noise (issue 20): noise_rules, a field of an interface accepted as noise (owner, reason, expiry).

Revision ID: 0014
Revises: 0013 (cluster)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'noise_rules',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('interface', sa.String(length=200), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('expires', sa.String(length=10), nullable=False),
        sa.Column('accepted_by', sa.String(length=200), nullable=False),
        sa.Column('accepted_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_noise_rules')),
    )
    op.create_index(op.f('ix_noise_rules_interface_path'), 'noise_rules', ['interface', 'path'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_noise_rules_interface_path'), table_name='noise_rules')
    op.drop_table('noise_rules')
