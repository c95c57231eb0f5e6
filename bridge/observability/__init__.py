"""Signals the runtime emits, for the admin API's ``/metrics``: a tiny API over prometheus-client counters.

The runtime calls :func:`records_in` and :func:`attempts_finished` (one line each, where the ledger has just
recorded the fact); everything that can be read from the ledger (queue depths, dead letters, comparisons,
gates) is *not* counted here but read at scrape time (``bridge.web.metrics``), so it is right across restarts
and processes. This package imports nothing of the bridge: any layer may use it.
"""

from bridge.observability.metrics import (
    REGISTRY,
    BoundedLabels,
    attempts_finished,
    records_in,
)

__all__ = ["REGISTRY", "BoundedLabels", "attempts_finished", "records_in"]
