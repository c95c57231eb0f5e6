"""The static router: routes every message by the interface's configured cutover mode (DESIGN.md table).

``cutover/`` replaces it with the ledger-backed flag router (versions, rollout); this one only reads the
YAML mode, which is what the foundation needs to run both paths end to end.
"""

from __future__ import annotations

from bridge.config.model import InterfaceConfig
from bridge.ports import PathName, Record, Role, Route, RoutingDecision

__all__ = ["ModeRouter", "routes_for_mode"]

_AUTH, _SHADOW = Role.AUTHORITATIVE, Role.SHADOW


def routes_for_mode(mode: str, iface: InterfaceConfig) -> tuple[Route, ...]:
    """Which paths run in ``mode``; a legacy path of kind ``observe`` is never delivered by the bridge."""
    legacy_delivers = iface.legacy is not None and iface.legacy.kind != "observe"
    table: dict[str, tuple[tuple[PathName, Role], ...]] = {
        "legacy_only": ((PathName.LEGACY, _AUTH),),
        "legacy_primary": ((PathName.LEGACY, _AUTH), (PathName.CLOUD, _SHADOW)),
        "dual_write": ((PathName.LEGACY, _AUTH), (PathName.CLOUD, _AUTH)),
        "cloud_primary": ((PathName.CLOUD, _AUTH), (PathName.LEGACY, _SHADOW)),
        "cloud_only": ((PathName.CLOUD, _AUTH),),
    }
    out: list[Route] = []
    for path, role in table[mode]:
        if path is PathName.LEGACY and not legacy_delivers:
            continue
        cfg = iface.legacy if path is PathName.LEGACY else iface.cloud
        if cfg is None:
            continue
        dry = (
            role is Role.SHADOW
            and cfg.shadow_sink is None
            and bool(iface.cutover.model_extra and iface.cutover.model_extra.get("shadow_dry_run"))
        )
        out.append(Route(path, role, dry))
    return tuple(out)


class ModeRouter:
    """Routes by the YAML mode of each interface; deterministic, no I/O."""

    def __init__(self, interfaces: dict[str, InterfaceConfig]) -> None:
        self._routes = {name: routes_for_mode(i.cutover.mode, i) for name, i in interfaces.items()}
        self._modes = {name: i.cutover.mode for name, i in interfaces.items()}

    def route(self, interface: str, record: Record, business_key: str) -> RoutingDecision:
        return RoutingDecision(self._routes[interface], self._modes[interface], 0, None)
