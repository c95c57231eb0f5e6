"""Reconciliation in the runtime: builds each path's target listing and runs :class:`cutover.reconcile.Reconciler`.

``esb-bridge reconcile`` calls :func:`reconcile_interfaces` once; ``esb-bridge run`` runs
:class:`ReconcileSchedule` for the interfaces whose ``reconcile:`` names ``every``. Listings are built here
through the registry (the composition root's job) and entered only while they are read.
"""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta

from bridge.config.loaded import LoadedConfig
from bridge.ports import Clock, PathName, PluginContext, TargetListing
from bridge.runtime.wiring import target_name
from bridge.store.ledger import Ledger
from cutover.reconcile import PathToReconcile, Reconciler, ReconcileReport

__all__ = ["ReconcileSchedule", "reconcile_interfaces", "reconciled_paths"]

log = logging.getLogger("esb_bridge.runtime.reconcile")


def reconciled_paths(loaded: LoadedConfig, interface: str, clock: Clock) -> list[PathToReconcile]:
    """The paths of ``interface`` that deliver (kinds run and forward), each with its target's listing."""
    iface = loaded.config.interfaces[interface]
    out = []
    for pname in (PathName.LEGACY, PathName.CLOUD):
        pcfg = getattr(iface, pname.value)
        if pcfg is None or pcfg.sink is None:
            continue
        ctx = PluginContext(
            base_dir=loaded.base_dir,
            interface=interface,
            canonical=iface.canonical,
            clock=clock,
            target=target_name(interface, pname.value),
        )
        listing: TargetListing | None = loaded.build(interface, (pname.value, "listing"), ctx)
        out.append(PathToReconcile(pname.value, target_name(interface, pname.value), listing))
    return out


def reconcile_interfaces(
    loaded: LoadedConfig, ledger: Ledger, clock: Clock, only: list[str] | None = None, day: date | None = None
) -> list[ReconcileReport]:
    """Reconcile every interface (or ``only`` those), for one business date or all; results are stored."""
    reconciler = Reconciler(ledger)
    reports = []
    for name, iface in loaded.config.interfaces.items():
        if only and name not in only:
            continue
        reports.append(reconciler.reconcile(name, iface.reconcile, reconciled_paths(loaded, name, clock), day=day))
    return reports


class ReconcileSchedule:
    """Runs each interface's reconciliation every ``reconcile.every`` from ``run`` (one at a time).

    The first run of an interface is one interval after start, so a restart loop does not list a target on
    every start. A failure is logged and retried at the next interval; it never stops the bridge.
    """

    def __init__(self, loaded: LoadedConfig, ledger: Ledger, clock: Clock, only: list[str] | None = None) -> None:
        self._loaded, self._ledger, self._clock = loaded, ledger, clock
        now = clock.now()
        self._due: dict[str, datetime] = {
            name: now + timedelta(seconds=iface.reconcile.every)
            for name, iface in loaded.config.interfaces.items()
            if iface.reconcile is not None and iface.reconcile.every and (not only or name in only)
        }
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return bool(self._due)

    def run_due(self) -> list[ReconcileReport]:
        """Reconcile the interfaces whose time has come; what each found is logged."""
        if not self._lock.acquire(blocking=False):
            return []
        try:
            reports = []
            for name, due in sorted(self._due.items()):
                now = self._clock.now()
                if now < due:
                    continue
                every = self._loaded.config.interfaces[name].reconcile
                assert every is not None and every.every
                self._due[name] = now + timedelta(seconds=every.every)
                try:
                    (report,) = reconcile_interfaces(self._loaded, self._ledger, self._clock, [name])
                except Exception:
                    log.exception("reconciliation of %s failed; next try in %ss", name, every.every)
                    continue
                level = logging.WARNING if report.differences or report.incomplete else logging.INFO
                log.log(
                    level,
                    "reconciled %s: %s difference(s)%s",
                    name,
                    report.differences,
                    ", incomplete" if report.incomplete else "",
                )
                reports.append(report)
            return reports
        finally:
            self._lock.release()
