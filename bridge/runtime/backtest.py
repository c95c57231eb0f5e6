"""``esb-bridge backtest``: replay an archive through the new path and get the gate's verdict on it.

The archived inputs (the drop's ``archive/``) run through the interface's own decoder and cloud path, in the
order they came, with a :class:`~bridge.ports.SimulatedClock` at each file's original time; the archived
outputs of the old system are paired with them through the legacy path's projection exactly as a live
``observe`` shadow pairs its observations (:mod:`cutover.pairing`), and compared under the interface's
rules. The :class:`~bridge.runtime.runner.Runner` runs it all, narrowed by :class:`BacktestScope`:

* the cloud path never reaches a live target: it runs to the interface's ``shadow_sink`` (a sandbox) when
  it has one, else dry (encoded and recorded, never sent); its live sink is not even built. A cloud path that
  can do neither (``observe``) is refused before anything runs (:class:`BacktestRefused`);
* the legacy path runs nothing: its live sink and read-back are dropped, its archived output stands for it;
* everything is written to the backtest's own ledger (``backtest_dir/<id>.db``, :mod:`cutover.backtests`).

The archive is replayed in slices of one day (of file time). After each slice the state file records it,
so a killed backtest started again with the same id resumes at the first slice not done; batches already in
are skipped and compared messages are never compared twice (the ``backtest_slice`` failpoint sits between a
slice's work and its record, where a kill hurts most).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.ports import ConfigError, PathName, SimulatedClock, SystemClock
from bridge.runtime.backtest_archive import (
    ArchivedFile,
    ArchiveObservations,
    ArchiveSource,
    NoSendSink,
    archived_files,
)
from bridge.runtime.failpoints import failpoint
from bridge.runtime.pipeline import Progress
from bridge.runtime.runner import Runner
from bridge.runtime.wiring import InterfaceRuntime, target_name
from bridge.store.counts import fold_deltas
from cutover.backtests import BacktestState, backtest_readiness, backtest_root, backtest_url, list_backtests
from cutover.comparator import ComparedInterface

__all__ = ["Backtest", "BacktestRefused", "BacktestScope", "backtest_config", "cloud_mode", "describe"]

log = logging.getLogger("esb_bridge.runtime.backtest")


class BacktestRefused(ConfigError):
    """The interface cannot be backtested as configured (the reason says what is missing)."""

    def __init__(self, interface: str, reason: str) -> None:
        super().__init__(f"backtest of {interface} refused: {reason}")


def cloud_mode(loaded: LoadedConfig, interface: str) -> str:
    """``sandbox`` or ``dry_run``: how the cloud path runs in a backtest; refused when it can run neither way,
    or when nothing could be compared (a path without ``project``)."""
    iface = loaded.config.interfaces.get(interface)
    if iface is None:
        raise BacktestRefused(interface, "no such interface")
    if iface.legacy is None or iface.cloud is None:
        raise BacktestRefused(interface, "a backtest compares two paths; the interface has one")
    for side, p in (("legacy", iface.legacy), ("cloud", iface.cloud)):
        if p.project is None:
            raise BacktestRefused(interface, f"the {side} path has no `project:` to compare with")
    if iface.cloud.shadow_sink is not None:
        return "sandbox"
    if iface.cloud.kind == "run" and iface.cloud.encoder is not None:
        return "dry_run"
    raise BacktestRefused(
        interface,
        f"the cloud path (kind {iface.cloud.kind}) has no shadow_sink and cannot run dry: it would reach a live target",
    )


def backtest_config(loaded: LoadedConfig, interface: str, cloud: str, spool: Path) -> LoadedConfig:
    """The config a backtest runs: ``interface`` only, its legacy path observed (no sink, no encoder, no
    read-back), its cloud path without its live sink (and, run dry, without its read-back), the flag
    ``legacy_primary`` with the cloud path as shadow, acknowledged on commit."""
    iface = loaded.config.interfaces[interface]
    assert iface.legacy is not None and iface.cloud is not None
    legacy = iface.legacy.model_copy(update={"kind": "observe", "sink": None, "encoder": None, "readback": None})
    drop_cloud = {"sink"} | ({"readback"} if cloud == "dry_run" else set())
    flag = iface.cutover.model_copy(update={"mode": "legacy_primary", "shadow": "sandbox", "rollout": None})
    changed = iface.model_copy(
        update={
            "legacy": legacy,
            "cutover": flag,
            "acknowledge": "on_commit",
            "echo": None,
            "alerts": None,
            "reconcile": None,
        }
    )
    config = loaded.config.model_copy(update={"interfaces": {interface: changed}, "spool_dir": str(spool), "api": None})
    dropped = {("legacy", "sink"), ("legacy", "encoder"), ("legacy", "shadow_sink"), ("legacy", "readback")}
    dropped |= {("legacy", "observe"), ("legacy", "listing"), ("cloud", "listing")}
    dropped |= {("cloud", k) for k in drop_cloud}
    plugins = {
        (name, where): cfg
        for (name, where), cfg in loaded.plugins.items()
        if name == interface and where not in dropped
    }
    return replace(loaded, config=config, plugins=plugins)


@dataclass
class BacktestScope:
    """The Runner's scope for a backtest (:class:`bridge.runtime.wiring.RunScope`)."""

    interface: str
    source: ArchiveSource
    observations: ArchiveObservations
    cloud: str

    def adapt(self, interfaces: dict[str, InterfaceRuntime]) -> None:
        rt = interfaces[self.interface]
        rt.source = self.source
        legacy, cloud = rt.paths[PathName.LEGACY], rt.paths[PathName.CLOUD]
        legacy.sink = legacy.shadow_sink = None
        legacy.readback = None
        legacy.observe = self.observations
        # The live cloud sink was never built (backtest_config); dry-run deliveries are recorded by a sink
        # that sends nothing, sandbox deliveries go to the shadow sink.
        cloud.sink = NoSendSink(target_name(self.interface, "cloud"))
        if self.cloud != "sandbox":
            cloud.shadow_sink = None

    def adapt_compared(self, compared: dict[str, ComparedInterface]) -> None:
        it = compared[self.interface]
        compared[self.interface] = replace(it, observed_held=True)


