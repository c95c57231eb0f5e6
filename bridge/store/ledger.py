"""The ledger: the durable record of batches, messages, deliveries, attempts and dead letters.

Its rules are what make "nothing lost, nothing twice" hold:

* messages and their delivery rows are written per chunk, one transaction per chunk, with
  ``ON CONFLICT DO NOTHING`` on the message id, so re-reading input after a crash is a no-op;
* deliveries are created ``held`` and released (``pending``) in one statement when their whole batch is
  decoded, so a batch that fails half-way never delivers half a file;
* a delivery is claimed only when no earlier delivery for the same (interface, path, role, business key) is
  still open: per-key order with parallelism across keys; PostgreSQL claims with ``FOR UPDATE SKIP LOCKED``;
* outcomes of many attempts are written in one transaction (attempt rows, delivery states, dead letters,
  xrefs, echo hashes, message states).

The ledger reads time only from its :class:`~bridge.ports.Clock`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bridge.ports import Clock
from bridge.store.alerts import AlertLedger
from bridge.store.audit import AuditLedger
from bridge.store.batches import BatchLedger
from bridge.store.blobs import BlobLedger
from bridge.store.circuits import CircuitLedger
from bridge.store.comparisons import ComparisonLedger
from bridge.store.deliveries import DeliveryLedger
from bridge.store.engine import make_engine, upgrade
from bridge.store.flags import FlagLedger
from bridge.store.leases import LeaseLedger
from bridge.store.noise_rules import NoiseRuleLedger
from bridge.store.observations import ObservationLedger
from bridge.store.reconciliations import ReconciliationLedger
from bridge.store.references import ReferenceLedger
from bridge.store.retention import RetentionLedger
from bridge.store.sealing import OFF, Protection

__all__ = ["Ledger", "open_ledger"]


class Ledger(
    BatchLedger,
    DeliveryLedger,
    ReferenceLedger,
    FlagLedger,
    ComparisonLedger,
    ObservationLedger,
    RetentionLedger,
    NoiseRuleLedger,
    AuditLedger,
    ReconciliationLedger,
    AlertLedger,
    CircuitLedger,
    LeaseLedger,
    BlobLedger,
):
    """All reads and writes of the ledger go through here (and ``bridge.store.queries`` for reports).

    One class for callers, assembled from one module per concern: batches (poll side), deliveries,
    references (xrefs, echoes), leases and nodes, the audit log and API tokens, cutover flags, comparisons,
    accepted noise, observations, reconciliations, alert states, circuit breaker states, blobs (forwarded
    bytes, :mod:`bridge.store.blobs`) and retention
    (``ledger stats``/``prune``; how payloads are packed is :mod:`bridge.store.packing`).
    """


@contextmanager
def open_ledger(
    url: str,
    clock: Clock,
    *,
    migrate: bool = True,
    node: str | None = None,
    protection: Protection = OFF,
    **engine_options: Any,
) -> Iterator[Ledger]:
    """The ledger at ``url`` (migrated to the newest schema unless ``migrate`` is False), disposed on exit.

    The one way code outside ``bridge.store`` opens a ledger: nobody else creates engines. ``node`` names this
    process in claims and leases (default ``host:pid``). ``protection`` seals the stored bytes of interfaces with
    sensitive fields and opens sealed ones (``bridge.config.protection.protection_for`` builds it from the env).
    """
    engine = make_engine(url, **engine_options)
    try:
        if migrate:
            upgrade(engine)
        yield Ledger(engine, clock, node=node, protection=protection)
    finally:
        engine.dispose()
