"""The ledger's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Core tables rather than ORM classes: the hot paths (chunk inserts, delivery claims) are set-based statements,
and Core keeps them one statement each. Alembic migrations in ``migrations/`` create exactly these tables;
``tests/unit/store`` checks that the migrated schema matches this metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

__all__ = [
    "api_tokens",
    "attempts",
    "audit_events",
    "batches",
    "blob_chunks",
    "blobs",
    "comparisons",
    "dead_letters",
    "deliveries",
    "flag_events",
    "flags",
    "last_writes",
    "leases",
    "messages",
    "metadata",
    "observations",
    "poll_state",
    "reconciliations",
    "xrefs",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text; we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BigInteger ids autoincrement on PostgreSQL; SQLite only autoincrements INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, UtcDateTime(), nullable=nullable)


batches = Table(
    "batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("interface", String(200), nullable=False),
    Column("batch_id", String(500), nullable=False),
    Column("origin", Text, nullable=False, default=""),
    Column("state", String(20), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("records", Integer, nullable=False, default=0),
    Column("failures", Integer, nullable=False, default=0),
    _ts("created_at"),
    _ts("updated_at"),
    UniqueConstraint("interface", "batch_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("interface", String(200), nullable=False),
    Column("batch", Id, ForeignKey("batches.id"), nullable=True),
    Column("ordinal", Integer, nullable=False),
    Column("identity", Text, nullable=False),
    Column("canonical", String(50), nullable=False),
    # 0003: a canonical record, or a batch forwarded whole (``MessageKind``)
    Column("kind", String(10), nullable=False, server_default="record"),
    Column("business_key", String(300), nullable=False),
    Column("version", String(100), nullable=True),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    # 0006: where the payload is (``bridge.store.packing.PayloadPacking``): text, zlib in payload_z, pruned
    Column("payload_z", LargeBinary, nullable=True),
    Column("packing", Integer, nullable=False, server_default="0"),
    Column("location", JSON, nullable=True),
    Column("state", String(20), nullable=False),
    Column("mode", String(30), nullable=False),
    Column("flag_version", Integer, nullable=False, default=0),
    Column("rollout", String(200), nullable=True),
    Column("transaction_id", String(100), nullable=False),
    _ts("created_at"),
    Index(None, "interface", "state"),
    Index(None, "interface", "business_key"),
    # 0007 (admin API): search by business key or transaction id across interfaces, listing by time
    Index(None, "business_key", "created_at"),
    Index(None, "transaction_id"),
    Index(None, "interface", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", String(36), ForeignKey("messages.id"), nullable=False),
    Column("interface", String(200), nullable=False),
    Column("path", String(10), nullable=False),
    Column("role", String(20), nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("target", String(300), nullable=False),
    Column("business_key", String(300), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    _ts("next_attempt_at"),
    _ts("first_attempt_at", nullable=True),
    Column("claimed_by", String(100), nullable=True),
    _ts("claimed_until", nullable=True),
    Column("claim_token", String(36), nullable=True),
    Column("last_error", JSON, nullable=True),
    Column("response", LargeBinary, nullable=True),
    Column("media_type", String(100), nullable=True),
    Column("sent", LargeBinary, nullable=True),
    # 0006: raw, zlib, the same bytes as the message payload (not stored again) or pruned (``SentPacking``)
    Column("sent_packing", Integer, nullable=False, server_default="0"),
    Column("target_id", String(300), nullable=True),
    _ts("created_at"),
    _ts("updated_at"),
    _ts("finished_at", nullable=True),
    UniqueConstraint("message_id", "path", "role"),
    # 0007: the claim's index (claims read along it, see ``DeliveryLedger.claim_query``)
    Index(None, "status", "target", "next_attempt_at", "id"),
    Index(None, "interface", "target", "business_key", "id"),
    # 0007 (admin API): interface status counts deliveries by (path, role, status) from the index alone
    Index(None, "interface", "path", "role", "status"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("delivery_id", Id, ForeignKey("deliveries.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    _ts("started_at"),
    _ts("finished_at"),
    Column("status", String(20), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    Column("error", JSON, nullable=True),
    Column("retry_after", JSON, nullable=True),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("interface", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # record | delivery | batch
    Column("message_id", String(36), nullable=True),
    Column("delivery_id", Id, nullable=True),
    Column("batch", Id, nullable=True),
    Column("error", JSON, nullable=False),
    Column("location", JSON, nullable=True),
    Column("fragment", Text, nullable=False, default=""),
    Column("response", LargeBinary, nullable=True),
    Column("status", String(20), nullable=False),  # open | replayed | discarded
    _ts("created_at"),
    _ts("resolved_at", nullable=True),
    Column("resolved_by", String(100), nullable=True),
    Column("resolution", Text, nullable=True),
    # 0007 (admin API): who owns the failed transaction (``POST /dead-letters/{id}/assign``)
    Column("assigned_to", String(100), nullable=True),
    UniqueConstraint("interface", "kind", "message_id", "delivery_id"),
    Index(None, "interface", "status"),
)

comparisons = Table(
    "comparisons",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False),
    Column("interface", String(200), nullable=False),
    Column("level", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("diff", JSON, nullable=True),
    _ts("created_at"),
    # 0002 (cutover): pairing key and whether a critical field differs (gates count open critical mismatches)
    Column("business_key", String(300), nullable=True),
    Column("critical", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("message_id", "level"),
    Index(None, "interface", "status"),
    Index(None, "interface", "created_at"),
)

# 0002 (cutover): what an observation source saw of a legacy path the bridge does not call itself
# (``forward``/``observe``), waiting to be paired with a message by (business key, version).
observations = Table(
    "observations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("interface", String(200), nullable=False),
    Column("side", String(10), nullable=False),
    Column("identity", String(500), nullable=False),
    Column("business_key", String(300), nullable=False),
    Column("version", String(100), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("media_type", String(100), nullable=True),
    Column("origin", Text, nullable=False, default=""),
    Column("state", String(20), nullable=False),  # pending | paired | orphan | late
    Column("message_id", String(36), nullable=True),
    _ts("observed_at"),
    _ts("paired_at", nullable=True),
    UniqueConstraint("interface", "side", "identity"),
    Index(None, "interface", "state"),
    Index(None, "interface", "business_key"),
    Index(None, "message_id"),
)

xrefs = Table(
    "xrefs",
    metadata,
    Column("entity", String(50), primary_key=True),
    Column("system", String(100), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("target_id", String(300), nullable=False),
    Column("message_id", String(36), nullable=True),
    _ts("updated_at"),
)

last_writes = Table(
    "last_writes",
    metadata,
    Column("system", String(100), primary_key=True),
    Column("canonical", String(50), primary_key=True),
    Column("business_key", String(300), primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("message_id", String(36), nullable=False),
    _ts("written_at"),
)

flags = Table(
    "flags",
    metadata,
    Column("interface", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("mode", String(30), nullable=False),
    Column("rules", JSON, nullable=False),
    _ts("created_at"),
)

flag_events = Table(
    "flag_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("interface", String(200), nullable=False, index=True),
    _ts("at"),
    Column("actor", String(100), nullable=False),
    Column("action", String(30), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=False),
    Column("from_mode", String(30), nullable=True),
    Column("to_mode", String(30), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("ticket", String(100), nullable=True),
    Column("evidence", JSON, nullable=True),
)

poll_state = Table(
    "poll_state",
    metadata,
    Column("interface", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    _ts("updated_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("holder", String(200), nullable=False),
    _ts("expires_at"),
    # 0013 (cluster): the fencing token, +1 on each takeover (bridge.store.leases), and when it was taken
    Column("token", BigInteger, nullable=False, server_default="1"),
    _ts("acquired_at", nullable=True),
)

# 0013 (cluster): every process that opened the ledger for `run`, with its heartbeat (cluster status)
nodes = Table(
    "nodes",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    _ts("started_at"),
    _ts("heartbeat_at"),
    _ts("stopped_at", nullable=True),
    Index(None, "heartbeat_at"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    _ts("at"),
    Column("actor", String(100), nullable=False),
    Column("action", String(50), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("detail", JSON, nullable=True),
    # 0007 (admin API): the hash chain (``bridge.store.audit_chain``): the previous entry's hash and this one's
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
)

# 0007 (admin API): API tokens, only their SHA-256 kept (the token itself is shown once, at creation).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(30), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(100), nullable=False),
    _ts("created_at"),
    _ts("expires_at", nullable=True),
    _ts("revoked_at", nullable=True),
)

# 0009 (reconciliation): one row per (run, interface, path, business date): counts and amount sums of what the
# ledger says the path delivered and of what the target's own listing holds, with the per-key differences.
reconciliations = Table(
    "reconciliations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", String(36), nullable=False),
    Column("interface", String(200), nullable=False),
    Column("path", String(10), nullable=False),
    Column("business_date", String(10), nullable=False),  # ISO date, or "" for records without one
    Column("ledger_count", Integer, nullable=False),
    Column("ledger_amount", String(60), nullable=True),  # exact decimal as text
    Column("target_count", Integer, nullable=True),  # null: the target offers no listing, or it failed
    Column("target_amount", String(60), nullable=True),
    Column("differences", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # matched | differs | ledger_only | incomplete
    Column("detail", JSON, nullable=True),  # per-key differences (bounded) and the listing's error
    _ts("created_at"),
    Index(None, "interface", "created_at"),
    Index(None, "run_id"),
)

# 0010 (alerts): the state of each (interface, rule) alert, so a firing alert is sent once until it resolves.
alert_states = Table(
    "alert_states",
    metadata,
    Column("interface", String(200), primary_key=True),
    Column("rule", String(50), primary_key=True),
    Column("state", String(10), nullable=False),  # ok | firing
    _ts("since"),
    Column("notified", Boolean, nullable=False, default=False),  # this state's notification was sent
    Column("detail", JSON, nullable=True),
    _ts("updated_at"),
)

# 0011 (status counts): counts per (interface, metric, a, b) kept by triggers on the counted tables (see
# bridge.store.counts); on PostgreSQL the triggers append to ledger_count_deltas, folded into ledger_counts.


def _count_columns(key: bool) -> list[Column[Any]]:
    return [
        Column(name, String(size), primary_key=key, nullable=False)
        for name, size in (("interface", 200), ("metric", 20), ("a", 200), ("b", 20))
    ] + [Column("n", BigInteger, nullable=False)]


# metric: messages | deliveries | dead_letters | comparisons | batches
ledger_counts = Table("ledger_counts", metadata, *_count_columns(key=True))
ledger_count_deltas = Table("ledger_count_deltas", metadata, *_count_columns(key=False))

# 0012 (delivery resilience): the circuit breaker of each target, as its worker last wrote it (transitions only).
circuit_states = Table(
    "circuit_states",
    metadata,
    Column("target", String(300), primary_key=True),
    Column("interface", String(200), nullable=False),
    Column("state", String(10), nullable=False),  # closed | open | half_open
    Column("failures", Integer, nullable=False),
    _ts("since"),
    _ts("retry_at", nullable=True),
    Column("node", String(200), nullable=False),
    Column("detail", JSON, nullable=True),
)

# 0014 (accepted noise, issue 20): a field of an interface accepted as noise, with owner, reason and expiry.
# The newest row per (interface, path) is in force; the comparator counts the field as an accepted difference
# until ``expires`` (a date, inclusive). Rows are never updated: a change is a new row (and an audit entry).
noise_rules = Table(
    "noise_rules",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("interface", String(200), nullable=False),
    Column("path", String(500), nullable=False),
    Column("owner", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("expires", String(10), nullable=False),  # ISO date, inclusive
    Column("accepted_by", String(200), nullable=False),
    _ts("accepted_at"),
    Index(None, "interface", "path"),
)

# 0015 (durable forwards): the bytes of a forwarded batch, in chunks (``bridge.store.blobs``). A blob's id is
# its forward message's id; ``complete`` turns true in the transaction that writes its last chunk, before the
# forward message is recorded, so a delivery only ever reads a whole blob.
blobs = Table(
    "blobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("interface", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("chunks", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("complete", Boolean, nullable=False, default=False),
    _ts("created_at"),
)

blob_chunks = Table(
    "blob_chunks",
    metadata,
    Column("blob_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("packing", Integer, nullable=False),  # bridge.store.blobs.ChunkPacking (+ packing.SEALED)
    Column("data", LargeBinary, nullable=False),
)