def _slices(files: list[ArchivedFile]) -> dict[str, list[ArchivedFile]]:
    out: dict[str, list[ArchivedFile]] = {}
    for f in files:
        out.setdefault(f.day.isoformat(), []).append(f)
    return out


def _next_id(loaded: LoadedConfig) -> str:
    taken = {s.id for s in list_backtests(loaded)}
    n = 1
    while f"bt{n}" in taken:
        n += 1
    return f"bt{n}"


class Backtest:
    """One backtest of one interface; :meth:`run` replays (or resumes) it and returns its state."""

    def __init__(
        self,
        loaded: LoadedConfig,
        interface: str,
        inputs: Path,
        legacy_outputs: Path,
        *,
        backtest_id: str | None = None,
        since: date | None = None,
        until: date | None = None,
        progress: Progress | None = None,
        delivery_progress: Progress | None = None,
        on_slice: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.loaded = loaded
        self.interface = interface
        self.cloud = cloud_mode(loaded, interface)  # refused here, before anything is written
        for what, folder in (("inputs", inputs), ("legacy outputs", legacy_outputs)):
            if not folder.is_dir():
                raise BacktestRefused(interface, f"the {what} folder {folder} does not exist")
        self.inputs = inputs.resolve()
        self.legacy_outputs = legacy_outputs.resolve()
        self.since, self.until = since, until
        self.root = backtest_root(loaded)
        self.id = backtest_id or self._resumable() or _next_id(loaded)
        self.progress = progress
        self.delivery_progress = delivery_progress
        self.on_slice = on_slice

    def _resumable(self) -> str | None:
        """The unfinished backtest of the same interface, folders and period, if one was killed."""
        for s in list_backtests(self.loaded, self.interface):
            same = (s.inputs, s.legacy_outputs) == (str(self.inputs), str(self.legacy_outputs))
            period = (s.period_from, s.period_to) == (_iso(self.since), _iso(self.until))
            if same and period and not s.finished:
                return s.id
        return None

    def _state(self, slices: list[str], files: int, observations: int) -> BacktestState:
        try:
            state = BacktestState.load(self.root, self.id)
        except LookupError:
            state = BacktestState(
                self.id,
                self.interface,
                str(self.inputs),
                str(self.legacy_outputs),
                self.cloud,
                _iso(self.since),
                _iso(self.until),
                started_at=SystemClock().now().isoformat(),
            )
        if state.interface != self.interface or state.inputs != str(self.inputs):
            raise BacktestRefused(self.interface, f"backtest id {self.id} is a backtest of other inputs")
        if state.finished:
            raise BacktestRefused(self.interface, f"backtest {self.id} is finished; choose another --id")
        state.slices, state.files, state.observations = slices, files, observations
        state.runs += 1
        return state

    def run(self) -> BacktestState:
        include: tuple[str, ...] = tuple(getattr(self.loaded.plugin(self.interface, ("source",)), "include", ()) or ())
        files = archived_files(self.inputs, include, self.since, self.until)
        if not files:
            raise BacktestRefused(self.interface, f"no archived input in {self.inputs} for the period")
        settle = timedelta(seconds=self.loaded.config.interfaces[self.interface].compare.settle)
        outputs = [f for f in archived_files(self.legacy_outputs) if f.time >= files[0].time - settle]
        slices = _slices(files)
        state = self._state(list(slices), len(files), len(outputs))
        todo = [k for k in slices if k not in state.done]
        start = slices[todo[0]][0].time if todo else files[-1].time
        if state.runs > 1 and todo:
            # Resumed: claims a killed run left are leased on the simulated time it reached; start past them.
            every = self.loaded.config.interfaces[self.interface].schedule.every
            held = max(self.loaded.config.lease, 3 * every, 60.0)
            start = slices[todo[0]][-1].time + timedelta(seconds=held + 1)
        clock = SimulatedClock(start)
        source = ArchiveSource(self.interface, clock)
        observations = ArchiveObservations(self.interface, outputs, clock)
        spool = self.root / f"{self.id}.spool"
        variant = backtest_config(self.loaded, self.interface, self.cloud, spool)
        state.save(self.root)
        scope = BacktestScope(self.interface, source, observations, self.cloud)
        with Runner(
            variant,
            clock,
            store_url=backtest_url(self.loaded, self.id),
            scope=scope,
            progress=self.progress,
            delivery_progress=self.delivery_progress,
        ) as runner:
            keys = list(slices)
            for key in todo:
                source.slice = slices[key]
                runner.poll(self.interface)
                runner.drain(max_wait=max(3600.0, settle.total_seconds()))
                after = keys.index(key) + 1
                end = slices[keys[after]][0].time if after < len(keys) else slices[key][-1].time
                if end > clock.now():
                    clock.set(end)
                runner.compare_all()
                failpoint("backtest_slice")
                state.done.append(key)
                state.save(self.root)
                if self.on_slice is not None:
                    self.on_slice(key, len(state.done), len(keys))
            # The last settle window passes: what is still unpaired now is an orphan.
            clock.advance(settle + timedelta(seconds=1))
            runner.compare_all()
            fold_deltas(runner.ledger.engine)
            state.clock_end = clock.now().isoformat()
        state.finished_at = SystemClock().now().isoformat()
        state.save(self.root)
        state.verdict = backtest_readiness(self.loaded, self.id).to_dict()
        state.save(self.root)
        return state


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def describe(state: BacktestState) -> dict[str, Any]:
    """The command's JSON answer."""
    return {
        "id": state.id,
        "interface": state.interface,
        "cloud": state.cloud,
        "files": state.files,
        "observations": state.observations,
        "slices": len(state.slices),
        "runs": state.runs,
        "finished": state.finished,
        "clock_end": state.clock_end,
        "verdict": state.verdict,
    }
