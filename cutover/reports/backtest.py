"""The shadow report of a backtest: the same report (:func:`cutover.reports.build_report`) over the backtest's
own ledger, measured at its simulated end, plus a ``backtest`` section: the verdict in words ("had you
shadowed this period, the gate would have said ..."), the mismatch classes found (a generalised field path
with its count and one example), the accepted-difference rules they would need, and with ``compare_to``
what changed against an earlier backtest (after a mapping fix: classes fixed, new, fewer, more).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.ports import SimulatedClock
from bridge.store.ledger import Ledger, open_ledger
from cutover.backtests import BacktestState, backtest_root, backtest_url
from cutover.compare.noise import generalise
from cutover.reports.data import build_report

__all__ = ["build_backtest_report", "mismatch_classes"]

EXPIRES_AFTER = timedelta(days=90)


def mismatch_classes(ledger: Ledger, interface: str) -> list[dict[str, Any]]:
    """Each generalised field path that differed (not accepted), most frequent first, with one example."""
    found: dict[str, dict[str, Any]] = {}
    for row in ledger.comparisons(interface, statuses=("mismatch",)):
        seen: set[str] = set()
        for e in (row.diff or {}).get("entries") or []:
            if e.get("accepted"):
                continue
            path = generalise(str(e["path"]))
            c = found.setdefault(
                path,
                {
                    "path": path,
                    "level": row.level,
                    "count": 0,
                    "critical": False,
                    "example": {"business_key": row.business_key, "legacy": e.get("legacy"), "cloud": e.get("cloud")},
                },
            )
            c["critical"] = c["critical"] or bool(e.get("critical"))
            if path not in seen and row.level == c["level"]:
                c["count"] += 1
                seen.add(path)
    return sorted(found.values(), key=lambda c: (-c["count"], c["path"]))


def _rule(backtest_id: str, c: dict[str, Any], end: datetime) -> dict[str, Any]:
    ex = c["example"]
    return {
        "path": c["path"],
        "owner": "TODO",
        "reason": (
            f"backtest {backtest_id}: {c['count']} difference(s), e.g. {ex['business_key']}: "
            f"legacy {ex['legacy']!r} vs cloud {ex['cloud']!r}"
        ),
        "expires": (end + EXPIRES_AFTER).date().isoformat(),
        "note": "a critical field: fix the mapping rather than accept it" if c["critical"] else "",
    }


def _one(loaded: LoadedConfig, backtest_id: str) -> tuple[BacktestState, dict[str, Any], list[dict[str, Any]]]:
    state = BacktestState.load(backtest_root(loaded), backtest_id)
    end = datetime.fromisoformat(state.clock_end) if state.clock_end else None
    clock = SimulatedClock(end) if end is not None else SimulatedClock()
    with open_ledger(backtest_url(loaded, backtest_id), clock, protection=loaded.protection()) as ledger:
        report = build_report(ledger, loaded, interface=state.interface)
        classes = mismatch_classes(ledger, state.interface)
    return state, report, classes


def _verdict(state: BacktestState, gate: dict[str, Any] | None) -> str:
    period = f"{state.slices[0]} to {state.slices[-1]}" if state.slices else "this period"
    if gate is None:
        return f"backtest {state.id} has no flag: it never ran"
    said = "ready" if gate["ready"] else "not ready: " + "; ".join(gate["reasons"])
    return f"had you shadowed {state.interface} from {period}, the gate would have said: {said}"


def build_backtest_report(loaded: LoadedConfig, backtest_id: str, compare_to: str | None = None) -> dict[str, Any]:
    """The report of backtest ``backtest_id`` (a :func:`build_report` dict with a ``backtest`` section)."""
    state, report, classes = _one(loaded, backtest_id)
    it = report["interfaces"].get(state.interface, {})
    gate = it.get("gate")
    end = datetime.fromisoformat(state.clock_end) if state.clock_end else datetime.fromisoformat(report["generated_at"])
    section: dict[str, Any] = {
        "id": state.id,
        "interface": state.interface,
        "period": {"from": state.slices[0] if state.slices else None, "to": state.slices[-1] if state.slices else None},
        "cloud": state.cloud,
        "finished": state.finished,
        "files": state.files,
        "verdict": _verdict(state, gate),
        "ready": bool(gate and gate["ready"]),
        "mismatch_classes": classes,
        "suggested_rules": [_rule(state.id, c, end) for c in classes],
    }
    if compare_to is not None:
        section["compare_to"] = _changes(loaded, compare_to, it, classes)
    report["backtest"] = section
    return report


def _changes(loaded: LoadedConfig, other: str, it: dict[str, Any], classes: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed from backtest ``other`` (before) to this one (after)."""
    o_state, o_report, o_classes = _one(loaded, other)
    o_it = o_report["interfaces"].get(o_state.interface, {})
    before = {c["path"]: c["count"] for c in o_classes}
    after = {c["path"]: c["count"] for c in classes}
    rows = []
    for path in sorted(set(before) | set(after)):
        b, a = before.get(path, 0), after.get(path, 0)
        change = "fixed" if not a else "new" if not b else "fewer" if a < b else "more" if a > b else "same"
        rows.append({"path": path, "before": b, "after": a, "change": change})
    keys = ("compared", "matched", "match_rate_lower_bound", "orphan_count")
    return {
        "id": other,
        "figures": {k: {"before": o_it.get(k), "after": it.get(k)} for k in keys},
        "ready": {
            "before": bool(o_it.get("gate") and o_it["gate"]["ready"]),
            "after": bool(it.get("gate") and it["gate"]["ready"]),
        },
        "classes": rows,
    }
