"""Flag changes as the ``changes`` dict :meth:`cutover.audit.Cutover.set` applies, and the overview of flags.

Shared by ``esb-bridge cutover set`` and the admin API's ``POST /api/v1/cutover/{interface}`` so both accept
and refuse the same things: a mode the interface has the paths for, a rollout percentage and attribute rules
(kept from the current rollout where not given), the legacy feed, the shadow mode.
"""

from __future__ import annotations

from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.config.rollout import parse_rule
from bridge.store.ledger import Ledger
from cutover.audit import CutoverError
from cutover.flags import FlagStore

__all__ = ["BadChange", "flag_changes", "flag_overview"]


class BadChange(CutoverError):
    """A change that cannot be asked for (unknown interface, missing path, bad rule, nothing to change)."""


def flag_changes(
    loaded: LoadedConfig,
    ledger: Ledger,
    interface: str,
    *,
    mode: str | None = None,
    percent: float | None = None,
    rules: tuple[str, ...] = (),
    clear_rollout: bool = False,
    legacy_feed: bool | None = None,
    shadow: str | None = None,
) -> dict[str, Any]:
    if interface not in loaded.config.interfaces:
        raise BadChange(f"unknown interface {interface!r}; known: {', '.join(sorted(loaded.config.interfaces))}")
    iface = loaded.config.interfaces[interface]
    if mode and ((mode != "cloud_only" and iface.legacy is None) or (mode != "legacy_only" and iface.cloud is None)):
        raise BadChange(f"{interface} has no {'legacy' if iface.legacy is None else 'cloud'} path for {mode}")
    changes: dict[str, Any] = {}
    if mode:
        changes["mode"] = mode
    if legacy_feed is not None:
        changes["legacy_feed"] = legacy_feed
    if shadow:
        changes["shadow"] = shadow
    if clear_rollout:
        changes["rollout"] = None
    elif percent is not None or rules:
        try:
            parsed = [parse_rule(r).model_dump() for r in rules]
        except ValueError as exc:
            raise BadChange(str(exc)) from exc
        current = FlagStore.of(ledger).current(interface)
        old = current.rules.rollout if current and current.rules.rollout else None
        changes["rollout"] = {
            "percent": percent if percent is not None else (old.percent if old else 100.0),
            "rules": parsed if rules else ([r.model_dump() for r in old.rules] if old else []),
        }
    if not changes:
        raise BadChange("nothing to change: give a mode, percent, rule, legacy_feed or shadow")
    return changes


def flag_overview(ledger: Ledger) -> list[dict[str, Any]]:
    """The current flag of every interface with who changed it last (``cutover status``, ``GET /cutover``)."""
    store = FlagStore.of(ledger)
    out: list[dict[str, Any]] = []
    for name, flag in sorted(store.all_current().items()):
        last = store.events(name, limit=1)
        out.append(
            {
                "interface": name,
                "mode": flag.mode,
                "version": flag.version,
                "rollout": flag.rules.rollout.model_dump(mode="json") if flag.rules.rollout else None,
                "legacy_feed": flag.rules.legacy_feed,
                "shadow": flag.rules.shadow,
                "changed_at": flag.created_at.isoformat(),
                "changed_by": last[0].actor if last else None,
            }
        )
    return out
