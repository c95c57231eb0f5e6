"""The HTML shadow report: ONE self-contained file (inline CSS, inline SVG chart, no script, no external
asset) that a migration lead can mail around. Every dynamic value is HTML-escaped.

It reads as a decision page: a summary table first (one row per interface, linked to its section), then per
interface the next steps in words, the gate's checks with their thresholds, and the evidence.

Counts carry ``data-count`` attributes, each interface is a ``section[data-interface]``, summary rows are
``tr[data-summary]`` with ``td[data-col]`` cells and next steps are ``li[data-next-step]``, so tests (and anyone
scraping the report) read the same values the JSON report holds.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from bridge.ports import Location

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2530;background:#f4f6f8}
header{background:#1d3557;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
main{padding:10px 28px 40px}section.interface{background:#fff;border-radius:8px;margin:18px 0;padding:16px 22px;
box-shadow:0 1px 3px rgba(0,0,0,.12)}h2{margin:0 0 8px}h3{margin:16px 0 6px;font-size:15px}
.kpis{display:flex;flex-wrap:wrap;gap:10px}.kpi{background:#eef2f7;border-radius:6px;padding:8px 12px;min-width:110px}
.kpi b{display:block;font-size:20px}.ready{color:#1b7f3b}.notready{color:#b3261e}
table{border-collapse:collapse;width:100%;margin:4px 0}td,th{border-bottom:1px solid #e3e7ec;padding:4px 8px;
text-align:left;vertical-align:top;font-size:13px}th{background:#f0f3f7}.crit{color:#b3261e;font-weight:600}
code{font-size:12px}.muted{color:#6b7785}.side{display:grid;grid-template-columns:1fr 1fr;gap:6px}
section.summary{background:#fff;border-radius:8px;margin:18px 0;padding:16px 22px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
ol.next li{margin:3px 0}.ok{color:#1b7f3b}.fail{color:#b3261e;font-weight:600}
"""

SUMMARY_COLS = (
    ("interface", "interface"),
    ("mode", "mode"),
    ("compared", "compared"),
    ("match_rate", "match rate"),
    ("lower_bound", "lower bound"),
    ("orphans", "orphans"),
    ("dead_letters", "DLQ"),
    ("ready", "ready?"),
    ("next_step", "next step"),
)


def _e(v: Any) -> str:
    if v is None:
        return "<span class='muted'>—</span>"
    return escape(v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str))


def _kpi(label: str, value: Any, key: str | None = None) -> str:
    attr = f" data-count='{escape(key)}'" if key else ""
    return f"<div class='kpi'>{escape(label)}<b{attr}>{_e(value)}</b></div>"


def _chart(daily: list[dict[str, Any]]) -> str:
    """Match rate per day as an inline SVG line chart (0-100 %)."""
    if not daily:
        return "<p class='muted'>no comparisons yet</p>"
    w, h, pad = 640, 180, 36
    n = len(daily)
    step = (w - 2 * pad) / max(1, n - 1)
    pts = []
    for i, d in enumerate(daily):
        x = pad + i * step if n > 1 else w / 2
        y = h - pad - d["rate"] * (h - 2 * pad)
        pts.append((x, y, d))
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in pts)
    dots = "".join(
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' fill='#1d3557'><title>{escape(d['date'])}: "
        f"{d['matched']}/{d['compared']} ({d['rate'] * 100:.1f} %)</title></circle>"
        for x, y, d in pts
    )
    labels = "".join(
        f"<text x='{x:.1f}' y='{h - pad + 16}' font-size='10' text-anchor='middle'>{escape(d['date'][5:])}</text>"
        for x, _, d in pts
    )
    grid = "".join(
        f"<line x1='{pad}' x2='{w - pad}' y1='{h - pad - f * (h - 2 * pad):.1f}' y2='{h - pad - f * (h - 2 * pad):.1f}'"
        f" stroke='#e3e7ec'/><text x='{pad - 6}' y='{h - pad - f * (h - 2 * pad) + 3:.1f}' font-size='10'"
        f" text-anchor='end'>{int(f * 100)}%</text>"
        for f in (0, 0.5, 0.9, 1.0)
    )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' role='img' "
        f"aria-label='match rate per day'>{grid}<polyline fill='none' stroke='#1d3557' stroke-width='2' "
        f"points='{line}'/>{dots}{labels}</svg>"
    )


