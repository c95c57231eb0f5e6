"""Dashboard overview latency on a ledger of 1,000,000 messages, through the real HTTP server (uvicorn, 127.0.0.1).

    .venv/bin/python benchmarks/dashboard.py [--messages 1000000] [--backends sqlite,postgresql]

The ledger is the one of ``benchmarks/api.py`` (10 interfaces, one delivery per message, ~1 % dead) plus one
open dead letter per dead message and 5,000 shadow comparisons per interface (~2 % mismatches), so the cards
and gate verdicts have something to read. Three figures of ``GET /ui`` (the overview: every interface's
card with counts, recent activity, DLQ depth and age, match rate and gate verdict):

* *cold*: a new engine and server per sample, first view (nothing cached, no warm connection);
* *uncached*: one server with ``api.metrics_cache: 0``: every view re-reads counts and re-evaluates every gate;
* *default*: one server with the default cache window (5 s), the views of an operator clicking around.

Target: p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import INTERFACES, PG, _config, _p95, populate

from bridge.config import load_config
from bridge.ports import SimulatedClock
from bridge.store.engine import make_engine
from bridge.store.ledger import open_ledger
from bridge.web import ApiContext, ApiServer, Authenticator, create_app
from cutover.flags import FlagStore

TARGET_MS = 500.0
COMPARISONS_PER_INTERFACE = 5_000


def extras(url: str, n: int) -> None:
    """Dead letters for the dead messages and comparisons for the first messages of each interface."""
    started = time.perf_counter()
    engine = make_engine(url)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    with engine.begin() as conn:
        dead = conn.execute(text("SELECT id, interface, created_at FROM messages WHERE state = 'dead'")).all()
        err = json.dumps({"type": "Rejected", "code": "rejected", "message": "422: customer unknown"})
        conn.execute(
            text(
                "INSERT INTO dead_letters (interface, kind, message_id, status, error, fragment, created_at) "
                "VALUES (:i, 'delivery', :m, 'open', :e, '', :c)"
            ),
            [{"i": r[1], "m": r[0], "e": err, "c": r[2]} for r in dead],
        )
        rows = []
        for iface in INTERFACES:
            ids = conn.execute(
                text("SELECT id, business_key FROM messages WHERE interface = :i LIMIT :k"),
                {"i": iface, "k": COMPARISONS_PER_INTERFACE},
            ).all()
            for j, (mid, key) in enumerate(ids):
                bad = rng.random() < 0.02
                entry = {"path": "name", "legacy": "A", "cloud": "B", "category": "value"}
                diff = {"entries": [entry]} if bad else None
                rows.append(
                    {
                        "m": mid,
                        "i": iface,
                        "s": "mismatch" if bad else "match",
                        "d": json.dumps(diff) if diff else None,
                        "k": key,
                        "c": base + timedelta(seconds=j),
                    }
                )
        conn.execute(
            text(
                "INSERT INTO comparisons (message_id, interface, level, status, diff, business_key, critical, "
                "created_at) VALUES (:m, :i, 'payload', :s, :d, :k, false, :c)"
            ),
            rows,
        )
    engine.dispose()
    print(
        f"  added {len(dead):,} dead letters and {len(rows):,} comparisons in {time.perf_counter() - started:.1f} s",
        flush=True,
    )


class Dash:
    """A fresh engine + app + server on the ledger (``cache`` seconds of counts and gate verdicts)."""

    def __init__(self, cfg: Path, url: str, token: str, cache: float) -> None:
        loaded = load_config(cfg)
        self._ledger_cm = open_ledger(url, SimulatedClock(), migrate=False)
        ledger = self._ledger_cm.__enter__()
        app = create_app(ApiContext(loaded, ledger, Authenticator(ledger)), metrics_cache=cache)
        self.server = ApiServer(app, "127.0.0.1", 0).start()
        self.client = httpx.Client(base_url=self.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)

    def ms(self, path: str) -> float:
        started = time.perf_counter()
        r = self.client.get(path)
        took = (time.perf_counter() - started) * 1000
        r.raise_for_status()
        assert 'class="card"' in r.text
        return took

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self._ledger_cm.__exit__(None, None, None)


def measure(cfg: Path, url: str, token: str) -> None:
    cold = []
    for _ in range(10):
        d = Dash(cfg, url, token, 5.0)
        try:
            d.client.get("/healthz")
            cold.append(d.ms("/ui"))
        finally:
            d.close()
    figures = {"cold (new server, first view)": cold}
    for label, cache, k in (("uncached (metrics_cache 0)", 0.0, 50), ("default (metrics_cache 5 s)", 5.0, 100)):
        d = Dash(cfg, url, token, cache)
        try:
            d.ms("/ui")
            figures[label] = [d.ms("/ui") for _ in range(k)]
        finally:
            d.close()
    for label, samples in figures.items():
        p = _p95(samples)
        print(
            f"  GET /ui {label:<31} p95 {p:7.1f} ms  median {sorted(samples)[len(samples) // 2]:7.1f} ms  "
            f"({p / TARGET_MS:4.2f} of target, {len(samples)} views)",
            flush=True,
        )


def run_backend(backend: str, n: int, reuse: Path | None = None, keep: bool = False) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="esbb-dash-bench-"))
    schema = None
    if backend == "sqlite" and reuse is not None:  # a ledger this script populated before (kept in /tmp)
        if not reuse.is_file():
            raise SystemExit(f"{reuse}: no such ledger")
        url = f"sqlite:///{reuse}"
        print(f"{backend}: reusing {reuse}", flush=True)
        with open_ledger(url, SimulatedClock()) as ledger:
            token = ledger.create_token(f"bench-{uuid.uuid4().hex[:6]}", "viewer", created_by="bench")
        measure(_config(tmp, url), url, token)
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
        extras(url, n)
        cfg = _config(tmp, url)
        with open_ledger(url, SimulatedClock(), migrate=False) as ledger:
            FlagStore.of(ledger).seed(load_config(cfg))  # as a running bridge has them: the gates evaluate
        measure(cfg, url, token)
    finally:
        if schema and keep:
            print(f"  kept schema {schema}", flush=True)
        elif schema:
            admin = make_engine(PG)
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--reuse-sqlite", type=Path, help="measure this already populated SQLite ledger")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema (its name is printed)")
    args = ap.parse_args()
    print(f"target: p95 < {TARGET_MS:.0f} ms")
    for backend in args.backends.split(","):
        run_backend(backend, args.messages, args.reuse_sqlite, args.keep)


if __name__ == "__main__":
    main()
