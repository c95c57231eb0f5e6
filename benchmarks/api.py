"""Admin API latency on a ledger of 1,000,000 messages: message search by business key and by transaction id,
interface status; p95 cold and warm, SQLite and PostgreSQL, through the real HTTP server (uvicorn on 127.0.0.1).

    .venv/bin/python benchmarks/api.py [--messages 1000000] [--backends sqlite,postgresql]

The ledger is bulk-inserted (10 interfaces, one delivery per message, ~3 versions per business key). *Cold*:
each sample opens a new engine and a new server and asks one question never asked before (no connection, no
statement cache, no warm pages of this key; the OS page cache is not dropped: that needs root). *Warm*: one
server, 200 questions with random keys. Target: p95 < 300 ms; the ratio column is p95 / target.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.store.counts import fold_deltas
from bridge.store.engine import make_engine
from bridge.store.ledger import open_ledger
from bridge.web import ApiContext, ApiServer, Authenticator, create_app

TARGET_MS = 300.0
INTERFACES = [f"iface-{i}" for i in range(10)]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _config(tmp: Path, url: str) -> Path:
    lines = [f'store: "{url}"', "interfaces:"]
    for name in INTERFACES:
        lines += [
            f"  {name}:",
            "    canonical: Customer",
            '    source: {kind: folder, path: drop, include: ["*.jsonl"], readiness: {rule: rename}}',
            "    decoder: {kind: jsonl}",
            "    legacy: {encoder: {kind: json}, sink: {kind: file, path: out}}",
            "    cutover: {mode: legacy_only}",
        ]
    cfg = tmp / "bridge.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return cfg


def _key(i: int) -> str:
    return f"C-{i // 3:07d}"


def _tx(i: int) -> str:
    return str(uuid.UUID(int=i + 1))


_MSG_COLS = (
    "id",
    "interface",
    "batch",
    "ordinal",
    "identity",
    "canonical",
    "kind",
    "business_key",
    "content_hash",
    "payload",
    "packing",
    "location",
    "state",
    "mode",
    "flag_version",
    "transaction_id",
    "created_at",
)
_DEL_COLS = (
    "message_id",
    "interface",
    "path",
    "role",
    "dry_run",
    "target",
    "business_key",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
    "finished_at",
    "sent_packing",
)


def _rows(
    n: int, base: datetime, per_batch: int, ts: Callable[[datetime], object]
) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    for i in range(n):
        b = i // per_batch
        iface = INTERFACES[b % len(INTERFACES)]
        at = ts(base + timedelta(seconds=b, microseconds=i % per_batch))
        mid = str(uuid.UUID(int=(1 << 100) + i))
        state = "dead" if i % 97 == 0 else "delivered"
        key = _key(i)
        yield (
            (
                mid,
                iface,
                b + 1,
                i % per_batch,
                f"file:{b}:{i}",
                "Customer",
                "record",
                key,
                f"{i:064x}",
                f'{{"customer_number":"{key}"}}',
                0,
                f'{{"line": {i % per_batch + 1}}}',
                state,
                "legacy_only",
                1,
                _tx(i),
                at,
            ),
            (mid, iface, "legacy", "authoritative", False, f"{iface}:legacy", key, state, 1, at, at, at, at, 0),
        )


def populate(url: str, n: int, schema: str | None) -> None:
    """Bulk-insert ``n`` messages with one delivery each (and their batches) through the driver: sqlite3
    executemany, PostgreSQL COPY (the ORM path would take longer than the measurement)."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    per_batch = 1000
    started = time.perf_counter()
    batches = [
        (
            b + 1,
            INTERFACES[b % len(INTERFACES)],
            f"batch-{b}",
            f"file:///drop/{b}.jsonl",
            "acknowledged",
            "",
            per_batch,
            0,
        )
        for b in range((n + per_batch - 1) // per_batch)
    ]
    bcols = "id, interface, batch_id, origin, state, detail, records, failures, created_at, updated_at"
    if schema is None:
        import sqlite3

        db = sqlite3.connect(url.split("///", 1)[1])
        stamp = base.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        db.executemany(
            f"INSERT INTO batches ({bcols}) VALUES (?,?,?,?,?,?,?,?,?,?)", [(*r, stamp, stamp) for r in batches]
        )
        mq = f"INSERT INTO messages ({', '.join(_MSG_COLS)}) VALUES ({','.join('?' * len(_MSG_COLS))})"
        dq = f"INSERT INTO deliveries ({', '.join(_DEL_COLS)}) VALUES ({','.join('?' * len(_DEL_COLS))})"
        rows = _rows(n, base, per_batch, lambda d: d.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"))
        while True:
            part = list(itertools.islice(rows, 50_000))
            if not part:
                break
            db.executemany(mq, [m for m, _ in part])
            db.executemany(dq, [d for _, d in part])
            db.commit()
        db.execute("ANALYZE")
        db.commit()
        db.close()
    else:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", options=f"-csearch_path={schema}") as db:
            with db.cursor() as cur:
                with cur.copy(f"COPY batches ({bcols}) FROM STDIN") as cp:
                    for r in batches:
                        cp.write_row((*r, base, base))
                with cur.copy(f"COPY messages ({', '.join(_MSG_COLS)}) FROM STDIN") as cm:
                    dels = []
                    for m, d in _rows(n, base, per_batch, lambda x: x):
                        cm.write_row(m)
                        dels.append(d)
                with cur.copy(f"COPY deliveries ({', '.join(_DEL_COLS)}) FROM STDIN") as cd:
                    for d in dels:
                        cd.write_row(d)
            db.commit()
        # steady state of a running bridge: its housekeeping folds the status-count deltas every 5 s, and
        # autovacuum (set aggressive on that table by 0011) clears the folded rows
        engine = make_engine(url)
        fold_deltas(engine)
        engine.dispose()
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/test", options=f"-csearch_path={schema}", autocommit=True
        ) as db:
            db.execute("VACUUM ANALYZE")
    dt = time.perf_counter() - started
    print(f"  inserted {n:,} messages + {n:,} deliveries in {dt:.1f} s ({2 * n / dt:,.0f} rows/s)", flush=True)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


class Api:
    """A fresh engine + app + server on the ledger, with a viewer token."""

    def __init__(self, cfg: Path, url: str, token: str) -> None:
        self.loaded = load_config(cfg)
        self._ledger_cm = open_ledger(url, SimulatedClock(), migrate=False)
        ledger = self._ledger_cm.__enter__()
        app = create_app(ApiContext(self.loaded, ledger, Authenticator(ledger)), metrics_cache=5.0)
        self.server = ApiServer(app, "127.0.0.1", 0).start()
        self.client = httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def ms(self, path: str, **params: str) -> float:
        started = time.perf_counter()
        r = self.client.get(path, params=params)
        took = (time.perf_counter() - started) * 1000
        r.raise_for_status()
        return took

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self._ledger_cm.__exit__(None, None, None)


def measure(cfg: Path, url: str, n: int, token: str) -> dict[str, tuple[float, float]]:
    rng = random.Random(19)
    questions: dict[str, Callable[[], tuple[str, dict[str, str]]]] = {
        "search by business key": lambda: ("/api/v1/messages", {"business_key": _key(rng.randrange(n))}),
        "search by transaction id": lambda: ("/api/v1/messages", {"transaction_id": _tx(rng.randrange(n))}),
        "interface status (one)": lambda: (f"/api/v1/interfaces/{rng.choice(INTERFACES)}", {}),
        "interface status (all 10)": lambda: ("/api/v1/interfaces", {}),
    }
    out: dict[str, tuple[float, float]] = {}
    for name, ask in questions.items():
        cold = []
        for _ in range(20):
            api = Api(cfg, url, token)
            try:
                api.client.get("/healthz")  # the app's own first-request set-up; the ledger is still untouched
                path, params = ask()
                cold.append(api.ms(path, **params))
            finally:
                api.close()
        api = Api(cfg, url, token)
        try:
            api.ms(*ask()[:1], **ask()[1])
            warm = []
            for _ in range(200):
                path, params = ask()
                warm.append(api.ms(path, **params))
        finally:
            api.close()
        out[name] = (_p95(cold), _p95(warm))
        c, w = out[name]
        print(
            f"  {name:<27} cold p95 {c:7.1f} ms ({c / TARGET_MS:4.2f} of target)   "
            f"warm p95 {w:7.1f} ms ({w / TARGET_MS:4.2f} of target)",
            flush=True,
        )
    return out


def run_backend(backend: str, n: int, reuse: Path | None = None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="esbb-api-bench-"))
    schema = None
    if backend == "sqlite" and reuse is not None:  # a ledger this script populated before (kept in /tmp)
        url = f"sqlite:///{reuse}"
        print(f"{backend}: reusing {reuse} ({n:,} messages)", flush=True)
        with open_ledger(url, SimulatedClock()) as ledger:
            token = ledger.create_token(f"bench-{uuid.uuid4().hex[:6]}", "viewer", created_by="bench")
        measure(_config(tmp, url), url, n, token)
        return
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'ledger.db'}"
    else:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = make_engine(PG)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = f"{PG}?options=-csearch_path%3D{schema}"
    try:
        print(f"{backend}: {n:,} messages", flush=True)
        with open_ledger(url, SimulatedClock()) as ledger:
            token = ledger.create_token("bench", "viewer", created_by="bench")
        populate(url, n, schema)
        measure(_config(tmp, url), url, n, token)
    finally:
        if schema:
            admin = make_engine(PG)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--reuse-sqlite", type=Path, help="measure this already populated SQLite ledger")
    args = ap.parse_args()
    print(f"target: p95 < {TARGET_MS:.0f} ms")
    for backend in args.backends.split(","):
        run_backend(backend, args.messages, args.reuse_sqlite)


if __name__ == "__main__":
    main()
