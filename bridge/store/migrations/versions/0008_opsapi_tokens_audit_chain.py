"""admin API (opsapi, issue 19): api_tokens, audit hash chain (audit_events.prev_hash, .hash),
dead_letters.assigned_to, and the search indexes behind the API's message search and interface status.

Existing audit entries are chained in id order by the upgrade, so the chain covers the whole log.

Revision ID: 0008
Revises: 0007 (claim index)
"""

from alembic import op
import sqlalchemy as sa

from bridge.store.schema import UtcDateTime


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=30), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=100), nullable=False),
        sa.Column('created_at', UtcDateTime(), nullable=False),
        sa.Column('expires_at', UtcDateTime(), nullable=True),
        sa.Column('revoked_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_to', sa.String(length=100), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_business_key_created_at'), ['business_key', 'created_at'])
        batch_op.create_index(batch_op.f('ix_messages_transaction_id'), ['transaction_id'])
        batch_op.create_index(batch_op.f('ix_messages_interface_created_at'), ['interface', 'created_at'])
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_deliveries_interface_path_role_status'), ['interface', 'path', 'role', 'status']
        )
    _chain_existing()


def _chain_existing() -> None:
    from bridge.store.audit_chain import GENESIS, entry_hash

    a = sa.table(
        'audit_events',
        sa.column('id'), sa.column('at', UtcDateTime()), sa.column('actor'), sa.column('action'),
        sa.column('subject'), sa.column('reason'), sa.column('detail', sa.JSON()),
        sa.column('prev_hash'), sa.column('hash'),
    )
    conn = op.get_bind()
    prev = GENESIS
    for row in conn.execute(sa.select(a).order_by(a.c.id)).mappings().all():
        h = entry_hash(prev, dict(row))
        conn.execute(sa.update(a).where(a.c.id == row['id']).values(prev_hash=prev, hash=h))
        prev = h


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_interface_path_role_status'))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_interface_created_at'))
        batch_op.drop_index(batch_op.f('ix_messages_transaction_id'))
        batch_op.drop_index(batch_op.f('ix_messages_business_key_created_at'))
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_column('assigned_to')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
    op.drop_table('api_tokens')