def _pct(v: Any) -> str | None:
    return None if v is None else f"{v * 100:.2f} %"


def _summary(rows: list[dict[str, Any]]) -> str:
    """The decision table the report opens with; rates as percentages, the raw value in ``data-value``."""
    head = "".join(f"<th>{escape(label)}</th>" for _, label in SUMMARY_COLS)
    body = []
    for r in rows:
        cells = []
        for key, _ in SUMMARY_COLS:
            v = r[key]
            if key == "interface":
                shown = f"<a href='#iface-{escape(v)}'>{escape(v)}</a>"
            elif key in ("match_rate", "lower_bound"):
                shown = _e(_pct(v))
            elif key == "next_step":
                shown = _inline_code(v) if v else _e(v)
            elif key == "ready":
                shown = "<span class='ready'>ready</span>" if v else "<span class='notready'>not ready</span>"
            else:
                shown = _e(v)
            cells.append(f"<td data-col='{key}' data-value='{escape(json.dumps(v))}'>{shown}</td>")
        body.append(f"<tr data-summary='{escape(r['interface'])}'>{''.join(cells)}</tr>")
    return (
        f"<section class='summary' id='summary'><h2>Summary</h2><table><tr>{head}</tr>{''.join(body)}</table></section>"
    )


def _checks(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{escape(c['check'])}</td><td>{_e(c['figure'])}</td><td>{escape(c['threshold'])}</td>"
        f"<td class='{'ok' if c['ok'] else 'fail'}'>{'met' if c['ok'] else 'not met'}</td></tr>"
        for c in rows
    )
    return f"<table><tr><th>check</th><th>measured</th><th>threshold</th><th></th></tr>{body}</table>"


def _accepted_note(it: dict[str, Any]) -> str:
    """Why the accepted count can exceed the compared count: it counts fields, not pairs."""
    if not it["accepted_total"]:
        return ""
    return (
        f"<p class='muted'>{it['accepted_total']} accepted field difference(s) in {it['accepted_pairs']} compared "
        "pair(s): one pair with several accepted fields counts once per field (and once per level). Each is a "
        "difference an accepted rule covers (owner, reason, expiry); the pair still counts as a match.</p>"
    )


def _table(rows: list[dict[str, Any]], cols: list[str], empty: str) -> str:
    if not rows:
        return f"<p class='muted'>{escape(empty)}</p>"
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_e(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _example(ex: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(e.get('path'))}</code>{' <span class=crit>critical</span>' if e.get('critical') else ''}"
        f"</td><td>{_e(e.get('legacy'))}</td><td>{_e(e.get('cloud'))}</td><td>{_e(e.get('category'))}</td>"
        f"<td>{_e(e.get('rule'))}</td><td>{_e((e.get('accepted') or {}).get('owner'))}</td></tr>"
        for e in ex["entries"]
    )
    reason = f"<p class='muted'>{_e(ex['reason'])}</p>" if ex.get("reason") else ""
    return (
        f"<h4>{_e(ex['business_key'])} <span class='muted'>({_e(ex['level'])}, {_e(ex['status'])}, message "
        f"<code>{_e(ex['message_id'])}</code>)</span></h4>{reason}<table><tr><th>field</th><th>legacy</th>"
        f"<th>cloud</th><th>category</th><th>rule</th><th>accepted by</th></tr>{rows}</table>"
    )


