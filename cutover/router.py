"""``FlagRouter``: routes each message by its interface's current ledger flag (mode + rollout + shadow).

Implements :class:`bridge.ports.Router`. The flag is read from the ledger through a short cache (``ttl``
seconds on the Clock, default 1 s), so a ``cutover set`` made by another process is in force by the next poll
cycle without a restart. Deterministic for the same (interface, business key, flag version). Each decision
carries the mode actually applied (a rollout may turn ``cloud_primary`` into ``legacy_primary`` for a key),
the flag version and the rollout figures, which the ledger records with the message.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from bridge.config.model import InterfaceConfig, PathConfig
from bridge.ports import Clock, PathName, Record, Role, Route, RoutingDecision
from cutover.flags import Flag, FlagStore
from cutover.model import FlagRules

__all__ = ["FlagRouter", "routes_for"]

_A, _S = Role.AUTHORITATIVE, Role.SHADOW
_TABLE: dict[str, tuple[tuple[PathName, Role], ...]] = {
    "legacy_only": ((PathName.LEGACY, _A),),
    "legacy_primary": ((PathName.LEGACY, _A), (PathName.CLOUD, _S)),
    "dual_write": ((PathName.LEGACY, _A), (PathName.CLOUD, _A)),
    "cloud_primary": ((PathName.CLOUD, _A), (PathName.LEGACY, _S)),
    "cloud_only": ((PathName.CLOUD, _A),),
}


def routes_for(mode: str, rules: FlagRules, iface: InterfaceConfig) -> tuple[Route, ...]:
    """The paths a message takes in ``mode``.

    A legacy path of kind ``observe`` is never delivered by the bridge (the old ESB runs on its own). A shadow
    goes to the path's ``shadow_sink`` when configured, else runs dry unless the flag says ``live``; with
    ``legacy_feed`` the legacy shadow of ``cloud_primary`` is delivered for real, so a rollback loses nothing.
    """
    out: list[Route] = []
    for path, role in _TABLE[mode]:
        cfg: PathConfig | None = iface.legacy if path is PathName.LEGACY else iface.cloud
        if cfg is None or (path is PathName.LEGACY and cfg.kind == "observe"):
            continue
        dry = False
        fed = role is _S and path is PathName.LEGACY and mode == "cloud_primary" and rules.legacy_feed
        if role is _S and cfg.shadow_sink is None:
            dry = not fed and rules.shadow != "live"
        # legacy_feed: the legacy side keeps receiving the real feed (not its sandbox), still not authoritative.
        out.append(Route(path, role, dry, sandbox=not fed))
    return tuple(out)


@dataclass
class _Cached:
    flag: Flag
    read_at: datetime


class FlagRouter:
    """Routes by the ledger's current flag of each interface, re-read at most every ``ttl`` seconds."""

    def __init__(
        self, store: FlagStore, interfaces: dict[str, InterfaceConfig], clock: Clock, *, ttl: float = 1.0
    ) -> None:
        self.store = store
        self.interfaces = interfaces
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def flag(self, interface: str) -> Flag:
        """The current flag (cached up to ``ttl``); an interface without a ledger flag routes by its YAML seed."""
        now = self.clock.now()
        with self._lock:
            hit = self._cache.get(interface)
            if hit is not None and (now - hit.read_at).total_seconds() < self.ttl:
                return hit.flag
        flag = self.store.current(interface)
        if flag is None:
            flag = Flag(interface, 0, self.interfaces[interface].cutover, now)
        with self._lock:
            self._cache[interface] = _Cached(flag, now)
        return flag

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def route(self, interface: str, record: Record, business_key: str) -> RoutingDecision:
        flag = self.flag(interface)
        rules = flag.rules
        mode = rules.mode
        rollout: str | None = None
        if mode == "cloud_primary" and rules.rollout is not None:
            decision = rules.rollout.decide(interface, business_key, record)
            rollout = str(decision)[:200]  # the ledger column's size
            if not decision.included:
                mode = "legacy_primary"
        return RoutingDecision(routes_for(mode, rules, self.interfaces[interface]), mode, flag.version, rollout)
