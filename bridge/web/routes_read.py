"""Read-only routes (viewer): interfaces and their status, message search and trace, dead letters, reports.

Nothing here returns a secret or a sensitive value: canonical records are masked with the interface's
``compare.sensitive`` globs, bytes sent to or received from a target are summarised (size, media type,
SHA-256; for an interface with sensitive fields an HMAC under ``ESB_BRIDGE_HASH_KEY`` or no hash), never
returned, and a dead letter's original fragment is not returned (only its summary).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from bridge.store import queries
from bridge.store.records import MessageKind, MessageState
from bridge.web.auth import Identity, Role, require
from bridge.web.context import ApiContext, ctx_of
from bridge.web.masking import mask, summary
from bridge.web.snapshot import LedgerSnapshot
from cutover.compare.paths import PathMatcher
from cutover.flags import FlagStore

__all__ = ["message_trace", "router"]

router = APIRouter(prefix="/api/v1")
Viewer = Annotated[Identity, Depends(require(Role.VIEWER))]


def _interface_status(ctx: ApiContext, name: str | None, snapshot: LedgerSnapshot) -> list[dict[str, Any]]:
    """One interface read live, or every interface from the shared snapshot (with its ``as_of`` time)."""
    if name is None:
        counts, as_of = snapshot.status()
    else:
        counts, as_of = queries.status_counts(ctx.ledger.engine, interface=name), ctx.ledger.clock.now()
    flags = FlagStore.of(ctx.ledger).all_current()
    names = [name] if name else sorted(set(ctx.loaded.config.interfaces) | set(counts))
    out = []
    for n in names:
        cfg = ctx.loaded.config.interfaces.get(n)
        flag = flags.get(n)
        row = counts.get(n, {"messages": {}, "deliveries": {}, "dead_letters_open": 0, "batches": {}})
        out.append(
            {
                "interface": n,
                "configured": cfg is not None,
                "canonical": cfg.canonical if cfg else None,
                "description": cfg.description if cfg else "",
                "mode": flag.mode if flag else (cfg.cutover.mode if cfg else None),
                "flag_version": flag.version if flag else None,
                "as_of": as_of.isoformat(),
                **row,
            }
        )
    return out


@router.get(
    "/interfaces",
    summary="Every interface with its mode and counts (from the shared snapshot, at most api.metrics_cache old)",
)
def interfaces(request: Request, who: Viewer) -> list[dict[str, Any]]:
    return _interface_status(ctx_of(request), None, request.app.state.snapshot)


@router.get("/interfaces/{name}", summary="One interface's status")
def interface(name: str, request: Request, who: Viewer) -> dict[str, Any]:
    ctx = ctx_of(request)
    if name not in ctx.loaded.config.interfaces:
        raise HTTPException(404, f"no interface {name!r}")
    return _interface_status(ctx, name, request.app.state.snapshot)[0]


@router.get("/messages", summary="Search messages by interface, state, business key, transaction id and time")
def messages(
    request: Request,
    who: Viewer,
    interface: str | None = None,
    state: MessageState | None = None,
    business_key: str | None = None,
    transaction_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    for t in (since, until):
        if t is not None and t.tzinfo is None:
            raise HTTPException(422, "since/until need a time zone (e.g. 2026-12-01T10:00:00Z)")
    q = queries.MessageQuery(
        interface, state.value if state else None, business_key, transaction_id, since, until, limit
    )
    return queries.search_messages(ctx_of(request).ledger.engine, q)


def _summarise(ctx: ApiContext, interface: str) -> Any:
    """The summary function for bytes of ``interface`` (keyed hash, or none, where it has sensitive fields)."""
    protection = ctx.ledger.protection
    cfg = ctx.loaded.config.interfaces.get(interface)
    sensitive = cfg is None or bool(cfg.compare.sensitive)
    key = protection.hash_key_for(interface)

    def summarise(data: bytes | str | None, media_type: str | None = None) -> dict[str, Any] | None:
        return summary(data, media_type, sensitive=sensitive, hash_key=key)

    return summarise


@router.get("/messages/{message_id}/trace", summary="A message's full trace: source, record, attempts, comparison")
def trace(message_id: str, request: Request, who: Viewer) -> dict[str, Any]:
    out = message_trace(ctx_of(request), message_id)
    if out is None:
        raise HTTPException(404, f"no message {message_id}")
    return out


def message_trace(ctx: ApiContext, message_id: str) -> dict[str, Any] | None:
    """A message's trace as people may see it (record masked, bytes summarised); None when there is none.
    The API's trace route and the dashboard's trace page show this."""
    engine = ctx.ledger.engine
    detail = queries.message_detail(engine, message_id, ctx.ledger.protection)
    if detail is None:
        return None
    _summary = _summarise(ctx, detail["interface"])
    cfg = ctx.loaded.config.interfaces.get(detail["interface"])
    sensitive = PathMatcher(cfg.compare.sensitive if cfg else ("**",))
    payload = detail.pop("payload")
    record: Any = None
    if payload is not None and detail["kind"] == MessageKind.RECORD:
        record = mask(orjson.loads(payload), sensitive)
    deliveries = []
    for d in detail.pop("deliveries"):
        attempts = d.pop("attempts_log")
        sent, response = d.pop("sent"), d.pop("response")
        d.pop("claim_token", None)
        deliveries.append(
            {
                **d,
                "request": _summary(sent),
                "response": _summary(response, d.get("media_type")),
                "attempts_log": [{k: v for k, v in a.items() if k != "delivery_id"} for a in attempts],
            }
        )
    return {
        "message": detail,
        "source": queries.message_source(engine, message_id),
        "record": record,
        "record_summary": _summary(payload),
        "masked_fields": list(sensitive.globs),
        "deliveries": deliveries,
        "comparisons": queries.message_comparisons(engine, message_id),
    }


@router.get("/dead-letters", summary="Dead letters with their error, location and owner")
def dead_letters(
    request: Request,
    who: Viewer,
    interface: str | None = None,
    status: str = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return queries.dead_letters(ctx_of(request).ledger.engine, interface, None if status == "all" else status, limit)


@router.get("/dead-letters/{dl_id}", summary="One dead letter (its fragment and the target's response summarised)")
def dead_letter(dl_id: int, request: Request, who: Viewer) -> dict[str, Any]:
    ctx = ctx_of(request)
    data = queries.dead_letter(ctx.ledger.engine, dl_id, ctx.ledger.protection)
    if data is None:
        raise HTTPException(404, f"no dead letter {dl_id}")
    _summary = _summarise(ctx, data["interface"])
    data["fragment"] = _summary(data.pop("fragment") or None)
    data["response"] = _summary(data.pop("response"))
    return data


@router.get("/reports/shadow", summary="The shadow comparison report (json, html, csv or junit)", response_model=None)
def shadow_report(
    request: Request,
    who: Viewer,
    interface: str | None = None,
    since: datetime | None = None,
    format: str = "json",
) -> Response | dict[str, Any]:
    from cutover.reports import build_report, render_csv, render_html, render_junit

    ctx = ctx_of(request)
    if interface and interface not in ctx.loaded.config.interfaces:
        raise HTTPException(404, f"no interface {interface!r}")
    data = build_report(ctx.ledger, ctx.loaded, interface=interface, since=since)
    renderers = {
        "html": (render_html, "text/html"),
        "csv": (render_csv, "text/csv"),
        "junit": (render_junit, "application/xml"),
    }
    if format == "json":
        return data
    if format not in renderers:
        raise HTTPException(422, "format: json, html, csv or junit")
    render, media = renderers[format]
    return Response(render(data), media_type=media)


@router.get("/audit", summary="The audit log with its hash chain (JSON lines: each entry has prev_hash and hash)")
def audit(request: Request, who: Viewer, after_id: int = 0) -> Response:
    entries = ctx_of(request).ledger.audit_entries(after_id=after_id)
    lines = (orjson.dumps({**e, "at": e["at"].isoformat()}) for e in entries)
    return Response(b"".join(line + b"\n" for line in lines), media_type="application/x-ndjson")


@router.get("/whoami", summary="The caller's identity and role")
def whoami(who: Viewer) -> dict[str, str]:
    return who.public()
