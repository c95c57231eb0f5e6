"""The figures of the overview cards and the quote-to-cash flow, from cheap reads only.

Counts come from the shared ledger snapshot (:mod:`bridge.web.snapshot`: the counts the database keeps, at
most ``api.metrics_cache`` old), recent activity from :func:`bridge.store.activity.interface_activity` (index
probes, reused for the same window), and gate verdicts from :class:`GateCache`: a readiness evaluation reads
the interface's comparisons and finished deliveries (seconds on a ledger of millions), too much for a page
view, so the verdicts are evaluated in the background at most every :data:`GATE_INTERVAL` seconds, and the
page says how old they are.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.store.activity import Activity, interface_activity
from bridge.web.context import ApiContext
from bridge.web.snapshot import LedgerSnapshot
from cutover.audit import Cutover, CutoverError
from cutover.flags import FlagStore
from cutover.gates import CONTENT_LEVELS

__all__ = ["FLOW", "GATE_INTERVAL", "ActivityCache", "Card", "GateCache", "Overview", "cards", "flow_stages"]

#: the quote-to-cash chain by canonical model: an interface joins the stage of the model it carries
FLOW = (
    ("Customer", "Customers"),
    ("Subscription", "Subscriptions"),
    ("SalesOrder", "Orders"),
    ("Invoice", "Invoices"),
    ("Payment", "Payments"),
)

_WAITING = ("held", "pending", "in_progress")
log = logging.getLogger("esb_bridge.web.dashboard")

#: gate verdicts are re-evaluated at most this often (seconds), whatever the counts' cache window: one
#: evaluation of every interface reads its comparisons and finished deliveries (seconds on millions)
GATE_INTERVAL = 30.0


class ActivityCache:
    """:func:`interface_activity` of the configured interfaces, re-read at most every ``ttl`` seconds."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = -1e18
        self._rows: dict[str, Activity] = {}

    def activity(self, ctx: ApiContext) -> dict[str, Activity]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._rows = interface_activity(ctx.ledger.engine, sorted(ctx.loaded.config.interfaces))
                self._at = time.monotonic()
            return dict(self._rows)


class GateCache:
    """Readiness of every interface, re-evaluated at most every ``ttl`` seconds, in the background.

    A view never waits long for the gates: a stale set starts one evaluation in a thread of its own and the view
    shows the previous verdicts with their time (a later view shows the new ones); only while there are none
    yet does a view wait for the evaluation, at most ``wait`` seconds."""

    def __init__(self, ttl: float, wait: float = 0.25) -> None:
        self.ttl = ttl
        self.wait = wait
        self._lock = threading.Lock()
        self._at = -1e18
        self._as_of: datetime | None = None
        self._verdicts: dict[str, dict[str, Any]] = {}
        self._running: threading.Thread | None = None

    def _evaluate(self, ctx: ApiContext) -> None:
        as_of = ctx.ledger.clock.now()
        cut = Cutover(ctx.ledger)
        out: dict[str, dict[str, Any]] = {}
        try:
            for name in ctx.loaded.config.interfaces:
                try:
                    out[name] = cut.readiness(name).to_dict()
                except CutoverError as exc:  # no flag seeded yet
                    out[name] = {"ready": False, "reasons": [str(exc)]}
        except Exception:  # the ledger went away (shutdown) or failed: keep the previous verdicts, say so
            log.warning("gate verdicts for the dashboard could not be evaluated", exc_info=True)
        finally:
            with self._lock:
                if len(out) == len(ctx.loaded.config.interfaces):
                    self._verdicts, self._as_of = out, as_of
                self._at = time.monotonic()
                self._running = None

    def refresh(self, ctx: ApiContext) -> threading.Thread | None:
        """Start an evaluation when the verdicts are stale and none runs (without waiting); the running one."""
        with self._lock:
            if self._running is None and time.monotonic() - self._at >= self.ttl:
                self._running = threading.Thread(target=self._evaluate, args=(ctx,), name="gate-verdicts", daemon=True)
                self._running.start()
            return self._running

    def verdicts(self, ctx: ApiContext) -> tuple[dict[str, dict[str, Any]], datetime | None]:
        """The newest verdicts per interface and when they were measured (None: not yet)."""
        running = self.refresh(ctx)
        if running is not None and self._as_of is None:
            running.join(self.wait)
        with self._lock:
            return dict(self._verdicts), self._as_of