def _section(name: str, it: dict[str, Any]) -> str:
    gate = it.get("gate")
    if gate is None:
        gate_html = "<p class='muted'>no flag in the ledger</p>"
    elif gate["ready"]:
        gate_html = "<p class='ready' data-gate='ready'><b>ready for promotion</b></p>"
    else:
        reasons = "".join(f"<li>{escape(r)}</li>" for r in gate["reasons"])
        gate_html = f"<p class='notready' data-gate='not-ready'><b>not ready</b></p><ul>{reasons}</ul>"
    rate = it["match_rate"]
    lower = it["match_rate_lower_bound"]
    levels = _table(
        [{"level": lv, **counts} for lv, counts in it["levels"].items()],
        ["level", "match", "accepted", "mismatch", "error", "not_available", "paired", "orphan", "late"],
        "no comparisons recorded",
    )
    examples = "".join(_example(ex) for ex in it["examples"]) or "<p class='muted'>no mismatches</p>"
    steps = "".join(f"<li data-next-step>{_inline_code(s)}</li>" for s in it["next_steps"])
    reevaluated = (
        f"<p class='muted'>{it['reevaluated']} pair(s) compared again after a failed side was replayed and "
        "delivered.</p>"
        if it["reevaluated"]
        else ""
    )
    dlq = [{**d, "location": _location(d["location"])} for d in it["dead_letters"]]
    return f"""
<section class="interface" id="iface-{escape(name)}" data-interface="{escape(name)}">
<h2>{escape(name)}</h2>
<p>mode <b data-field="mode">{_e(it["mode"])}</b> (flag v{_e(it["flag_version"])}){
        " rollout " + _e(it["rollout"]) if it["rollout"] else ""
    }</p>
<div class="kpis">{_kpi("messages", it["volume"], "volume")}{_kpi("compared", it["compared"], "compared")}
{_kpi("matched", it["matched"], "matched")}{_kpi("mismatched", it["mismatched"], "mismatched")}
{_kpi("match rate", f"{rate * 100:.2f} %" if rate is not None else None)}
{_kpi("lower bound (95 %)", f"{lower * 100:.2f} %" if lower is not None else None)}
{_kpi("accepted diffs", it["accepted_total"], "accepted_total")}{_kpi("orphans", it["orphan_count"], "orphan_count")}
{_kpi("late", it["late_count"], "late_count")}</div>
<h3>Next steps</h3><ol class="next">{steps}</ol>
<h3>Gate</h3>{gate_html}{_checks(it["checks"])}
<h3>Match rate over time</h3>{_chart(it["daily"])}
<h3>Levels</h3>{levels}
<h3>Top differing fields</h3>{_table(it["top_fields"], ["path", "count", "critical"], "none")}
<h3>Accepted differences</h3>{_accepted_note(it)}{
        _table(it["accepted"], ["path", "owner", "reason", "expires", "count", "pairs"], "none")
    }
<h3>Probable noise</h3>{
        _table(
            it["noise"], ["path", "pairs", "differing", "share", "distinct_legacy", "distinct_cloud"], "none detected"
        )
    }<p class="note">Accept a field as noise: <code>esb-bridge shadow accept-noise INTERFACE FIELD --owner ... \
--reason ... --expires YYYY-MM-DD</code> (audited; counted as an accepted difference until it expires).</p>
<h3>Noise rules in force</h3>{
        _table(it.get("noise_rules") or [], ["path", "owner", "reason", "expires", "accepted_by"], "none")
    }
<h3>Cancelled by the baseline (two legacy read-backs differ)</h3>{
        _table(it.get("baseline_noise") or [], ["path", "count"], "none")
    }
<h3>Orphans and late arrivals</h3>{_table(it["orphans"], ["business_key", "missing", "at"], "no orphans")}
{_table(it["late"], ["business_key", "at"], "no late arrivals")}
<h3>Dead letters of the period</h3>{
        _table(dlq, ["id", "kind", "status", "error", "location", "at"], "no dead letters")
    }{reevaluated}
<h3>Examples of mismatches</h3><div class="examples">{examples}</div>
<h3>Reconciliation</h3>{_reconciliation(it.get("reconciliation") or [])}
</section>"""


