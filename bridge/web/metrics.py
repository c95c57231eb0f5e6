"""``/metrics``: the runtime's counters (``bridge.observability``) plus gauges read from the ledger at scrape time.

The ledger figures (messages by state, deliveries by path/role/status, open dead letters and the oldest one's
age, shadow comparisons by status, gate readiness) come from one store call per scrape
(:func:`bridge.store.queries.metric_counts`, one UNION ALL statement, shared with the interfaces listing and
reused for ``metrics_cache`` seconds: :mod:`bridge.web.snapshot`) plus one gate evaluation per interface.
Labels are interface names from the config, the store's small enums, and nothing a record carries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge import observability
from bridge.web.context import ApiContext
from bridge.web.snapshot import LedgerSnapshot
from cutover.audit import Cutover, CutoverError

__all__ = ["LedgerCollector", "render_metrics"]


class LedgerCollector(Collector):
    """Gauges from the ledger's shared snapshot (:mod:`bridge.web.snapshot`)."""

    def __init__(self, ctx: ApiContext, snapshot: LedgerSnapshot) -> None:
        self.ctx = ctx
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        yield from self._read()

    def _read(self) -> list[Metric]:
        rows, now = self.snapshot.rows()
        messages = GaugeMetricFamily(
            "esb_bridge_messages", "Messages in the ledger by state.", labels=["interface", "state"]
        )
        deliveries = GaugeMetricFamily(
            "esb_bridge_deliveries",
            "Deliveries by path, role and status.",
            labels=["interface", "path", "role", "status"],
        )
        dlq = GaugeMetricFamily("esb_bridge_dlq_depth", "Open dead letters.", labels=["interface"])
        oldest = GaugeMetricFamily(
            "esb_bridge_dlq_oldest_age_seconds", "Age of the oldest open dead letter.", labels=["interface"]
        )
        shadow = GaugeMetricFamily(
            "esb_bridge_shadow_comparisons",
            "Shadow comparisons by status (match, mismatch, orphan, accepted ...) and level.",
            labels=["interface", "status", "level"],
        )
        circuit = GaugeMetricFamily(
            "esb_bridge_circuit_open",
            "1 while the target's circuit breaker is open or half-open (deliveries wait), 0 when closed.",
            labels=["interface", "target"],
        )
        known = set(self.ctx.loaded.config.interfaces)
        for r in rows:
            iface = r["interface"] if r["interface"] in known else "other"
            if r["metric"] == "messages":
                messages.add_metric([iface, r["a"]], r["n"])
            elif r["metric"] == "deliveries":
                path, role = r["a"].split("/", 1)
                deliveries.add_metric([iface, path, role, r["b"]], r["n"])
            elif r["metric"] == "dlq":
                dlq.add_metric([iface], r["n"])
                if r["oldest"] is not None:
                    oldest.add_metric([iface], max(0.0, (now - r["oldest"]).total_seconds()))
            elif r["metric"] == "comparisons":
                shadow.add_metric([iface, r["a"], r["b"]], r["n"])
            elif r["metric"] == "circuit" and iface != "other":  # targets are the config's: bounded labels
                circuit.add_metric([iface, r["a"]], 0.0 if r["b"] == "closed" else 1.0)
        return [messages, deliveries, dlq, oldest, shadow, circuit, self._gates()]

    def _gates(self) -> Metric:
        gate = GaugeMetricFamily(
            "esb_bridge_gate_ready",
            "1 when the interface's readiness gate would allow a promotion.",
            labels=["interface"],
        )
        cut = Cutover(self.ctx.ledger)
        for name in sorted(self.ctx.loaded.config.interfaces):
            try:
                gate.add_metric([name], 1.0 if cut.readiness(name).ready else 0.0)
            except CutoverError:  # no flag seeded yet: not ready
                gate.add_metric([name], 0.0)
        return gate


def render_metrics(collector: LedgerCollector) -> bytes:
    """The Prometheus text exposition of the runtime's counters and the ledger's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Counters())
    registry.register(collector)
    return generate_latest(registry)


class _Counters(Collector):
    def collect(self) -> Iterator[Any]:
        yield from observability.REGISTRY.collect()
