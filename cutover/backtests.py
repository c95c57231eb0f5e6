"""Backtests as evidence: where each one is kept, its state file, and the gate's verdict on its figures.

A backtest (``esb-bridge backtest``, run by :mod:`bridge.runtime.backtest`) replays archived inputs and pairs
them with the old system's archived outputs. Its messages, comparisons and flag live in a SQLite ledger of
their own, ``<backtest_dir>/<id>.db``, next to a small JSON state file ``<id>.json`` (interface, folders,
period, the slices done so far, the simulated time it ended at). Live readiness never opens those files:
only what asks for a backtest by name (``cutover readiness``, ``shadow report --backtest``, a gate with
``backtest: accept``) reads them, so backtest evidence is never mixed into the live figures.

The verdict is :func:`cutover.gates.evaluate` on the backtest's ledger, measured at the simulated end of the
backtest: "had you shadowed this period, the gate would have said ...".
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bridge.config.loaded import LoadedConfig
from bridge.ports import SimulatedClock
from bridge.store.ledger import open_ledger
from cutover.flags import FlagStore
from cutover.gates import Readiness, evaluate
from cutover.model import GateRule

__all__ = [
    "BacktestNotFound",
    "BacktestState",
    "backtest_readiness",
    "backtest_root",
    "backtest_url",
    "latest_backtest",
    "latest_evidence",
    "list_backtests",
    "verdict_line",
]


class BacktestNotFound(LookupError):
    """No backtest of that id under the config's ``backtest_dir``."""


@dataclass
class BacktestState:
    """What a backtest's state file holds; written after each slice, so a killed backtest resumes there."""

    id: str
    interface: str
    inputs: str
    legacy_outputs: str
    cloud: str
    """``dry_run`` (encoded, never sent) or ``sandbox`` (the interface's shadow sink)."""
    period_from: str | None = None
    period_to: str | None = None
    slices: list[str] = field(default_factory=list)
    done: list[str] = field(default_factory=list)
    files: int = 0
    observations: int = 0
    started_at: str = ""
    finished_at: str | None = None
    clock_end: str | None = None
    """The simulated time the backtest ended at (after the last settle window): when its verdict is measured."""
    runs: int = 0
    verdict: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def save(self, root: Path) -> None:
        """Write the state file atomically (a kill never leaves half a file)."""
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f".{self.id}.json.tmp"
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, root / f"{self.id}.json")

    @classmethod
    def load(cls, root: Path, backtest_id: str) -> BacktestState:
        path = root / f"{backtest_id}.json"
        if not path.is_file():
            raise BacktestNotFound(f"no backtest {backtest_id!r} in {root}")
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def backtest_root(loaded: LoadedConfig) -> Path:
    """The config's ``backtest_dir`` (relative to the config file's folder)."""
    return (loaded.base_dir / loaded.config.backtest_dir).resolve()


def backtest_url(loaded: LoadedConfig, backtest_id: str) -> str:
    """The ledger URL of backtest ``backtest_id`` (SQLite, its own file)."""
    return f"sqlite:///{backtest_root(loaded) / f'{backtest_id}.db'}"


def list_backtests(loaded: LoadedConfig, interface: str | None = None) -> list[BacktestState]:
    """Every backtest under ``backtest_dir`` (of ``interface``), oldest first."""
    root = backtest_root(loaded)
    if not root.is_dir():
        return []
    out = [BacktestState.load(root, p.stem) for p in root.glob("*.json") if not p.name.startswith(".")]
    return sorted((s for s in out if interface is None or s.interface == interface), key=lambda s: s.started_at)


def latest_backtest(loaded: LoadedConfig, interface: str) -> BacktestState | None:
    """The newest finished backtest of ``interface`` (the one a ``backtest: accept`` gate looks at)."""
    done = [s for s in list_backtests(loaded, interface) if s.finished]
    return done[-1] if done else None


def backtest_readiness(loaded: LoadedConfig, backtest_id: str, rule: GateRule | None = None) -> Readiness:
    """The gate applied to a backtest's figures, measured at its simulated end. ``rule``: the gate to apply
    (the live flag's, so both are judged alike); default the gate the backtest's own flag was seeded with."""
    state = BacktestState.load(backtest_root(loaded), backtest_id)
    end = datetime.fromisoformat(state.clock_end) if state.clock_end else None
    clock = SimulatedClock(end) if end is not None else SimulatedClock()
    with open_ledger(backtest_url(loaded, backtest_id), clock, protection=loaded.protection()) as ledger:
        if rule is None:
            flag = FlagStore.of(ledger).current(state.interface)
            rule = flag.rules.gate if flag is not None else GateRule()
        ready = evaluate(ledger, state.interface, rule)
    ready.figures["backtest"] = backtest_id
    ready.figures["period"] = {"from": state.period_from, "to": state.period_to}
    ready.figures["finished"] = state.finished
    return ready


def verdict_line(backtest_id: str, ready: Readiness) -> str:
    """``backtest B: would be ready`` or ``backtest B: would not be ready because ...``."""
    if ready.ready:
        return f"backtest {backtest_id}: would be ready"
    return f"backtest {backtest_id}: would not be ready because " + "; ".join(ready.reasons)


def latest_evidence(loaded: LoadedConfig) -> Callable[[str, GateRule], Readiness | None]:
    """For :class:`cutover.audit.Cutover`: the verdict of an interface's newest finished backtest under a gate."""

    def find(interface: str, rule: GateRule) -> Readiness | None:
        state = latest_backtest(loaded, interface)
        return None if state is None else backtest_readiness(loaded, state.id, rule)

    return find