@dataclass(frozen=True)
class Card:
    """One interface on the overview."""

    name: str
    description: str
    canonical: str | None
    mode: str | None
    messages: int
    waiting: int
    delivered: int
    dead: int
    dlq_depth: int
    dlq_oldest: datetime | None
    compared: int
    matched: int
    activity: Activity
    gate: dict[str, Any] | None
    """The readiness verdict (None while the first evaluation runs)."""

    @property
    def match_rate(self) -> float | None:
        return self.matched / self.compared if self.compared else None


@dataclass(frozen=True)
class Overview:
    """The cards, when their counts were read and when their gate verdicts were measured."""

    cards: list[Card]
    counts_as_of: datetime
    gates_as_of: datetime | None


def cards(ctx: ApiContext, snapshot: LedgerSnapshot, gates: GateCache, recent: ActivityCache) -> Overview:
    """Every configured interface's card."""
    rows, as_of = snapshot.rows()
    names = sorted(ctx.loaded.config.interfaces)
    per: dict[str, dict[str, Any]] = {n: {"deliveries": {}, "messages": 0, "cmp": [0, 0]} for n in names}
    dlq: dict[str, tuple[int, datetime | None]] = {}
    for r in rows:
        slot = per.get(r["interface"])
        if slot is None:
            continue
        if r["metric"] == "messages":
            slot["messages"] += r["n"]
        elif r["metric"] == "deliveries" and r["a"].endswith("/authoritative"):
            slot["deliveries"][r["b"]] = slot["deliveries"].get(r["b"], 0) + r["n"]
        elif r["metric"] == "dlq":
            dlq[r["interface"]] = (r["n"], r["oldest"])
        elif r["metric"] == "comparisons" and r["b"] in CONTENT_LEVELS and r["a"] in ("match", "accepted", "mismatch"):
            slot["cmp"][0] += r["n"]
            slot["cmp"][1] += r["n"] if r["a"] != "mismatch" else 0
    flags = FlagStore.of(ctx.ledger).all_current()
    activity = recent.activity(ctx)
    verdicts, gates_as_of = gates.verdicts(ctx)
    out = []
    for n in names:
        cfg, slot, flag = ctx.loaded.config.interfaces[n], per[n], flags.get(n)
        d = slot["deliveries"]
        depth, oldest = dlq.get(n, (0, None))
        out.append(
            Card(
                name=n,
                description=cfg.description,
                canonical=cfg.canonical,
                mode=flag.mode if flag else cfg.cutover.mode,
                messages=slot["messages"],
                waiting=sum(d.get(s, 0) for s in _WAITING),
                delivered=d.get("delivered", 0),
                dead=d.get("dead", 0),
                dlq_depth=depth,
                dlq_oldest=oldest,
                compared=slot["cmp"][0],
                matched=slot["cmp"][1],
                activity=activity[n],
                gate=verdicts.get(n),
            )
        )
    return Overview(out, as_of, gates_as_of)


def flow_stages(all_cards: list[Card]) -> list[tuple[str, list[Card]]]:
    """The cards along the quote-to-cash chain (stages without an interface left out; others at the end)."""
    known = {model for model, _ in FLOW}
    stages = [(title, [c for c in all_cards if c.canonical == model]) for model, title in FLOW]
    rest = [c for c in all_cards if c.canonical not in known]
    if rest:
        stages.append(("Other", rest))
    return [(title, cs) for title, cs in stages if cs]
