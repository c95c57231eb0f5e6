"""The fault suite's checker: the invariants, counted from the outside at the peers' own records.

What each target applied is read where it landed, never from the bridge's ledger:

* the cloud simulator's request log (every request, repeats included, with its ``Idempotency-Key``) and its
  store (``/v1/ingest`` keeps one entry per request it applied, so a second application is a second entry);
* the RabbitMQ queue (every message published and routed, with its CloudEvents ``id`` and ``subject``);
* the ``file`` sink's target folder (one file per message id, the record inside).

The dead-letter queue is the one thing read from the ledger: it is where the bridge says "not applied, and
why". The invariants:

* every source record is applied exactly once at its authoritative target, or is in the DLQ with a reason
  (``lost``: neither; ``duplicated``: applied more than once);
* every repeated request for a record carried the same idempotency key and changed nothing (a repeat under
  another key, or a repeat that added a second entry, is a problem);
* no file is acknowledged before its records (:func:`acknowledged_early`, checked at each kill: a file gone
  from its drop has every record committed, on commit, or applied at the target, on delivery).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
from sqlalchemy import select

from adapters.cloud.events import AMQP_PREFIX
from bridge.store import schema as t
from bridge.store.engine import make_engine
from samples.cloud_sim import SimServer
from tests.faults.workload import SourceRecord, Workload

__all__ = ["Applied", "EventQueue", "Report", "acknowledged_early", "check"]


class EventQueue:
    """A durable queue bound to the workload's exchange; everything read from it is kept (raw, repeats too)."""

    def __init__(self, url: str, exchange: str) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.name = f"{exchange}.q"
        self.channel.queue_declare(self.name, durable=True)
        self.channel.queue_bind(self.name, exchange, routing_key="#")
        self.exchange = exchange
        self.seen: list[tuple[str, str]] = []  # (CloudEvents id, subject) in arrival order

    def collect(self) -> list[tuple[str, str]]:
        while True:
            method, props, _body = self.channel.basic_get(self.name, auto_ack=True)
            if method is None:
                return self.seen
            h = props.headers or {}
            self.seen.append((str(h.get(AMQP_PREFIX + "id")), str(h.get(AMQP_PREFIX + "subject"))))

    def close(self) -> None:
        self.channel.queue_delete(self.name)
        self.channel.exchange_delete(self.exchange)
        self.connection.close()


@dataclass
class Applied:
    """Per interface and business key: the idempotency keys each request carried and how often it was applied."""

    keys: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    applied: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    requests: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))


def applied_at_peers(w: Workload, sim: SimServer, queue: EventQueue) -> Applied:
    """What the three targets hold, each from its own records."""
    out = Applied()
    prefix = f"/v1/ingest/{w.collection}/"
    for r in list(sim.state.requests):
        if r.method == "POST" and r.path.startswith(prefix):
            k = ("customers", r.path[len(prefix) :])
            out.requests[k] += 1
            out.keys[k].add(r.idempotency_key or "<none>")
    for coll_key, entries in list(sim.state.ingested.items()):
        collection, _, key = coll_key.partition("/")
        if collection == w.collection:
            out.applied[("customers", key)] += len(entries)
    for ce_id, subject in queue.collect():
        k = ("accounts", subject)
        out.requests[k] += 1
        out.keys[k].add(ce_id)
    for k, ids in list(out.keys.items()):
        if k[0] == "accounts":
            out.applied[k] = len(ids)  # consumers de-duplicate by the CloudEvents id: a new id is a new event
    for f in sorted(w.target_folder.glob("*.json")):
        k = ("archive", json.loads(f.read_text())["customer_number"])
        out.applied[k] += 1
        out.keys[k].add(f.stem)
        out.requests[k] += 1
    return out


