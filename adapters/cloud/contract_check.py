"""``esb-bridge cloud check INTERFACE SAMPLE...``: an interface's mapping against its target's OpenAPI spec.

Each sample file (in the interface's *input* format) is decoded by the interface's own decoder, every record
encoded by the cloud path's encoder, and the body validated against the operation the cloud sink would call;
nothing is sent. The config comes from the root CLI's context object (anything with ``load()`` returning a
loaded config whose ``build()`` makes the interface's decoder and encoder through the plugin registry), so
this module needs no import from the CLI, config or plugin layers above it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.cloud.openapi import OpenApiSpec, Operation
from adapters.cloud.rest import RestSinkConfig, render_url
from bridge.ports import (
    BridgeError,
    ConfigError,
    DecodedRecord,
    EncodeContext,
    Envelope,
    IdentityRule,
    PathName,
    PluginContext,
    SystemClock,
    message_id,
    record_identity,
)

__all__ = ["SampleReport", "check_interface"]


@dataclass
class SampleReport:
    """What one sample file produced: per record (ordinal), the problems found (empty = fits the contract)."""

    sample: str
    records: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


def _operation(spec: OpenApiSpec, sink: RestSinkConfig, values: dict[str, str], body: bytes) -> Operation:
    if sink.operation:
        return spec.operation(sink.method, sink.operation)
    try:
        url = render_url(sink.url, values, body)
    except BridgeError:
        url = re.sub(r"\{[^}]+\}", "_", sink.url)  # unresolved xrefs: any value finds the same operation
    return spec.operation(sink.method, url)


def check_interface(loaded: Any, interface: str, samples: list[Path]) -> list[SampleReport]:
    """Decode, encode and validate every record of ``samples`` for ``interface``'s cloud path."""
    iface = loaded.config.interfaces.get(interface)
    if iface is None:
        raise ConfigError(f"no interface {interface!r} in {loaded.file}")
    sink = loaded.plugin(interface, ("cloud", "sink"))
    if not isinstance(sink, RestSinkConfig) or not sink.openapi:
        raise ConfigError(f"interface {interface!r}: the cloud sink is not a 'rest' sink with an 'openapi' file")
    ctx = PluginContext(base_dir=loaded.base_dir, interface=interface, canonical=iface.canonical, clock=SystemClock())
    spec = OpenApiSpec.load(ctx.resolve(sink.openapi))
    decoder = loaded.build(interface, ("decoder",), ctx)
    encoder = loaded.build(interface, ("cloud", "encoder"), ctx)
    reports: list[SampleReport] = []
    for sample in samples:
        data = sample.read_bytes()
        envelope = Envelope(
            interface=interface,
            batch_id=f"check:{sample}",
            origin=str(sample),
            identity_rule=IdentityRule.FILE,
            identity=hashlib.sha256(data).hexdigest(),
            received_at=ctx.clock.now(),
            transaction_id=f"check-{uuid.uuid4()}",
            body=data,
        )
        report = SampleReport(str(sample))
        try:
            for item in decoder.decode(envelope):
                report.records += 1
                if not isinstance(item, DecodedRecord):
                    report.problems.append({"record": item.ordinal, "field": "(record)", "message": str(item.error)})
                    continue
                key = str(getattr(item.record, "business_key", item.ordinal))
                mid = message_id(interface, record_identity(envelope, ordinal=item.ordinal))
                try:
                    encoded = encoder.encode(item.record, EncodeContext(interface, mid, key, PathName.CLOUD))
                    op = _operation(
                        spec, sink, {"business_key": key, "message_id": str(mid), "interface": interface}, encoded.body
                    )
                    spec.validate_body(op, encoded.body, media_type=encoded.media_type)
                except BridgeError as exc:
                    where = exc.location.field if exc.location and exc.location.field else "(body)"
                    found = exc.detail.get("violations") or [{"field": where, "message": exc.message}]
                    report.problems += [{"record": item.ordinal, "business_key": key, **v} for v in found]
        except BridgeError as exc:
            report.problems.append({"record": None, "field": "(file)", "message": str(exc)})
        reports.append(report)
    return reports
