"""The process's counters (records in, attempts by outcome, failures by class) with bounded label values.

Label values come from the config (interface names), from small enums (path, role, status) or from the error
tree's ``code`` (a fixed set): still, every label is capped (:class:`BoundedLabels`), so a bug or a hostile
input can never blow up the number of series a scraper must keep. Values past the cap read ``other``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

__all__ = ["REGISTRY", "BoundedLabels", "attempts_finished", "records_in"]

#: the registry ``/metrics`` exports (the runtime's counters; the ledger gauges are added by the API)
REGISTRY = CollectorRegistry(auto_describe=True)

OTHER = "other"


class BoundedLabels:
    """At most ``limit`` distinct values per label name; later new values are reported as ``other``."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, value: object) -> str:
        text = str(value) if value is not None else "none"
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if text in seen:
                return text
            if len(seen) >= self.limit:
                return OTHER
            seen.add(text)
            return text


_bound = BoundedLabels()

RECORDS_IN = Counter(
    "esb_bridge_records_in",
    "Records decoded and committed to the ledger, per interface (result: message or dead_letter).",
    ["interface", "result"],
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "esb_bridge_delivery_attempts",
    "Delivery attempts recorded, per interface, path, role and what the delivery became "
    "(delivered, pending = to be retried, dead).",
    ["interface", "path", "role", "status"],
    registry=REGISTRY,
)
FAILURES = Counter(
    "esb_bridge_delivery_failures",
    "Failed delivery attempts by error class (the error tree's code: timeout, rejected, ambiguous ...).",
    ["interface", "path", "class"],
    registry=REGISTRY,
)


def records_in(interface: str, messages: int, dead_letters: int = 0) -> None:
    """``messages`` records became messages and ``dead_letters`` dead letters in ``interface``."""
    iface = _bound("interface", interface)
    if messages:
        RECORDS_IN.labels(iface, "message").inc(messages)
    if dead_letters:
        RECORDS_IN.labels(iface, "dead_letter").inc(dead_letters)


def attempts_finished(results: Iterable[Any]) -> None:
    """Count recorded attempts: each has ``delivery.interface/.path/.role``, ``next_status`` and ``error``
    (``bridge.store.records.AttemptResult``, typed loosely so this package stays below the store)."""
    for r in results:
        d = r.delivery
        iface, path = _bound("interface", d.interface), _bound("path", getattr(d.path, "value", d.path))
        status = getattr(r.next_status, "value", r.next_status)
        ATTEMPTS.labels(iface, path, _bound("role", getattr(d.role, "value", d.role)), _bound("status", status)).inc()
        if r.error:
            FAILURES.labels(iface, path, _bound("class", r.error.get("code", "unknown"))).inc()
