"""The ``observability:`` block (tracing exporter, where alerts go) and an interface's ``alerts:`` rules.

Tracing is off unless ``otlp_endpoint`` (or the environment's ``OTEL_EXPORTER_OTLP_ENDPOINT``) names an
OTLP/HTTP collector. Alert rules are per interface; they are evaluated by ``esb-bridge run`` every
``alerts.every`` and by ``esb-bridge alerts check``, and sent to ``alerts.webhook`` (docs/operations.md).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bridge.config.types import Duration

__all__ = ["AlertRules", "AlertsConfig", "ObservabilityConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class AlertRules(_Strict):
    """When an interface is in trouble; every rule is off unless set."""

    lag_above: Duration | None = None
    """Fire when the oldest unfinished delivery (pending or in progress) was recorded longer ago than this."""
    dlq_depth_above: int | None = Field(None, ge=0)
    """Fire when more than this many dead letters of the interface are open (not replayed or discarded)."""
    dead_letter_older_than: Duration | None = None
    """Fire when the oldest open dead letter of the interface is older than this."""
    match_rate_below: float | None = Field(None, ge=0.0, le=1.0)
    """Fire when the share of shadow comparisons that match (accepted differences count as matches) over
    `match_window` is below this, once at least `match_min_compared` were compared."""
    match_window: Duration = 86400.0
    """The period the match rate is computed over (ending now)."""
    match_min_compared: int = Field(20, ge=1)
    """Comparisons needed in the window before the match rate rule says anything."""
    silent_for: Duration | None = None
    """Fire when the source delivered no new batch for longer than this (its expected cadence plus slack);
    measured from the newest batch, or from the first evaluation when it never delivered one."""
    circuit_open_for: Duration | None = None
    """Fire when the circuit breaker of one of the interface's targets has not been closed for longer than this
    (0: as soon as it opens); resolves when every circuit is closed again."""


class AlertsConfig(_Strict):
    """Where alerts go and how often `run` evaluates them."""

    webhook: str
    """URL every alert and its resolve notification is POSTed to as JSON (e.g. an Alertmanager-style receiver)."""
    every: Duration = 60.0
    """How often `esb-bridge run` evaluates the rules."""
    timeout: Duration = 5.0
    """Seconds one webhook call may take; a failed call is retried at the next evaluation."""


class ObservabilityConfig(_Strict):
    """Tracing and alerting of the bridge itself (logs: `--log-format`; metrics: the admin API's /metrics)."""

    otlp_endpoint: str | None = None
    """OTLP/HTTP collector base URL (e.g. http://127.0.0.1:4318) spans are exported to; unset (and no
    OTEL_EXPORTER_OTLP_ENDPOINT in the environment): no spans, no cost. Needs `pip install esb-bridge[otel]`."""
    service_name: str = "esb-bridge"
    """The `service.name` resource attribute of the exported spans."""
    alerts: AlertsConfig | None = None
    """Where alerts of the interfaces' `alerts:` rules are sent; without it the rules are not evaluated."""
