"""A claim costs what it claims, not what is waiting: with 200k pending deliveries (and ``ANALYZE`` run), one
claim reads at most about twice its limit of rows and sorts nothing, on SQLite and on PostgreSQL.

Why: the claim used to read and sort every due delivery of its target before ``LIMIT`` (a temp B-tree for the
``ORDER BY``), so each claim cost more as the backlog grew and the delivery side slowed down per record with
volume. SQLite has no row counter, so the test counts the virtual machine's steps (``progress_handler``) of a
claim over the 200k backlog against one over a backlog of exactly ``limit`` rows (the least a claim can read);
PostgreSQL reports the rows each plan node produced (``EXPLAIN (ANALYZE, BUFFERS)``).

The backlog is written with one set-based statement per table (a generated series), not through
``record_chunk``: the test is about the claim, and 200k rows through the ingest path would take minutes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import event, text

from bridge.ports import SimulatedClock
from bridge.store.ledger import Ledger

BACKLOG = 200_000
HISTORY = 50_000
LIMIT = 100
LEASE = timedelta(minutes=5)
#: written as SQLite stores a UtcDateTime (naive UTC text); PostgreSQL casts the same text
DUE = "2000-01-01 00:00:00.000000"


def _series(ledger: Ledger, n: int, first: int = 1) -> str:
    if ledger.engine.dialect.name == "sqlite":
        return (
            f"WITH RECURSIVE s(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM s WHERE i < {first + n - 1}) "
            "SELECT i FROM s"
        )
    return f"SELECT i FROM generate_series({first}, {first + n - 1}) AS s(i)"


def _seed(ledger: Ledger, target: str, n: int, first: int = 1, status: str = "pending") -> None:
    """``n`` due deliveries of ``target`` in ``status``, one business key each (no lane blocks another)."""
    pg = ledger.engine.dialect.name != "sqlite"
    mid = "lpad(i::text, 36, '0')" if pg else "printf('%036d', i)"
    key = "'k' || i::text" if pg else "'k' || i"
    ts = f"'{DUE}'" + ("::timestamptz" if pg else "")
    with ledger.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO messages (id, interface, ordinal, identity, canonical, kind, business_key, content_hash,"
                " payload, packing, state, mode, flag_version, transaction_id, created_at) "
                f"SELECT {mid}, 'i', i, 'file:x:' || {key}, 'Customer', 'record', {key}, 'h', '{{}}', 0,"
                f" 'accepted', 'cloud_only', 0, 'tx', {ts} FROM ({_series(ledger, n, first)}) AS g"
            )
        )
        conn.execute(
            text(
                "INSERT INTO deliveries (message_id, interface, path, role, dry_run, target, business_key, status,"
                " attempts, next_attempt_at, sent_packing, created_at, updated_at) "
                f"SELECT {mid}, 'i', 'cloud', 'authoritative', false, '{target}', {key}, '{status}', 0, {ts}, 0,"
                f" {ts}, {ts} FROM ({_series(ledger, n, first)}) AS g"
            )
        )
        conn.execute(text("ANALYZE"))


class _Steps:
    """Counts SQLite VM steps of every statement run on the engine while active."""

    def __init__(self, ledger: Ledger) -> None:
        self.engine = ledger.engine
        self.steps = 0

    def _count(self) -> int:
        self.steps += 1
        return 0

    def _on(self, dbapi_conn: Any, *_: Any) -> None:
        dbapi_conn.set_progress_handler(self._count, 1)

    def _off(self, dbapi_conn: Any, *_: Any) -> None:
        dbapi_conn.set_progress_handler(None, 1)

    def __enter__(self) -> _Steps:
        event.listen(self.engine, "checkout", self._on)
        event.listen(self.engine, "checkin", self._off)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "checkout", self._on)
        event.remove(self.engine, "checkin", self._off)


def _claim_steps(ledger: Ledger, target: str) -> tuple[int, int]:
    with _Steps(ledger) as counter:
        claimed = ledger.claim(target, LIMIT, LEASE)
    return counter.steps, len(claimed)


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _plan_nodes(child)


def test_a_claim_reads_its_limit_not_the_backlog(ledger: Ledger, clock: SimulatedClock) -> None:
    """200k due deliveries behind 50k delivered ones: a claim of 100 reads about as much as a claim over a
    backlog of just 100 (the delivered history comes first, so a scan in id order would read it all)."""
    _seed(ledger, "small", LIMIT)
    _seed(ledger, "big", HISTORY, first=LIMIT + 1, status="delivered")
    _seed(ledger, "big", BACKLOG, first=LIMIT + HISTORY + 1)
    if ledger.engine.dialect.name == "sqlite":
        with ledger.engine.connect() as conn:
            plan = " / ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + _sql(ledger, "big"))))
        floor, got_small = _claim_steps(ledger, "small")
        steps, got = _claim_steps(ledger, "big")
        assert (got_small, got) == (LIMIT, LIMIT)
        cost = f"claim over {BACKLOG} rows took {steps} VM steps, over {LIMIT}: {floor}; plan: {plan}"
        assert steps <= 2 * floor and "TEMP B-TREE" not in plan, cost
        return
    with ledger.engine.begin() as conn:
        sql, params = _compiled(ledger, "big")
        [[report]] = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params).all()
        conn.rollback()
    root = (json.loads(report) if isinstance(report, str) else report)[0]["Plan"]
    nodes = list(_plan_nodes(root))
    assert not [n for n in nodes if n["Node Type"] in ("Sort", "Incremental Sort")], json.dumps(root)[:3000]
    read = sum(
        (n.get("Actual Rows", 0) + n.get("Rows Removed by Filter", 0)) * n.get("Actual Loops", 1)
        for n in nodes
        if n.get("Relation Name") == "deliveries" and n.get("Alias") == "deliveries"
    )
    assert 0 < read <= 2 * LIMIT, f"claim read {read} delivery rows for a limit of {LIMIT}: {json.dumps(root)[:3000]}"
    assert len(ledger.claim("big", LIMIT, LEASE)) == LIMIT


def _compiled(ledger: Ledger, target: str) -> tuple[str, dict[str, Any]]:
    stmt = ledger.claim_query(target, LIMIT, ledger.clock.now())
    compiled = stmt.compile(dialect=ledger.engine.dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def _sql(ledger: Ledger, target: str) -> str:
    """The claim's pick with its parameters inlined (SQLite's EXPLAIN QUERY PLAN takes no binds here)."""
    stmt = ledger.claim_query(target, LIMIT, ledger.clock.now())
    return str(stmt.compile(dialect=ledger.engine.dialect, compile_kwargs={"literal_binds": True}))
