"""The shadow report's data: per interface the mode, volume, match rate with its confidence bound, the
daily match rate, top differing fields, orphans and late arrivals, accepted differences, probable noise,
gate status and examples of mismatches. Plain JSON-able data; times come from the Clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.store.ledger import Ledger
from cutover.compare import CompareRules, find_noise
from cutover.compare.noise import generalise
from cutover.flags import FlagStore
from cutover.gates import evaluate, wilson_lower_bound
from cutover.model import FlagRules

__all__ = ["build_report"]

LEVELS = ("outcome", "payload", "readback")
EXAMPLES = 5
TOP = 10


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
        out["interfaces"][name] = _interface(
            ledger, name, flag.rules if flag else None, flag.version if flag else 0, rules, since
        )
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
    critical_fields: set[str] = set()
    accepted: dict[tuple[str, str, str, str], int] = {}
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
        if level == "payload" and status != "error":
            payload_entries.append(entries)
        for e in entries:
            if e.get("accepted"):
                a = e["accepted"]
                k = (e["path"], a["owner"], a["reason"], a["expires"])
                accepted[k] = accepted.get(k, 0) + 1
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
        "orphan_count": len(orphans),
        "late_count": len(late),
        "daily": [
            {"date": d, "compared": len(v), "matched": sum(v.values()), "rate": round(sum(v.values()) / len(v), 6)}
            for d, v in sorted(per_day.items())
        ],
        "top_fields": [{"path": p, "count": n, "critical": p in critical_fields} for p, n in fields.most_common(TOP)],
        "accepted": [
            {"path": p, "owner": o, "reason": r, "expires": x, "count": n}
            for (p, o, r, x), n in sorted(accepted.items())
        ],
        "noise": [f.to_dict() for f in noise],
        "orphans": orphans[:50],
        "late": late[:50],
        "gate": gate,
        "examples": examples,
    }
