"""compact ledger: payloads compressed (messages.payload_z, messages.packing), sent bytes not stored twice
(deliveries.sent_packing); old rows keep packing 0 (plain text / raw bytes) and read as before. The
downgrade writes every row back in full, one row at a time; payloads dropped by `ledger prune` stay empty.

Revision ID: 0006
Revises: 0004 (written against 0003; re-chained after 0004_claim_fencing at merge)
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload_z', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('packing', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_packing', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    # Compressed rows would be unreadable to the old code: write them back as plain text first.
    import zlib

    conn = op.get_bind()
    m = sa.table('messages', sa.column('id'), sa.column('payload'), sa.column('payload_z'), sa.column('packing'))
    d = sa.table('deliveries', sa.column('id'), sa.column('message_id'), sa.column('sent'), sa.column('sent_packing'))
    from bridge.store.packing import unpack_payload  # zlib (1) and, written later, zstd with dictionary 1 (2)

    packed = sa.select(m.c.id, m.c.payload_z, m.c.packing).where(m.c.packing.in_((1, 2)))
    for mid, z, packing in conn.execute(packed).all():
        conn.execute(sa.update(m).where(m.c.id == mid).values(payload=unpack_payload(mid, '', z, packing)))
    for did, sent in conn.execute(sa.select(d.c.id, d.c.sent).where(d.c.sent_packing == 1)).all():
        conn.execute(sa.update(d).where(d.c.id == did).values(sent=zlib.decompress(sent)))
    rows = sa.select(d.c.id, d.c.message_id, d.c.sent, d.c.sent_packing).where(d.c.sent_packing.in_((2, 3)))
    for did, mid, sent, packing in conn.execute(rows).all():
        text = conn.execute(sa.select(m.c.payload).where(m.c.id == mid)).scalar_one()
        if packing == 3:  # zlib with the payload as preset dictionary
            do = zlib.decompressobj(zdict=text.encode())
            conn.execute(sa.update(d).where(d.c.id == did).values(sent=do.decompress(sent) + do.flush()))
        else:
            conn.execute(sa.update(d).where(d.c.id == did).values(sent=text.encode()))
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35, PostgreSQL): a batch table copy would drop
    # ``deliveries`` under the foreign keys of ``attempts``.
    op.execute('ALTER TABLE deliveries DROP COLUMN sent_packing')
    op.execute('ALTER TABLE messages DROP COLUMN packing')
    op.execute('ALTER TABLE messages DROP COLUMN payload_z')
