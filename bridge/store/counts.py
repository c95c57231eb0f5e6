"""Status counts the database keeps itself: read in a few rows however large the ledger is.

Triggers on messages, deliveries, dead letters, comparisons and batches (migration 0011) keep one count per
(interface, metric, a, b): ``messages`` (a = state), ``deliveries`` (a = path/role, b = status),
``dead_letters`` (a = status), ``comparisons`` (a = status, b = level), ``batches`` (a = state). Every write
path is counted, including ones written after this module (a trigger cannot be forgotten).

On PostgreSQL the triggers append +1/-1 rows to ``ledger_count_deltas`` instead of updating a shared row (no
writer waits for another); :func:`fold_deltas` moves them into ``ledger_counts``. A read sums both, so it is
exact at any time; folding only keeps the read short. :func:`recount` rebuilds everything from the rows (after a
PostgreSQL ``TRUNCATE``, which fires no row trigger, or to check the counts: ``esb-bridge ledger recount``).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select, text, union_all

from bridge.store import schema as t

__all__ = ["COUNTED", "count_rows", "current", "fold_deltas", "recount"]

# metric -> (table, SQL of a, SQL of b): the same expressions as the triggers of 0011
COUNTED: dict[str, tuple[str, str, str]] = {
    "messages": ("messages", "state", "''"),
    "deliveries": ("deliveries", "path || '/' || role", "status"),
    "dead_letters": ("dead_letters", "status", "''"),
    "comparisons": ("comparisons", "status", "level"),
    "batches": ("batches", "state", "''"),
}
_FOLD_LOCK = 0x65736262  # pg advisory lock key ("esbb"): one folder at a time, the others skip


def fold_deltas(engine: Engine) -> int:
    """Move PostgreSQL's pending count deltas into ``ledger_counts`` (one statement); SQLite has none: 0.

    Concurrent writers go on appending; deltas not yet committed are not visible to the DELETE and stay for
    the next fold. Another fold running meanwhile makes this one a no-op (advisory lock, no waiting).
    """
    if engine.dialect.name == "sqlite":
        return 0
    with engine.begin() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _FOLD_LOCK}).scalar():
            return 0
        moved = conn.execute(
            text(
                "WITH moved AS (DELETE FROM ledger_count_deltas RETURNING interface, metric, a, b, n), "
                "summed AS (SELECT interface, metric, a, b, SUM(n) AS n FROM moved GROUP BY interface, metric, a, b) "
                "INSERT INTO ledger_counts (interface, metric, a, b, n) "
                "SELECT interface, metric, a, b, n FROM summed ORDER BY interface, metric, a, b "
                "ON CONFLICT (interface, metric, a, b) DO UPDATE SET n = ledger_counts.n + EXCLUDED.n"
            )
        )
        return int(moved.rowcount or 0)


def count_rows(conn: Connection, interface: str | None = None) -> list[tuple[str, str, str, str, int]]:
    """(interface, metric, a, b, n) for every non-zero count, of one interface or all."""
    parts = []
    for table in (t.ledger_counts, t.ledger_count_deltas):
        q = select(table.c.interface, table.c.metric, table.c.a, table.c.b, table.c.n)
        parts.append(q if interface is None else q.where(table.c.interface == interface))
    u = union_all(*parts).subquery()
    keys = (u.c.interface, u.c.metric, u.c.a, u.c.b)
    q = select(*keys, func.sum(u.c.n)).group_by(*keys).having(func.sum(u.c.n) != 0)
    return [(r[0], r[1], r[2], r[3], int(r[4])) for r in conn.execute(q)]


def recount(engine: Engine) -> dict[str, int]:
    """Rebuild every count from the rows themselves; returns rows counted per metric.

    PostgreSQL: the counted tables are locked against writers (SHARE mode) for the duration, so no change
    can fall between the recount and the deltas that follow it.
    """
    out: dict[str, int] = {}
    with engine.begin() as conn:
        if engine.dialect.name != "sqlite":
            tables = ", ".join(table for table, _a, _b in COUNTED.values())
            conn.execute(text(f"LOCK TABLE {tables} IN SHARE MODE"))
        conn.execute(t.ledger_count_deltas.delete())
        conn.execute(t.ledger_counts.delete())
        for metric, (table, a, b) in COUNTED.items():
            conn.execute(
                text(
                    "INSERT INTO ledger_counts (interface, metric, a, b, n) "
                    f"SELECT interface, '{metric}', {a}, {b}, COUNT(*) FROM {table} GROUP BY 1, 3, 4"
                )
            )
            out[metric] = int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() or 0)
    return out


def current(engine: Engine) -> dict[tuple[str, str, str, str], int]:
    """Every non-zero count by (interface, metric, a, b)."""
    with engine.connect() as conn:
        return {r[:4]: r[4] for r in count_rows(conn)}
