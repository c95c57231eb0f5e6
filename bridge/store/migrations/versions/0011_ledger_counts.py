"""status counts kept by the database (issue 19): ledger_counts, ledger_count_deltas and their triggers

Counting a million messages by state on every status request took 0.6-1.2 s. The database now keeps the
counts itself, in triggers on every table a status page counts, so no code path (ingest, the batched ledger,
replay, prune, a hand-written repair in psql) can forget to: a status read sums a few hundred rows.

* SQLite (one writer at a time): each trigger upserts ``ledger_counts`` directly.
* PostgreSQL (many nodes write at once): an upsert would hold the counter row locked until commit and make
  every writer of an interface wait for the others (and deadlock when two take two rows in opposite orders),
  so each trigger only *appends* a +1/-1 row to ``ledger_count_deltas`` (no index, no lock on a shared row).
  ``bridge.store.counts.fold_deltas`` moves them into ``ledger_counts`` in one statement (``run``'s
  housekeeping, and before a status read); a read sums both tables, so it is exact before and after a fold.

Metrics (``a``/``b``): messages (state/''), deliveries (path/role, status), dead_letters (status/''),
comparisons (status, level), batches (state/''). The counts of the rows already there are taken here.
PostgreSQL ``TRUNCATE`` fires no row trigger: after one, ``esb-bridge ledger recount`` rebuilds the counts.

Revision ID: 0011
Revises: 0010 (alert_states)
"""

from typing import Any

from alembic import op
import sqlalchemy as sa


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# table -> (metric, SQL of a over a row alias, SQL of b over a row alias, columns whose change moves a count)
_COUNTED = {
    "messages": ("messages", "{r}.state", "''", ("interface", "state")),
    "deliveries": ("deliveries", "{r}.path || '/' || {r}.role", "{r}.status", ("interface", "path", "role", "status")),
    "dead_letters": ("dead_letters", "{r}.status", "''", ("interface", "status")),
    "comparisons": ("comparisons", "{r}.status", "{r}.level", ("interface", "status", "level")),
    "batches": ("batches", "{r}.state", "''", ("interface", "state")),
}


def _sqlite_add(metric: str, a: str, b: str, r: str, n: int) -> str:
    return (
        "INSERT INTO ledger_counts (interface, metric, a, b, n) "
        f"VALUES ({r}.interface, '{metric}', {a.format(r=r)}, {b.format(r=r)}, {n}) "
        "ON CONFLICT (interface, metric, a, b) DO UPDATE SET n = n + excluded.n;"
    )


def _sqlite_triggers(table: str) -> list[str]:
    metric, a, b, cols = _COUNTED[table]
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in cols)
    return [
        f"CREATE TRIGGER trg_{table}_count_ins AFTER INSERT ON {table} BEGIN "
        f"{_sqlite_add(metric, a, b, 'NEW', 1)} END",
        f"CREATE TRIGGER trg_{table}_count_del AFTER DELETE ON {table} BEGIN "
        f"{_sqlite_add(metric, a, b, 'OLD', -1)} END",
        f"CREATE TRIGGER trg_{table}_count_upd AFTER UPDATE OF {', '.join(cols)} ON {table} WHEN {changed} BEGIN "
        f"{_sqlite_add(metric, a, b, 'OLD', -1)} {_sqlite_add(metric, a, b, 'NEW', 1)} END",
    ]


def _pg_triggers(table: str) -> list[str]:
    metric, a, b, cols = _COUNTED[table]

    def add(r: str, n: int) -> str:
        return (
            "INSERT INTO ledger_count_deltas (interface, metric, a, b, n) "
            f"VALUES ({r}.interface, '{metric}', {a.format(r=r)}, {b.format(r=r)}, {n});"
        )

    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in cols)
    fn = f"ledger_count_{table}"
    return [
        f"""CREATE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN {add('NEW', 1)}
  ELSIF TG_OP = 'DELETE' THEN {add('OLD', -1)}
  ELSIF {changed} THEN {add('OLD', -1)} {add('NEW', 1)}
  END IF;
  RETURN NULL;
END $$""",
        f"CREATE TRIGGER trg_{table}_count AFTER INSERT OR DELETE OR UPDATE OF {', '.join(cols)} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}()",
    ]


def upgrade() -> None:
    def columns() -> list[sa.Column[Any]]:
        return [
            sa.Column(name, sa.String(length=size), nullable=False)
            for name, size in (("interface", 200), ("metric", 20), ("a", 200), ("b", 20))
        ] + [sa.Column("n", sa.BigInteger(), nullable=False)]

    op.create_table(
        "ledger_counts",
        *columns(),
        sa.PrimaryKeyConstraint("interface", "metric", "a", "b", name=op.f("pk_ledger_counts")),
    )
    op.create_table("ledger_count_deltas", *columns())
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:  # folded every few seconds: vacuum its dead rows soon, not at 20 % of a table that churns
        op.execute(
            "ALTER TABLE ledger_count_deltas SET (autovacuum_vacuum_threshold = 10000, "
            "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 0)"
        )
    for table, (metric, a, b, _cols) in _COUNTED.items():
        op.execute(
            "INSERT INTO ledger_counts (interface, metric, a, b, n) "
            f"SELECT interface, '{metric}', {a.format(r=table)}, {b.format(r=table)}, COUNT(*) FROM {table} "
            "GROUP BY 1, 3, 4"
        )
        for stmt in _sqlite_triggers(table) if sqlite else _pg_triggers(table):
            op.execute(stmt)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in _COUNTED:
        if sqlite:
            for kind in ("ins", "del", "upd"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_count_{kind}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_count ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS ledger_count_{table}()")
    op.drop_table("ledger_count_deltas")
    op.drop_table("ledger_counts")
