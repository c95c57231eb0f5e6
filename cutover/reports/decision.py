"""What the shadow report tells a migration lead to decide: the gate's checks next to their thresholds, the
next steps in words, and the one-row-per-interface summary the report opens with.

Pure functions over the report's own per-interface data (:mod:`cutover.reports.data`), so the HTML, the JSON
and the demo's table say the same thing. "About N more comparisons" is :func:`cutover.gates.comparisons_needed`:
the smallest N for which the Wilson lower bound, at the current match rate, meets the gate's ``min_match``.
"""

from __future__ import annotations

from typing import Any

from cutover.gates import comparisons_needed
from cutover.model import MODES, rank

__all__ = ["checks", "next_steps", "summary_row"]


def checks(gate: dict[str, Any]) -> list[dict[str, Any]]:
    """Each gate condition as (check, measured figure, threshold, ok): the thresholds next to the figures."""
    rule = gate["rule"]
    error_limit = round(gate["legacy_error_rate"] + rule["error_margin"], 6)
    return [
        _check(
            "compared messages",
            gate["compared"],
            f">= {rule['min_compared']}",
            gate["compared"] >= rule["min_compared"],
        ),
        _check(
            "days of evidence", gate["span_days"], f">= {rule['min_days']:g}", gate["span_days"] >= rule["min_days"]
        ),
        _check(
            f"match rate lower bound ({gate['confidence'] * 100:g} %)",
            gate["match_rate_lower_bound"],
            f">= {rule['min_match']:g}",
            gate["match_rate_lower_bound"] >= rule["min_match"],
        ),
        _check("open critical mismatches", gate["critical_open"], "= 0", gate["critical_open"] == 0),
        _check(
            "cloud error rate", gate["cloud_error_rate"], f"<= {error_limit:g}", gate["cloud_error_rate"] <= error_limit
        ),
        _check(
            "orphan rate",
            gate["orphan_rate"],
            f"<= {rule['max_orphan_rate']:g}",
            gate["orphan_rate"] <= rule["max_orphan_rate"],
        ),
    ]


def _check(name: str, figure: Any, threshold: str, ok: bool) -> dict[str, Any]:
    return {"check": name, "figure": figure, "threshold": threshold, "ok": ok}


def next_steps(name: str, it: dict[str, Any], paths: tuple[str, ...] | None) -> list[str]:
    """What to do next, in words, most useful first. ``paths``: the interface's configured paths (None: unknown)."""
    gate, mode = it.get("gate"), it.get("mode")
    if gate is None:
        return [f"no flag for {name} in the ledger yet: run the bridge once (it seeds the flag from the YAML)"]
    steps: list[str] = []
    if mode in ("legacy_only", "cloud_only"):
        if mode == "legacy_only" and (paths is None or "cloud" in paths):
            steps.append(
                f"start comparing: `esb-bridge cutover set {name} --mode legacy_primary` runs the cloud path too"
            )
        else:
            steps.append(f"{name} runs one path only ({mode}): nothing to compare")
        return steps
    payload = it["levels"].get("payload", {})
    if it["compared"] == 0 and payload.get("not_available") and not it["levels"].get("readback", {}).get("match"):
        steps.append(
            "nothing is compared: add `project:` to both the legacy and the cloud path (outcomes alone prove no parity)"
        )
    if gate["ready"]:
        target = _promotion(mode, paths)
        steps.append(
            f"promote with `esb-bridge cutover set {name} --mode {target} --reason TEXT`"
            if target
            else f"{name} is ready and already {mode}"
        )
        return steps
    rule = gate["rule"]
    top = [f for f in it["top_fields"] if f["count"]]
    if gate["critical_open"]:
        crit = next((f for f in top if f["critical"]), None)
        field = f" (`{crit['path']}`)" if crit else ""
        steps.append(f"fix the {gate['critical_open']} open mismatch(es) on critical fields{field}")
    more: int | None = None
    if gate["compared"] and gate["match_rate_lower_bound"] < rule["min_match"]:
        more = comparisons_needed(gate["matched"], gate["compared"], rule["min_match"], gate["confidence"])
        if more is not None:
            steps.append(
                f"about {more} more comparisons at the current match rate ({gate['matched']}/{gate['compared']}): "
                f"the lower bound then reaches {rule['min_match']:g}"
            )
        hopeless = "" if more is not None else f": at {gate['match_rate']:.4f} more comparisons cannot reach it"
        if top:
            steps.append(f"fix the top differing field `{top[0]['path']}` ({top[0]['count']} difference(s)){hopeless}")
        elif more is None:
            steps.append(
                f"the match rate {gate['match_rate']:.4f} is not above {rule['min_match']:g}: see the examples of "
                "mismatches (an outcome difference is a side that failed: replay it once fixed)"
            )
    short = rule["min_compared"] - gate["compared"]
    if short > (more or 0):  # not already said by "about N more comparisons"
        steps.append(f"at least {short} more compared messages for the gate's min_compared ({rule['min_compared']})")
    if gate["span_days"] < rule["min_days"]:
        steps.append(
            f"keep comparing: the evidence spans {gate['span_days']:.2f} of the {rule['min_days']:g} day(s) required"
        )
    if gate["orphan_rate"] > rule["max_orphan_rate"]:
        steps.append(
            f"look at the {gate['orphans']} orphan(s): one path produced nothing for them within the settle window"
        )
    if gate["cloud_error_rate"] > gate["legacy_error_rate"] + rule["error_margin"]:
        steps.append("the cloud path fails more than the legacy path: see the dead letters of the period")
    return steps


def _promotion(mode: str | None, paths: tuple[str, ...] | None) -> str | None:
    """The next mode up, if the interface can go there (cloud_only needs no legacy path, but a cloud one)."""
    if mode is None or rank(mode) + 1 >= len(MODES):
        return None
    target = MODES[rank(mode) + 1]
    if paths is not None and "cloud" not in paths:
        return None
    return target


def summary_row(name: str, it: dict[str, Any]) -> dict[str, Any]:
    """The interface's line in the report's summary table."""
    gate = it.get("gate")
    return {
        "interface": name,
        "mode": it["mode"],
        "compared": it["compared"],
        "match_rate": it["match_rate"],
        "lower_bound": it["match_rate_lower_bound"],
        "orphans": it["orphan_count"],
        "dead_letters": it["dead_letter_count"],
        "ready": bool(gate and gate["ready"]),
        "next_step": (it["next_steps"] or [None])[0],
    }
