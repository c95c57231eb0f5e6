"""The configuration schema (pydantic). Plugin blocks stay raw here; the loader validates them per kind.

One YAML file (plus included interface files) describes the store, retry defaults and every interface.
Durations accept ``500ms``, ``30s``, ``5m``, ``2h``, ``1d`` or a number of seconds.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.canonical import MODELS
from bridge.config.api import ApiConfig
from bridge.config.compare import CompareRules
from bridge.config.cutover import FlagRules
from bridge.config.observability import AlertRules, ObservabilityConfig
from bridge.config.reconcile import ReconcileConfig
from bridge.config.types import Duration, Mode, parse_duration

__all__ = [
    "Backpressure",
    "BridgeConfig",
    "CircuitPolicy",
    "CompareRules",
    "CutoverConfig",
    "DataProtection",
    "Duration",
    "EchoConfig",
    "FlagRules",
    "InterfaceConfig",
    "Limits",
    "Mode",
    "PathConfig",
    "ReconcileConfig",
    "Reference",
    "RetryPolicy",
    "Schedule",
    "XrefRule",
    "parse_duration",
]

PluginBlock = dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class RetryPolicy(_Strict):
    """Backoff ``initial * multiplier**(n-1)`` capped at ``max_delay``, +/- ``jitter`` share, honouring
    ``retry_after``; after ``max_attempts`` or ``max_age`` the delivery is a dead letter."""

    initial: Duration = 1.0
    """Delay before the second attempt (a duration: 500ms, 30s, 5m, 2h, 1d or seconds)."""
    multiplier: float = Field(2.0, ge=1.0)
    """Each further delay is the previous one times this factor (>= 1)."""
    max_delay: Duration = 300.0
    """Upper bound of one delay, whatever the multiplier gives."""
    jitter: float = Field(0.1, ge=0.0, le=1.0)
    """Random share (0..1) added to or taken from each delay so retries of many deliveries spread out."""
    max_attempts: int = Field(10, ge=1)
    """Attempts after which a delivery becomes a dead letter."""
    max_age: Duration = 86400.0
    """Age of a delivery after which it becomes a dead letter, whatever the attempts."""
    dependency_max_age: Duration = 86400.0
    """How long a delivery may wait for a reference (DependencyPending) before it is a dead letter."""


class CircuitPolicy(_Strict):
    """Stop calling a target that keeps failing (``bridge/runtime/circuit.py``): after ``failures`` retryable
    failures in a row, of at least two business keys (one key failing again and again is that record's problem,
    not the target's), the circuit opens: nothing is sent, no attempt is spent, for ``open_for``; then one
    probe delivery goes out (half-open): a success closes the circuit, a failure opens it again for twice as long,
    at most ``max_open_for``. Rejections (4xx) do not count: the target answers."""

    failures: int = Field(5, ge=0)
    """Retryable failures in a row that open the circuit; 0 turns the breaker off."""
    open_for: Duration = 30.0
    """How long the circuit stays open before a probe delivery is sent."""
    max_open_for: Duration = 600.0
    """Longest open period (each failed probe doubles it up to this)."""


class Limits(_Strict):
    """Per-target delivery limits: worker threads and a rate (deliveries per second, unset = unlimited)."""

    concurrency: int = Field(2, ge=1, le=256)
    """Delivery worker threads for this target."""
    rate: float | None = Field(None, gt=0)
    """Most deliveries per second to this target; unset means unlimited."""
    batch: int = Field(100, ge=1, le=5000)
    """Deliveries a worker claims from the ledger at once to begin with (see max_batch)."""
    max_batch: int = Field(500, ge=1, le=20000)
    """Most deliveries a worker claims at once: the claim doubles from batch while the target takes every
    delivery quickly, and halves on failures (never below 1)."""
    circuit: CircuitPolicy = CircuitPolicy()
    """The circuit breaker of this target (on by default; failures: 0 turns it off)."""


class Reference(_Strict):
    """A reference the encoder needs resolved first: ``field`` of the record is a key of ``entity`` whose
    id in ``system`` must be known (else the delivery is parked as DependencyPending)."""

    entity: str
    """Entity the referenced key belongs to (e.g. Customer)."""
    field: str
    """Dotted path of the record field holding the referenced business key."""
    system: str
    """System whose id for that key must be known before delivery (xref)."""


class XrefRule(_Strict):
    """Record an xref from a delivered outcome: (entity, system, business key) -> outcome.target_id."""

    entity: str
    """Entity recorded in the cross-reference (usually the interface's canonical type)."""
    system: str
    """System the delivered outcome's target id belongs to."""


class PathConfig(_Strict):
    """How one side of an interface is served: the bridge delivers (``run``), passes bytes on, or observes."""

    kind: Literal["run", "forward", "observe"] = "run"
    """run: the bridge encodes and delivers; forward: the bridge passes the source bytes on; observe: another system
    (the old ESB) delivers and the bridge only watches the outcome."""
    encoder: PluginBlock | None = None
    """Encoder plugin block turning the canonical record into bytes for the target (required for kind run)."""
    sink: PluginBlock | None = None
    """Sink plugin block: where this path delivers (required for kinds run and forward)."""
    shadow_sink: PluginBlock | None = None
    """Sink used while this path is the shadow (non-authoritative) side; see cutover.shadow."""
    system: str | None = None
    """Name of the target system, used for cross-references and echo suppression."""
    references: list[Reference] = Field(default_factory=list)
    """References that must be resolved (known ids in other systems) before a delivery is attempted."""
    xref: XrefRule | None = None
    """Record a cross-reference from each delivered outcome's target id."""
    retry: RetryPolicy | None = None
    """Retry policy of this path; the top-level retry applies when unset."""
    limits: Limits = Limits()
    """Delivery limits (worker threads, rate, claim batch) of this path's target."""
    project: PluginBlock | None = None
    """Projector plugin block turning what this path delivered (or read back) into a canonical record for comparison;
    both paths need one for the shadow comparison."""
    readback: PluginBlock | None = None
    """ReadBack plugin block fetching what the target holds after delivery (compared instead of the sent bytes)."""
    observe: PluginBlock | None = None
    """Source plugin block reading what another system delivered (kind observe)."""
    listing: PluginBlock | None = None
    """Listing plugin block: the target's own query of what it holds (REST list, SOAP read, folder), read by
    `esb-bridge reconcile`; without one the path is reconciled from the ledger alone."""

    @model_validator(mode="after")
    def _needs_sink(self) -> PathConfig:
        if self.kind in ("run", "forward") and self.sink is None:
            raise ValueError(f"a path of kind {self.kind!r} needs a sink")
        if self.kind == "run" and self.encoder is None:
            raise ValueError("a path of kind 'run' needs an encoder")
        return self


class Schedule(_Strict):
    every: Duration = 60.0
    """Interval between two polls of the source (a duration)."""


#: The YAML ``cutover:`` block: the seed of the interface's flag (the ledger's flag wins once it exists).
CutoverConfig = FlagRules


class Backpressure(_Strict):
    """Pause a source while its interface already has too much to deliver."""

    max_backlog: int = Field(1_000_000, ge=0)
    """Open deliveries (held, pending, in progress) of the interface above which its source is not polled
    (the poll is skipped and logged as source_paused until the backlog is below the bound); 0: never pause.
    A file already being read is finished; a webhook sender is answered 503 and retries."""


class EchoConfig(_Strict):
    """The source reads from ``system``: records equal to the bridge's own last write there are dropped."""

    system: str
    """System the source reads from; records equal to the bridge's own last write there are dropped."""


class InterfaceConfig(_Strict):
    canonical: str
    """Canonical type of the records (e.g. Customer, Invoice); see `esb-bridge schema export`."""
    source: PluginBlock
    """Source plugin block: where records come from (folder, sftp, soap, rest_poll, webhook ...)."""
    decoder: PluginBlock
    """Decoder plugin block turning source bytes into canonical records (csv, xml, json, fixed_width, jsonl)."""
    schedule: Schedule = Schedule()
    """When the source is polled."""
    legacy: PathConfig | None = None
    """The legacy path (old ERP side); needed by every mode but cloud_only."""
    cloud: PathConfig | None = None
    """The cloud path; needed by every mode but legacy_only."""
    cutover: FlagRules = FlagRules()
    """Seed of the interface's flag (mode, rollout, shadow, gate, guard); the ledger's flag wins once it exists."""
    compare: CompareRules = CompareRules()
    """How the two paths' outcomes are compared in canonical form."""
    reconcile: ReconcileConfig | None = None
    """Counts and amount sums per business date of what each path delivered, against the target's listing
    (`esb-bridge reconcile`, or scheduled with `every`)."""
    echo: EchoConfig | None = None
    """Drop records that are the bridge's own earlier writes to the source system."""
    acknowledge: Literal["on_commit", "on_delivery"] = "on_commit"
    """When the source is acknowledged (file archived, cursor saved): once the records are committed to the ledger, or
    once every delivery succeeded."""
    chunk_size: int = Field(500, ge=1, le=100_000)
    """Records written to the ledger per transaction while decoding."""
    backpressure: Backpressure = Backpressure()
    """When the source pauses because the interface's backlog is too large."""
    description: str = ""
    """Free text shown in listings."""
    alerts: AlertRules | None = None
    """When to alert about this interface (lag, dead letters, match rate, a silent source); sent to
    `observability.alerts.webhook`."""

    @field_validator("canonical")
    @classmethod
    def _known_canonical(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"unknown canonical type {v!r}; expected one of {', '.join(sorted(MODELS))}")
        return v

    @field_validator("source", "decoder")
    @classmethod
    def _has_kind(cls, v: PluginBlock) -> PluginBlock:
        if "kind" not in v:
            raise ValueError("needs a 'kind'")
        return v

    @model_validator(mode="after")
    def _paths_match_mode(self) -> InterfaceConfig:
        mode = self.cutover.mode
        if mode != "cloud_only" and self.legacy is None:
            raise ValueError(f"cutover mode {mode} needs a legacy path")
        if mode != "legacy_only" and self.cloud is None:
            raise ValueError(f"cutover mode {mode} needs a cloud path")
        return self


class DataProtection(_Strict):
    """Protection at rest of interfaces with ``compare.sensitive`` fields (keys: environment only)."""

    require_key: bool = False
    """Refuse to open the ledger when an interface declares sensitive fields and ESB_BRIDGE_DATA_KEY or
    ESB_BRIDGE_HASH_KEY is not set (default: warn and store those interfaces in clear)."""


class BridgeConfig(_Strict):
    store: str = "sqlite:///bridge.db"
    """Ledger URL: sqlite:///file.db (relative to the config file) or postgresql://user@host/db."""
    spool_dir: str = "./spool"
    """Folder for payloads staged between decoding and delivery."""
    backtest_dir: str = ".esb-bridge/backtests"
    """Folder (relative to this file) of the backtests (`esb-bridge backtest`): one SQLite ledger and one state
    file per backtest id, kept apart from the live ledger so live readiness never counts them."""
    include: list[str] = Field(default_factory=list)
    """Glob patterns (relative to this file) of interface files, each a mapping of interface name to interface."""
    retry: RetryPolicy = RetryPolicy()
    """Default retry policy of every path."""
    lease: Duration = 300.0
    """How long a claimed delivery stays with its worker before another process may take it over."""
    shutdown_grace: Duration = 30.0
    """How long `esb-bridge run` waits after SIGTERM or Ctrl-C for in-flight deliveries and polls to finish; then
    it releases its delivery claims and poll leases and exits (a second signal exits at once)."""
    interfaces: dict[str, InterfaceConfig] = Field(default_factory=dict)
    """Interfaces by name (lower-case letters, digits, '-', '_', '.')."""
    api: ApiConfig | None = None
    """The admin HTTP API; when present, `esb-bridge run` serves it too (`esb-bridge serve` serves it alone)."""
    observability: ObservabilityConfig = ObservabilityConfig()
    """Tracing (an OTLP exporter) and where alerts are sent."""
    data_protection: DataProtection = DataProtection()
    """How stored bytes of interfaces with sensitive fields are protected (keys come from the environment)."""

    @field_validator("interfaces")
    @classmethod
    def _names(cls, v: dict[str, InterfaceConfig]) -> dict[str, InterfaceConfig]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", name):
                raise ValueError(f"interface name {name!r}: lower-case letters, digits, '-', '_', '.'")
        return v
