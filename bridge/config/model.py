"""The configuration schema (pydantic). Plugin blocks stay raw here; the loader validates them per kind.

One YAML file (plus included interface files) describes the store, retry defaults and every interface.
Durations accept ``500ms``, ``30s``, ``5m``, ``2h``, ``1d`` or a number of seconds.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.canonical import MODELS
from bridge.config.compare import CompareRules
from bridge.config.cutover import FlagRules
from bridge.config.types import Duration, Mode, parse_duration

__all__ = [
    "BridgeConfig",
    "CompareRules",
    "CutoverConfig",
    "Duration",
    "EchoConfig",
    "FlagRules",
    "InterfaceConfig",
    "Limits",
    "Mode",
    "PathConfig",
    "Reference",
    "RetryPolicy",
    "Schedule",
    "XrefRule",
    "parse_duration",
]

PluginBlock = dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(_Strict):
    """Backoff ``initial * multiplier**(n-1)`` capped at ``max_delay``, +/- ``jitter`` share, honouring
    ``retry_after``; after ``max_attempts`` or ``max_age`` the delivery is a dead letter."""

    initial: Duration = 1.0
    multiplier: float = Field(2.0, ge=1.0)
    max_delay: Duration = 300.0
    jitter: float = Field(0.1, ge=0.0, le=1.0)
    max_attempts: int = Field(10, ge=1)
    max_age: Duration = 86400.0
    dependency_max_age: Duration = 86400.0


class Limits(_Strict):
    """Per-target delivery limits: worker threads and a rate (deliveries per second, None = unlimited)."""

    concurrency: int = Field(2, ge=1, le=256)
    rate: float | None = Field(None, gt=0)
    batch: int = Field(100, ge=1, le=5000)


class Reference(_Strict):
    """A reference the encoder needs resolved first: ``field`` of the record is a key of ``entity`` whose
    id in ``system`` must be known (else the delivery is parked as DependencyPending)."""

    entity: str
    field: str
    system: str


class XrefRule(_Strict):
    """Record an xref from a delivered outcome: (entity, system, business key) -> outcome.target_id."""

    entity: str
    system: str


class PathConfig(_Strict):
    """How one side of an interface is served (DESIGN.md "Legacy path kinds"; the cloud path is ``run``)."""

    kind: Literal["run", "forward", "observe"] = "run"
    encoder: PluginBlock | None = None
    sink: PluginBlock | None = None
    shadow_sink: PluginBlock | None = None
    system: str | None = None
    references: list[Reference] = Field(default_factory=list)
    xref: XrefRule | None = None
    retry: RetryPolicy | None = None
    limits: Limits = Limits()
    project: PluginBlock | None = None
    readback: PluginBlock | None = None
    observe: PluginBlock | None = None

    @model_validator(mode="after")
    def _needs_sink(self) -> PathConfig:
        if self.kind in ("run", "forward") and self.sink is None:
            raise ValueError(f"a path of kind {self.kind!r} needs a sink")
        if self.kind == "run" and self.encoder is None:
            raise ValueError("a path of kind 'run' needs an encoder")
        return self


class Schedule(_Strict):
    every: Duration = 60.0


#: The YAML ``cutover:`` block: the seed of the interface's flag (the ledger's flag wins once it exists).
CutoverConfig = FlagRules


class EchoConfig(_Strict):
    """The source reads from ``system``: records equal to the bridge's own last write there are dropped."""

    system: str


class InterfaceConfig(_Strict):
    canonical: str
    source: PluginBlock
    decoder: PluginBlock
    schedule: Schedule = Schedule()
    legacy: PathConfig | None = None
    cloud: PathConfig | None = None
    cutover: FlagRules = FlagRules()
    compare: CompareRules = CompareRules()
    echo: EchoConfig | None = None
    acknowledge: Literal["on_commit", "on_delivery"] = "on_commit"
    chunk_size: int = Field(500, ge=1, le=100_000)
    description: str = ""

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


class BridgeConfig(_Strict):
    store: str = "sqlite:///bridge.db"
    spool_dir: str = "./spool"
    include: list[str] = Field(default_factory=list)
    retry: RetryPolicy = RetryPolicy()
    lease: Duration = 300.0
    interfaces: dict[str, InterfaceConfig] = Field(default_factory=dict)

    @field_validator("interfaces")
    @classmethod
    def _names(cls, v: dict[str, InterfaceConfig]) -> dict[str, InterfaceConfig]:
        for name in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", name):
                raise ValueError(f"interface name {name!r}: lower-case letters, digits, '-', '_', '.'")
        return v
