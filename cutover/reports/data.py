"""The shadow report's data: a summary row per interface, then per interface the mode, volume, match rate with
its confidence bound, the gate's checks next to their thresholds and the next steps in words
(:mod:`cutover.reports.decision`), the daily match rate, top differing fields, orphans and late arrivals,
accepted differences (per field and per compared pair), probable noise, the period's dead letters and
examples of mismatches. Plain JSON-able data; times come from the Clock.

Accepted differences are counted twice on purpose: ``accepted_total`` counts field differences (one pair
with two accepted fields adds two), ``accepted_pairs`` counts compared pairs with at least one; the pair still
counts as a match. ``reevaluated`` counts pairs compared again after a failed side was replayed and delivered.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.store.ledger import Ledger
from bridge.store.queries import dead_letters
from cutover.compare import CompareRules, find_noise
from cutover.compare.noise import generalise
from cutover.flags import FlagStore
from cutover.gates import evaluate, wilson_lower_bound
from cutover.model import FlagRules
from cutover.reports.decision import checks, next_steps, summary_row

__all__ = ["build_report"]

LEVELS = ("outcome", "payload", "readback")
EXAMPLES = 5
TOP = 10
DEAD_LETTERS = 50


def build_report(
    ledger: Ledger,
    loaded: LoadedConfig | None = None,
    *,
    interface: str | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    clock = ledger.clock
    flags = FlagStore(ledger).all_current()
    names = set(flags)
    if loaded is not None:
        names |= set(loaded.config.interfaces)
    if interface is not None:
        names &= {interface}
    out: dict[str, Any] = {
        "generated_at": clock.now().isoformat(),
        "since": since.isoformat() if since else None,
        "interfaces": {},
    }
    for name in sorted(names):
        flag = flags.get(name)
        rules = CompareRules()
        if loaded is not None and name in loaded.config.interfaces:
            rules = loaded.config.interfaces[name].compare
        it = _interface(ledger, name, flag.rules if flag else None, flag.version if flag else 0, rules, since)
        paths = None
        if loaded is not None and name in loaded.config.interfaces:
            cfg = loaded.config.interfaces[name]
            paths = tuple(p for p in ("legacy", "cloud") if getattr(cfg, p) is not None)
        it["checks"] = checks(it["gate"]) if it["gate"] else []
        it["next_steps"] = next_steps(name, it, paths)
        out["interfaces"][name] = it
    out["summary"] = [summary_row(n, it) for n, it in out["interfaces"].items()]
    return out


def _interface(
    ledger: Ledger,
    name: str,
    flag: FlagRules | None,
    version: int,
    rules: CompareRules,
    since: datetime | None,
) -> dict[str, Any]:
    by_mode = ledger.routed_modes(name, since=since)
    volume = sum(by_mode.values())
    levels: dict[str, Counter[str]] = {lv: Counter() for lv in (*LEVELS, "pairing")}
    per_message: dict[str, bool] = {}
    per_day: dict[str, dict[str, bool]] = {}
    fields: Counter[str] = Counter()
    baseline_noise: Counter[str] = Counter()
    critical_fields: set[str] = set()
    accepted: dict[tuple[str, str, str, str], int] = {}
    accepted_in: dict[tuple[str, str, str, str], set[str]] = {}
    reevaluated: set[str] = set()
    orphans: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    examples: list[dict[str, Any]] = []
    payload_entries: list[list[dict[str, Any]]] = []
    content: set[str] = set()
    for row in ledger.comparisons(name, since=since):
        # Plain strings from here on: the report is JSON data (keys included).
        mid, key, level, status = row.message_id, row.business_key, row.level.value, row.status.value
        diff, critical, created = row.diff, row.critical, row.created_at
        levels[level][status] += 1
        diff = diff or {}
        if level == "pairing":
            if status == "orphan":
                orphans.append(
                    {"message_id": mid, "business_key": key, "missing": diff.get("missing"), "at": created.isoformat()}
                )
            elif status == "late":
                late.append({"message_id": mid, "business_key": key, "at": created.isoformat()})
            continue
        if status not in ("match", "mismatch", "accepted", "error"):
            continue
        ok = status in ("match", "accepted")
        per_message[mid] = per_message.get(mid, True) and ok
        if level != "outcome":
            content.add(mid)
            day = created.date().isoformat()
            per_day.setdefault(day, {})[mid] = per_day.get(day, {}).get(mid, True) and ok
        entries = diff.get("entries") or []
        if diff.get("reevaluated_from"):
            reevaluated.add(mid)
        if level == "payload" and status != "error":
            payload_entries.append(entries)
        for e in entries:
            if e.get("noise"):
                baseline_noise[generalise(e["path"])] += 1
            elif e.get("accepted"):
                a = e["accepted"]
                k = (e["path"], a["owner"], a["reason"], a["expires"])
                accepted[k] = accepted.get(k, 0) + 1
                accepted_in.setdefault(k, set()).add(mid)
            else:
                field = generalise(e["path"])
                fields[field] += 1
                if e.get("critical"):
                    critical_fields.add(field)
        if status in ("mismatch", "error") and len(examples) < EXAMPLES:
            examples.append(
                {
                    "message_id": mid,
                    "business_key": key,
                    "level": level,
                    "status": status,
                    "critical": bool(critical),
                    "entries": entries[:20],
                    "reason": diff.get("reason"),
                }
            )
    per_message = {k: v for k, v in per_message.items() if k in content}  # same definition as the gate
    compared = len(per_message)
    matched = sum(per_message.values())
    gate = evaluate(ledger, name, flag.gate).to_dict() if flag else None
    noise = find_noise(len(payload_entries), payload_entries, rules.noise)
    dlq = dead_letters(ledger.engine, name, None, limit=10_000, since=since)
    return {
        "mode": flag.mode if flag else None,
        "flag_version": version,
        "rollout": flag.rollout.model_dump(mode="json") if flag and flag.rollout else None,
        "volume": volume,
        "routed_modes": dict(sorted(by_mode.items())),
        "compared": compared,
        "matched": matched,
        "mismatched": compared - matched,
        "match_rate": round(matched / compared, 6) if compared else None,
        "match_rate_lower_bound": round(wilson_lower_bound(matched, compared), 6) if compared else None,
        "levels": {lv: dict(sorted(cnt.items())) for lv, cnt in levels.items() if cnt},
        "accepted_total": sum(accepted.values()),
        "accepted_pairs": len(set().union(*accepted_in.values())) if accepted_in else 0,
        "reevaluated": len(reevaluated),
        "orphan_count": len(orphans),
        "late_count": len(late),
        "daily": [
            {"date": d, "compared": len(v), "matched": sum(v.values()), "rate": round(sum(v.values()) / len(v), 6)}
            for d, v in sorted(per_day.items())
        ],
        "top_fields": [{"path": p, "count": n, "critical": p in critical_fields} for p, n in fields.most_common(TOP)],
        "accepted": [
            {"path": p, "owner": o, "reason": r, "expires": x, "count": n, "pairs": len(accepted_in[(p, o, r, x)])}
            for (p, o, r, x), n in sorted(accepted.items())
        ],
        "dead_letter_count": len(dlq),
        "dead_letters_open": sum(1 for d in dlq if d["status"] == "open"),
        "dead_letters": [
            {
                "id": d["id"],
                "kind": d["kind"],
                "status": d["status"],
                "message_id": d["message_id"],
                "error": (d["error"] or {}).get("message"),
                "location": d["location"],
                "at": d["created_at"],
            }
            for d in dlq[:DEAD_LETTERS]
        ],
        "noise": [f.to_dict() for f in noise],
        "baseline_noise": [{"path": p, "count": n} for p, n in baseline_noise.most_common(TOP)],
        "noise_rules": [r.to_dict() for r in ledger.noise_rules(name)],
        "orphans": orphans[:50],
        "late": late[:50],
        "gate": gate,
        "examples": examples,
        "reconciliation": _reconciliation(ledger, name),
    }


def _reconciliation(ledger: Ledger, name: str) -> list[dict[str, Any]]:
    """The interface's newest reconciliation run (``esb-bridge reconcile``): one row per path and date, with
    at most ``EXAMPLES * 4`` per-key differences each (the ledger keeps up to ``reconcile.max_detail``)."""
    rows = []
    for row in ledger.latest_reconciliations(name):
        data = row.as_dict()
        keys = data["detail"].get("keys", [])
        data["detail"] = {**data["detail"], "keys": keys[: EXAMPLES * 4], "more": max(0, len(keys) - EXAMPLES * 4)}
        rows.append(data)
    return rows
