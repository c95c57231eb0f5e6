"""Live reload of ``esb-bridge run``: a changed, valid config is applied without restarting the process.

Why this shape: the runtime's objects (sources, decoders, sinks, workers, schedules) are built from one
config and hold connections, sessions and files; patching them in place would need every plugin to support
it. Instead ``run`` goes through *generations*: the watcher notices that the config file, or a file its
``include:`` patterns match (re-globbed, so a new interface file counts), changed; it loads and checks the
new config the way ``esb-bridge validate`` does; a config with errors is refused (each problem logged) and
the running one keeps running. A valid one ends the current generation the way a shutdown does (in-flight
deliveries get the grace, claims and poll leases are released, sources and sinks are closed) and the next
generation starts from the new config: added interfaces are polled, removed ones stop (their open
deliveries stay in the ledger and are reported), changed sources and sinks are reopened. Flags live in the
ledger, so a reload never changes a cutover mode. The work lost is one poll interval at most.
"""

from __future__ import annotations

import glob
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bridge.config import load_config
from bridge.config.checks import check_config
from bridge.config.loaded import LoadedConfig
from bridge.ports import ConfigError

__all__ = ["ConfigWatcher", "Reload", "describe_change"]

log = logging.getLogger("esb_bridge.runtime.reload")

_Stamp = tuple[int, int]


@dataclass
class Reload:
    """A config change the watcher accepted: the new config and what differs from the running one."""

    loaded: LoadedConfig
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def describe_change(old: LoadedConfig, new: LoadedConfig) -> Reload:
    """Which interfaces a reload adds, removes and changes (any difference in their config or plugin blocks)."""
    before, after = old.config.interfaces, new.config.interfaces
    changed = [
        name
        for name in sorted(set(before) & set(after))
        if before[name] != after[name] or _plugins(old, name) != _plugins(new, name)
    ]
    return Reload(new, sorted(set(after) - set(before)), sorted(set(before) - set(after)), changed)


def _plugins(loaded: LoadedConfig, interface: str) -> dict[object, object]:
    return {where: cfg for (name, where), cfg in loaded.plugins.items() if name == interface}


class ConfigWatcher:
    """Watches one generation's config files; :meth:`watch` returns when a valid change or a stop comes."""

    def __init__(self, loaded: LoadedConfig, *, interval: float = 1.0) -> None:
        self.loaded = loaded
        self.interval = interval
        self.accepted: Reload | None = None
        self._seen = self._stamps()

    def files(self) -> list[Path]:
        """The config file and every file its include patterns match now."""
        out = [self.loaded.file]
        for pattern in self.loaded.config.include:
            out += [Path(p) for p in sorted(glob.glob(str(self.loaded.base_dir / pattern)))]
        return out

    def _stamps(self) -> dict[str, _Stamp]:
        stamps: dict[str, _Stamp] = {}
        for path in self.files():
            try:
                st = path.stat()
            except OSError:  # removed meanwhile: its absence is the change
                continue
            stamps[str(path)] = (st.st_mtime_ns, st.st_size)
        return stamps

    def watch(self, stop: threading.Event, end: threading.Event) -> None:
        """Until ``stop``: check the files every ``interval``; on a valid change keep it in :attr:`accepted`
        and set ``end`` (the generation's stop event). ``end`` is set on ``stop`` too."""
        while not stop.wait(self.interval):
            if self.poll() is not None:
                break
        end.set()

    def poll(self) -> Reload | None:
        """One check: the accepted change, or ``None`` (nothing changed, or the change was refused)."""
        stamps = self._stamps()
        if stamps == self._seen:
            return None
        self._seen = stamps
        try:
            new = load_config(self.loaded.file)
        except ConfigError as exc:
            self._refuse([str(exc)])  # the message lists every problem with its file and line
            return None
        errors = [str(f) for f in check_config(new) if f.is_error]
        if errors:
            self._refuse(errors)
            return None
        change = describe_change(self.loaded, new)
        if not (change.added or change.removed or change.changed) and new.config == self.loaded.config:
            log.info("config files changed, nothing to apply")
            return None
        log.info(
            "config change accepted: added %s, removed %s, changed %s; restarting the interfaces",
            ", ".join(change.added) or "none",
            ", ".join(change.removed) or "none",
            ", ".join(change.changed) or "none",
        )
        self.accepted = change
        return change

    @staticmethod
    def _refuse(problems: list[str]) -> None:
        log.error("config change refused, the running config is kept:\n  %s", "\n  ".join(problems))
