"""durable forwards (issue 17): blobs and blob_chunks, the bytes of forwarded batches kept in the ledger

Revision ID: 0015
Revises: 0014 (noise_rules)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'blobs',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('interface', sa.String(length=200), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('chunks', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_blobs')),
    )
    op.create_table(
        'blob_chunks',
        sa.Column('blob_id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('packing', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('blob_id', 'seq', name=op.f('pk_blob_chunks')),
    )


def downgrade() -> None:
    op.drop_table('blob_chunks')
    op.drop_table('blobs')