def _reconciliation(rows: list[dict[str, Any]]) -> str:
    """The newest ``esb-bridge reconcile`` run: counts and sums per path and business date, then what differs."""
    if not rows:
        return "<p class='muted'>not reconciled yet (<code>esb-bridge reconcile</code>)</p>"
    when = f"<p class='muted'>run {_e(rows[0]['run_id'])} at {_e(rows[0]['created_at'])}</p>"
    totals = _table(
        rows,
        [
            "path",
            "business_date",
            "ledger_count",
            "ledger_amount",
            "target_count",
            "target_amount",
            "differences",
            "status",
        ],
        "",
    )
    keys = [
        {"path": r["path"], "business_date": r["business_date"], **k} for r in rows for k in r["detail"].get("keys", [])
    ]
    errors = "".join(
        f"<p class='notready'>{_e(r['path'])}: listing failed: {_e(r['detail']['error'])}</p>"
        for r in rows
        if r["detail"].get("error")
    )
    detail = _table(
        keys,
        ["path", "business_date", "key", "issue", "ledger_amount", "target_amount", "ledger_date", "target_date"],
        "no differences",
    )
    return when + totals + errors + detail


def _inline_code(text: str) -> str:
    """A next step with its `commands` and `fields` in <code> (escaped first, then the backticks replaced)."""
    parts = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _location(loc: Any) -> str | None:
    """A stored dead-letter location in the words ``dlq list`` uses (``file:14, record 13``)."""
    if not isinstance(loc, dict):
        return None if loc is None else str(loc)
    known = {k: v for k, v in loc.items() if k in Location.__dataclass_fields__}
    return str(Location(**known)) if known else None


def _backtest(bt: dict[str, Any] | None) -> str:
    """The backtest's verdict, its mismatch classes with the rules they would need, and what changed."""
    if not bt:
        return ""
    state = "ready" if bt["ready"] else "notready"
    classes = _table(
        [
            {**c, "example": f"{c['example']['business_key']}: {c['example']['legacy']} / {c['example']['cloud']}"}
            for c in bt["mismatch_classes"]
        ],
        ["path", "level", "count", "critical", "example"],
        "no mismatch class: every compared pair matched",
    )
    rules = _table(bt["suggested_rules"], ["path", "owner", "reason", "expires", "note"], "no rule needed")
    changes = ""
    if bt.get("compare_to"):
        ct = bt["compare_to"]
        figures = _table(
            [{"figure": k, **v} for k, v in ct["figures"].items()], ["figure", "before", "after"], "no figures"
        )
        changes = f"<h3>Changes since backtest {escape(ct['id'])}</h3>{figures}" + _table(
            ct["classes"], ["path", "before", "after", "change"], "no mismatch class in either"
        )
    return (
        f"<section class='summary' id='backtest' data-backtest='{escape(bt['id'])}'>"
        f"<h2>Backtest {escape(bt['id'])}: {escape(bt['interface'])}</h2>"
        f"<p class='{state}' data-verdict>{escape(bt['verdict'])}</p>"
        f"<div class='muted'>{_e(bt['files'])} archived input file(s), cloud path {escape(bt['cloud'])}</div>"
        f"<h3>Mismatch classes</h3>{classes}<h3>Accepted-difference rules they would need</h3>{rules}{changes}"
        "</section>"
    )


def render_html(report: dict[str, Any]) -> str:
    sections = _backtest(report.get("backtest")) + _summary(report.get("summary", []))
    sections += "".join(_section(n, it) for n, it in report["interfaces"].items())
    since = f", since {escape(report['since'])}" if report.get("since") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>esb-bridge shadow report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>{_CSS}</style></head>
<body><header><h1>esb-bridge shadow report</h1><div>generated {escape(report["generated_at"])}{since};
{len(report["interfaces"])} interface(s)</div></header>
<main>{sections}</main></body></html>
"""