def dead_lettered(store_url: str) -> dict[tuple[str, str], str]:
    """The open dead letters, by (interface, business key or poison marker): their reason."""
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            keys = {r[0]: r[1] for r in conn.execute(select(t.messages.c.id, t.messages.c.business_key))}
            rows = conn.execute(
                select(
                    t.dead_letters.c.interface,
                    t.dead_letters.c.message_id,
                    t.dead_letters.c.error,
                    t.dead_letters.c.fragment,
                ).where(t.dead_letters.c.status == "open")
            ).all()
    finally:
        engine.dispose()
    out: dict[tuple[str, str], str] = {}
    for interface, mid, error, fragment in rows:
        reason = str((error or {}).get("message", ""))
        key = keys.get(mid) or _poison_marker(fragment or "")
        out[(interface, key)] = reason
    return out


def _poison_marker(fragment: str) -> str:
    start = fragment.find("POISON-")
    return fragment[start : start + len("POISON-") + 1] if start >= 0 else fragment[:40]


def committed(store_url: str) -> set[tuple[str, str]]:
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            return {(r[0], r[1]) for r in conn.execute(select(t.messages.c.interface, t.messages.c.business_key))}
    except Exception:  # the schema may not exist yet (a kill before the first migration finished)
        return set()
    finally:
        engine.dispose()


def acknowledged_early(w: Workload, sim: SimServer, queue: EventQueue) -> list[str]:
    """Files gone from their drop (acknowledged) with a record neither committed/applied nor dead-lettered."""
    problems = []
    ledger = committed(w.store_url)
    dead = dead_lettered(w.store_url) if ledger else {}
    peers = applied_at_peers(w, sim, queue)
    for name, iface in w.interfaces.items():
        for rec in _by_file(w.records, name):
            if (iface.drop / rec.file).exists():
                continue
            k = (name, rec.key)
            done = k in dead or (peers.applied.get(k, 0) > 0 if iface.acknowledge == "on_delivery" else k in ledger)
            if not done and not rec.poison:
                problems.append(f"{name}/{rec.file} acknowledged before its record {rec.key}")
    return problems


def _by_file(records: list[SourceRecord], interface: str) -> list[SourceRecord]:
    return [r for r in records if r.interface == interface]


@dataclass
class Report:
    faults: int
    records: int
    lost: list[str]
    duplicated: list[str]
    problems: list[str]

    def line(self) -> str:
        return (
            f"faults injected: {self.faults}, records: {self.records}, "
            f"lost: {len(self.lost)}, duplicated: {len(self.duplicated)}"
        )

    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.problems)

    def explain(self) -> str:
        return "\n".join([self.line(), *self.lost[:10], *self.duplicated[:10], *self.problems[:10]])


def check(w: Workload, sim: SimServer, queue: EventQueue, faults: int, early: list[str] | None = None) -> Report:
    """The invariants over every source record of ``w``, after recovery."""
    peers = applied_at_peers(w, sim, queue)
    dead = dead_lettered(w.store_url)
    lost, duplicated, problems = [], [], list(early or [])
    for rec in w.records:
        k = (rec.interface, rec.key)
        n = peers.applied.get(k, 0)
        if n == 0 and not dead.get(k):
            lost.append(f"lost: {rec.interface} {rec.key} ({rec.file}) neither applied nor dead-lettered")
        elif n > 1:
            duplicated.append(f"duplicated: {rec.interface} {rec.key} applied {n} times")
        if n and k in dead:
            problems.append(f"{rec.interface} {rec.key} applied and also dead-lettered ({dead[k]})")
        if rec.poison and n:
            problems.append(f"poison record {rec.key} was applied")
        ids = peers.keys.get(k, set())
        if len(ids) > 1:
            problems.append(f"{rec.interface} {rec.key}: repeated under {len(ids)} idempotency keys")
    known = {(r.interface, r.key) for r in w.records}
    extra = sorted(f"{i} {k}" for (i, k) in peers.applied if (i, k) not in known)
    if extra:
        problems.append(f"applied records no source had: {extra[:5]}")
    return Report(faults, len(w.records), lost, duplicated, problems)


def peer_requests(sim: SimServer) -> list[Any]:
    """The simulator's raw request log (for tests that look at statuses)."""
    return list(sim.state.requests)


def file_count(folder: Path) -> int:
    return len(list(folder.glob("*.json")))
