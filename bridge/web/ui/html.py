"""The dashboard's HTML: one page layout, escaping and a few building blocks (tables, forms, ages).

Plain strings, no template engine and no build step: every value that came from the ledger or a request goes
through :func:`e` (``html.escape``), so a business key or an error text cannot inject markup. The pages carry no
script: the Content-Security-Policy of every response (:data:`CSP`) forbids scripts and foreign resources.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from bridge.web.auth import Identity

__all__ = ["CSP", "age", "bars", "e", "form", "link", "page", "pct", "table"]

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f4f6f9}
header{background:#1d2330;color:#fff;padding:.5em 1em;display:flex;gap:1.2em;align-items:center}
header a{color:#cfe0ff;text-decoration:none}header a.on{color:#fff;font-weight:600}
header .who{margin-left:auto;color:#aab}main{padding:1em 1.5em}
h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:1em}
.card{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:.8em 1em}
.card h3{margin:0 0 .4em;font-size:1.05em}.card dl{display:grid;grid-template-columns:auto 1fr;gap:.1em .8em;margin:0}
.card dt{color:#667}.card dd{margin:0;text-align:right}
.ok{color:#176f2c}.bad{color:#b3261e}.warn{color:#8a5a00}
table{border-collapse:collapse;background:#fff;margin:.4em 0}td,th{border:1px solid #d8dde6;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#eef1f6}
.flow{display:flex;align-items:stretch;gap:.4em;flex-wrap:wrap}.stage{background:#fff;border:1px solid #d8dde6;
border-radius:6px;padding:.6em;min-width:200px}.arrow{align-self:center;font-size:1.6em;color:#889}
.stage.waiting{border-color:#e0a800}.stage.failing{border-color:#b3261e}
.msg{padding:.6em 1em;border-radius:6px;margin:.6em 0}.msg.error{background:#fde8e6;border:1px solid #b3261e}
.msg.info{background:#e7f4ea;border:1px solid #176f2c}
figure{display:inline-block;margin:0 2em 0 0}
form.inline{display:inline}input,select,button{font:inherit}pre{background:#fff;border:1px solid #d8dde6;
padding:.5em;overflow:auto;max-height:30em}
"""

_NAV = (
    ("overview", "/ui", "Overview"),
    ("flow", "/ui/flow", "Quote-to-cash"),
    ("messages", "/ui/messages", "Messages"),
    ("remediation", "/ui/remediation", "Remediation"),
    ("alerts", "/ui/alerts", "Alerts"),
)


def e(value: Any) -> str:
    """``value`` as text, HTML-escaped (None as a dash)."""
    return "-" if value is None else html.escape(str(value), quote=True)


def link(path: str, text: Any, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f'<a href="{e(path + ("?" + query if query else ""))}">{e(text)}</a>'


def pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.2f} %"


def age(since: datetime | str | None, now: datetime) -> str:
    """How long ago ``since`` was, in the largest sensible unit (``3 h 12 min``)."""
    if since is None:
        return "-"
    if isinstance(since, str):
        since = datetime.fromisoformat(since)
    s = max(0, int((now - since).total_seconds()))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, css: str = "") -> str:
    """A table; cells are HTML already (escape values with :func:`e`)."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}">nothing here</td></tr>'
    return f'<table class="{e(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def form(action: str, csrf: str, fields: str, button: str, *, css: str = "", name: str = "") -> str:
    """A POST form with the session's CSRF token (every form of the dashboard has one)."""
    nm = f' name="{e(name)}" data-form="{e(name)}"' if name else ""
    return (
        f'<form method="post" action="{e(action)}" class="{e(css)}"{nm}>'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">{fields}<button type="submit">{e(button)}</button></form>'
    )


def page(title: str, body: str, *, who: Identity | None, csrf: str, active: str = "") -> str:
    """The whole page: header with the navigation, who is logged in, logout; then ``body``."""
    nav = "".join(f'<a href="{p}" class="{"on" if k == active else ""}">{t}</a>' for k, p, t in _NAV) if who else ""
    user = ""
    if who is not None:
        user = f'<span class="who">{e(who.name)} ({e(who.role.label)})</span>' + form(
            "/ui/logout", csrf, "", "Log out", css="inline", name="logout"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{e(title)} - esb-bridge</title><style>{_STYLE}</style></head>'
        f"<body><header><strong>esb-bridge</strong>{nav}{user}</header><main><h1>{e(title)}</h1>{body}</main></body>"
        "</html>"
    )


def bars(title: str, points: Sequence[tuple[str, int]], *, color: str = "#3b6fd4", css: str = "") -> str:
    """A bar chart as inline SVG (no script): one bar per (label, value), the value in each bar's tooltip."""
    width, height, gap = 28, 90, 4
    peak = max((v for _, v in points), default=0)
    top = peak or 1
    parts = []
    for i, (label, value) in enumerate(points):
        h = round(value / top * (height - 14))
        x = i * (width + gap)
        parts.append(
            f'<g><title>{e(label)}: {value}</title><rect x="{x}" y="{height - 14 - h}" width="{width}" '
            f'height="{h}" fill="{color}"></rect><text x="{x + width / 2}" y="{height - 2}" font-size="9" '
            f'text-anchor="middle">{e(label[-5:])}</text></g>'
        )
    total = len(points) * (width + gap)
    return (
        f'<figure class="{e(css)}"><figcaption>{e(title)} (max {peak})</figcaption>'
        f'<svg role="img" width="{total}" height="{height}" viewBox="0 0 {total} {height}">{"".join(parts)}</svg>'
        "</figure>"
    )
