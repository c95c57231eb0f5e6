"""The dashboard's pages (GET): overview, quote-to-cash flow, interface, message search and trace, remediation
queue, alerts. Each reads what the API's read routes read, with the same masking; write controls are rendered
only for a role that may use them (the posts are checked again: :mod:`bridge.web.ui.forms`)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from bridge.config.types import MODES
from bridge.store import queries
from bridge.store.activity import daily_counts, recent_mismatches
from bridge.web.auth import Identity, Role
from bridge.web.context import ctx_of
from bridge.web.routes_read import message_trace
from bridge.web.ui.figures import Card, cards, flow_stages
from bridge.web.ui.guard import respond, session_of, viewer_identity
from bridge.web.ui.html import age, bars, e, form, link, page, pct, table
from cutover.audit import Cutover, CutoverError
from cutover.flags import FlagStore

__all__ = ["render_interface", "router"]

router = APIRouter(prefix="/ui", include_in_schema=False)

#: a dead letter open longer than this is over its remediation SLA (shown red)
SLA_HOURS = 24
#: the remediation queue lists at most this many open dead letters (the oldest first)
QUEUE_LIMIT = 500
_ARROW = '<div class="arrow">&rarr;</div>'


def _now(request: Request) -> datetime:
    return ctx_of(request).ledger.clock.now()


def _page(request: Request, who: Identity, title: str, body: str, active: str, status: int = 200) -> Response:
    return respond(request, page(title, body, who=who, csrf=session_of(request).csrf, active=active), status)


def _gate(card: Card) -> str:
    if card.gate is None:
        return '<span class="warn">being evaluated</span>'
    if card.gate.get("ready"):
        return '<span class="ok">gate open</span>'
    reasons = "; ".join(str(r) for r in card.gate.get("reasons", []))
    return f'<span class="bad" title="{e(reasons)}">gate closed</span>'


def _card(c: Card, now: datetime) -> str:
    a = c.activity
    lag = age(a.oldest_waiting, now) if a.oldest_waiting else "none waiting"
    rate = f"{'~' if a.estimated else ''}{a.per_hour:,.0f} / h"
    rows = [
        ("mode", e(c.mode)),
        ("throughput", f'<span title="messages in the hour up to the newest ({e(a.newest)})">{rate}</span>'),
        ("end-to-end lag", e(lag)),
        ("messages", str(c.messages)),
        ("waiting", str(c.waiting)),
        ("errors (dead deliveries)", f'<span class="{"bad" if c.dead else ""}">{c.dead}</span>'),
        ("DLQ depth", f'<span class="{"bad" if c.dlq_depth else ""}">{c.dlq_depth}</span>'),
        ("DLQ oldest", e(age(c.dlq_oldest, now) if c.dlq_oldest else "-")),
        ("match rate", f"{pct(c.match_rate)} of {c.compared}"),
        ("gate", _gate(c)),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        f'<section class="card" data-interface="{e(c.name)}"><h3>{link(f"/ui/interfaces/{c.name}", c.name)}</h3>'
        f'<div title="{e(c.description)}">{e(c.canonical)}</div><dl>{dl}</dl></section>'
    )


@router.get("")
def overview(request: Request) -> Response:
    who = viewer_identity(request)
    state = request.app.state
    ov = cards(ctx_of(request), state.snapshot, state.gates, state.activity)
    now = _now(request)
    gates = ov.gates_as_of.isoformat(timespec="seconds") if ov.gates_as_of else "(being evaluated)"
    body = f"<p>Counts as of {e(ov.counts_as_of.isoformat(timespec='seconds'))}, gates as of {e(gates)}.</p>"
    body += '<div class="cards">' + "".join(_card(c, now) for c in ov.cards) + "</div>"
    return _page(request, who, "Interfaces", body, "overview")


@router.get("/flow")
def flow(request: Request) -> Response:
    who = viewer_identity(request)
    state = request.app.state
    parts = []
    for title, cs in flow_stages(cards(ctx_of(request), state.snapshot, state.gates, state.activity).cards):
        waiting = sum(c.waiting for c in cs)
        failing = sum(c.dlq_depth for c in cs)
        css = "failing" if failing else "waiting" if waiting else ""
        lines = "".join(
            f"<li>{link(f'/ui/interfaces/{c.name}', c.name)} ({e(c.mode)}): {c.messages} in, {c.delivered} delivered, "
            f'<span class="warn">{c.waiting} waiting</span>, <span class="bad">{c.dlq_depth} failed</span>'
            + (f" ({link('/ui/remediation', 'queue', interface=c.name)})" if c.dlq_depth else "")
            + "</li>"
            for c in cs
        )
        parts.append(
            f'<section class="stage {css}" data-stage="{e(title)}"><h3>{e(title)}</h3>'
            f"<div>{waiting} waiting, {failing} failed</div><ul>{lines}</ul></section>"
        )
    body = (
        "<p>Records move left to right: a customer must exist before its orders, invoices and payments refer to "
        "it. A stage outlined amber has records waiting, red has records failed.</p>"
        f'<div class="flow">{_ARROW.join(parts)}</div>'
    )
    return _page(request, who, "Quote-to-cash flow", body, "flow")


# ------------------------------------------------------------------------------------------------ interface


def _diff_rows(diff: Any) -> str:
    entries = (diff or {}).get("entries") or []
    rows = [
        (e(x.get("path")), e(json.dumps(x.get("legacy"))), e(json.dumps(x.get("cloud"))), e(x.get("category")))
        for x in entries
        if not x.get("accepted")
    ]
    return table(("field", "legacy", "cloud", "kind"), rows, css="diff")


def _evidence(readiness: dict[str, Any]) -> str:
    status = '<span class="ok">open</span>' if readiness.get("ready") else '<span class="bad">closed</span>'
    reasons = "".join(f"<li>{e(r)}</li>" for r in readiness.get("reasons", []))
    figures = [(e(k), e(v)) for k, v in readiness.items() if k not in ("interface", "ready", "reasons")]
    return (
        f'<div id="gate"><p>Readiness gate: {status}</p>'
        + (f'<ul class="reasons">{reasons}</ul>' if reasons else "")
        + table(("figure", "value"), figures)
        + "</div>"
    )


def render_interface(
    request: Request, who: Identity, name: str, *, error: str = "", info: str = "", gate: dict[str, Any] | None = None
) -> Response:
    """The interface page; ``error``/``info`` report a form's outcome, ``gate`` a refusal's evidence.

    A refused form is answered with the page (200) saying why, not an error status: the browser would log a
    failed load for a page that is shown as intended."""
    ctx = ctx_of(request)
    cfg = ctx.loaded.config.interfaces[name]
    FlagStore.of(ctx.ledger).seed(ctx.loaded)
    cut = Cutover(ctx.ledger)
    flag = FlagStore.of(ctx.ledger).current(name)
    try:
        readiness = gate or cut.readiness(name).to_dict()
    except CutoverError as exc:
        readiness = {"ready": False, "reasons": [str(exc)]}
    csrf = session_of(request).csrf
    body = ""
    if error:
        body += f'<div class="msg error" id="result">{e(error)}</div>'
    if info:
        body += f'<div class="msg info" id="result">{e(info)}</div>'
    body += f'<p>{e(cfg.description)}</p><p>Mode: <strong id="mode">{e(flag.mode if flag else None)}</strong>'
    body += f" (flag v{e(flag.version if flag else None)})</p>"
    days = daily_counts(ctx.ledger.engine, name)
    if days:
        body += "<h2>Over time</h2>" + bars("messages per day", [(d["day"], d["messages"]) for d in days], css="chart")
        body += bars("mismatches per day", [(d["day"], d["mismatches"]) for d in days], color="#b3261e", css="chart")
        if any(d["capped"] for d in days):
            body += "<p>Days with 10,000 or more are shown as 10,000.</p>"
    body += "<h2>Promotion gate</h2>" + _evidence(readiness)
    if who.role >= Role.MIGRATION_LEAD:
        current = flag.mode if flag else None
        modes = "".join(f'<option value="{m}"{" selected" if m == current else ""}>{m}</option>' for m in MODES)
        fields = (
            f'<label>mode <select name="mode">{modes}</select></label> '
            '<label>reason <input name="reason" required size="30"></label> '
            '<label>ticket <input name="ticket" size="10"></label> '
            '<label><input type="checkbox" name="force" value="1"> override a closed gate</label> '
        )
        body += "<h2>Change the mode</h2>" + form(f"/ui/interfaces/{name}/flag", csrf, fields, "Apply", name="flag")
        rb = '<label>reason <input name="reason" required size="30"></label> '
        rb += '<label>ticket <input name="ticket" size="10"></label> '
        body += "<h2>Roll back</h2>" + form(f"/ui/interfaces/{name}/rollback", csrf, rb, "Roll back", name="rollback")
    history = [
        (
            e(ev.at.isoformat(timespec="seconds")),
            e(ev.action),
            f"{e(ev.from_mode)} (v{e(ev.from_version)}) &rarr; {e(ev.to_mode)} (v{e(ev.to_version)})",
            e(ev.actor),
            e(ev.reason),
        )
        for ev in cut.history(name)[:50]
    ]
    body += "<h2>Flag history</h2>" + table(("when", "action", "change", "who", "reason"), history, css="history")
    body += "<h2>Recent mismatches</h2>"
    mismatches = recent_mismatches(ctx.ledger.engine, name, 10)
    if not mismatches:
        body += "<p>None recorded.</p>"
    for mm in mismatches:
        target = link(f"/ui/messages/{mm['message_id']}", mm["business_key"] or mm["message_id"])
        body += f"<h3>{target} ({e(mm['level'])}{', critical' if mm['critical'] else ''})</h3>{_diff_rows(mm['diff'])}"
    return _page(request, who, f"Interface {name}", body, "overview")


@router.get("/interfaces/{name}")
def interface(name: str, request: Request) -> Response:
    who = viewer_identity(request)
    if name not in ctx_of(request).loaded.config.interfaces:
        return _page(request, who, "Not found", f"<p>No interface {e(name)}.</p>", "overview", 404)
    return render_interface(request, who, name)


# ------------------------------------------------------------------------------------------------ messages


@router.get("/messages")
def messages(
    request: Request,
    business_key: str = "",
    transaction_id: str = "",
    interface: str = "",
    state: str = "",
) -> Response:
    who = viewer_identity(request)
    ctx = ctx_of(request)
    options = "".join(
        f'<option value="{e(n)}"{" selected" if n == interface else ""}>{e(n)}</option>'
        for n in sorted(ctx.loaded.config.interfaces)
    )
    body = (
        '<form method="get" action="/ui/messages" name="search">'
        f'<label>business key <input name="business_key" value="{e(business_key)}"></label> '
        f'<label>transaction id <input name="transaction_id" value="{e(transaction_id)}" size="38"></label> '
        f'<label>interface <select name="interface"><option value="">any</option>{options}</select></label> '
        f'<label>state <input name="state" value="{e(state)}" size="10"></label> '
        '<button type="submit">Search</button></form>'
    )
    q = queries.MessageQuery(
        interface or None, state or None, business_key or None, transaction_id or None, None, None, 100
    )
    rows = [
        (
            link(f"/ui/messages/{m['id']}", m["id"]),
            e(m["interface"]),
            e(m["business_key"]),
            e(m["state"]),
            e(m["mode"]),
            e(m["transaction_id"]),
            e(m["created_at"]),
        )
        for m in queries.search_messages(ctx.ledger.engine, q)
    ]
    body += table(("message", "interface", "business key", "state", "mode", "transaction id", "received"), rows)
    return _page(request, who, "Messages", body, "messages")


@router.get("/messages/{message_id}")
def trace(message_id: str, request: Request) -> Response:
    who = viewer_identity(request)
    tr = message_trace(ctx_of(request), message_id)
    if tr is None:
        return _page(request, who, "Not found", f"<p>No message {e(message_id)}.</p>", "messages", 404)
    m, src = tr["message"], tr["source"] or {}
    facts = [
        ("interface", link(f"/ui/interfaces/{m['interface']}", m["interface"])),
        ("business key", e(m["business_key"])),
        ("transaction id", e(m["transaction_id"])),
        ("state", e(m["state"])),
        ("mode", e(m["mode"])),
        ("received", e(m["created_at"])),
        ("source", f"{e(src.get('origin'))} (batch {e(src.get('batch_id'))}, {e(src.get('location'))})"),
    ]
    body = table(("", ""), facts, css="facts")
    body += "<h2>Record</h2><pre>" + e(json.dumps(tr["record"], indent=2, default=str)) + "</pre>"
    body += f"<p>Masked fields: {e(', '.join(tr['masked_fields']) or 'none')}</p><h2>Deliveries</h2>"
    for d in tr["deliveries"]:
        body += f"<h3>{e(d['target'])} ({e(d['role'])}): {e(d['status'])}</h3>"
        attempts = [
            (e(a["number"]), e(a["status"]), e(a.get("started_at")), e((a.get("error") or {}).get("message")))
            for a in d["attempts_log"]
        ]
        body += table(("attempt", "status", "at", "error"), attempts, css="attempts")
    comps = [(e(c["level"]), e(c["status"]), _diff_rows(c["diff"])) for c in tr["comparisons"]]
    body += "<h2>Comparisons</h2>" + table(("level", "status", "differences"), comps)
    return _page(request, who, f"Message {message_id}", body, "messages")


# ------------------------------------------------------------------------------------------------ remediation


def _error_class(d: dict[str, Any]) -> str:
    err = d.get("error") or {}
    return f"{err.get('type', 'unknown')}/{err.get('code', '-')}"


@router.get("/remediation")
def remediation(request: Request, interface: str = "") -> Response:
    who = viewer_identity(request)
    ctx = ctx_of(request)
    now = _now(request)
    csrf = session_of(request).csrf
    open_dls = queries.dead_letters(ctx.ledger.engine, interface or None, "open", QUEUE_LIMIT)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for d in open_dls:
        groups[(d["interface"], _error_class(d))].append(d)
    shown = f"the oldest {QUEUE_LIMIT} shown" if len(open_dls) == QUEUE_LIMIT else f"{len(open_dls)} open"
    body = f"<p>Open dead letters: {shown}; the SLA to resolve one is {SLA_HOURS} h.</p>"
    operator = who.role >= Role.OPERATOR
    for (iface, cls), dls in sorted(groups.items()):
        rows = []
        for d in dls:
            hours = (now - datetime.fromisoformat(d["created_at"])).total_seconds() / 3600
            sla = f'<span class="{"bad" if hours > SLA_HOURS else "ok"}">{e(age(d["created_at"], now))}</span>'
            controls = ""
            if operator:
                owner = f'<input name="owner" value="{e(d["assigned_to"] or "")}" size="12" placeholder="owner"> '
                base = f"/ui/dead-letters/{d['id']}"
                controls = form(f"{base}/assign", csrf, owner, "Assign", css="inline", name="assign")
                controls += form(f"{base}/replay", csrf, "", "Replay", css="inline", name="replay")
            msg = link(f"/ui/messages/{d['message_id']}", d["message_id"]) if d["message_id"] else "-"
            rows.append(
                (
                    e(d["id"]),
                    e(d["kind"]),
                    msg,
                    e((d.get("error") or {}).get("message")),
                    e(json.dumps(d["location"]) if d["location"] else None),
                    sla,
                    f'<span class="owner">{e(d["assigned_to"])}</span>',
                    controls,
                )
            )
        body += f'<h2 data-group="{e(iface)} {e(cls)}">{e(iface)}: {e(cls)} ({len(dls)})</h2>'
        body += table(("id", "kind", "message", "error", "location", "age", "owner", ""), rows, css="dlq")
    return _page(request, who, "Remediation queue", body, "remediation")


@router.get("/alerts")
def alerts(request: Request) -> Response:
    who = viewer_identity(request)
    ctx = ctx_of(request)
    now = _now(request)
    states = sorted(ctx.ledger.alert_states().values(), key=lambda a: (a.state != "firing", a.interface, a.rule))
    rows = [
        (
            e(a.interface),
            e(a.rule),
            f'<span class="{"bad" if a.state == "firing" else "ok"}">{e(a.state)}</span>',
            e(age(a.since, now)),
            "yes" if a.notified else "no",
            e(json.dumps(a.detail) if a.detail else None),
        )
        for a in states
    ]
    body = table(("interface", "rule", "state", "for", "notified", "detail"), rows, css="alerts")
    return _page(request, who, "Alerts", body, "alerts")
