"""``esb-bridge validate --connect``: reach every peer the config names, without sending a document.

Each plugin block ``run`` would build (:func:`~bridge.config.plugin_check.built_by_run`) is built again (the
factories do no I/O) and, when its object offers the optional :class:`~bridge.ports.Reachable` member, asked
to reach its peer: SFTP host key, login and folder; WSDL and endpoint; OAuth2 token and REST server; AMQP
login and exchange. Each step is one located :class:`ConnectResult`. A block whose object talks to no peer
(a local folder, a file sink, a mapping) is not listed. Run only after the config validated (no errors).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bridge.config.loaded import PLUGIN_BLOCKS, LoadedConfig
from bridge.config.plugin_check import built_by_run
from bridge.plugins import registry
from bridge.ports import BridgeError, PeerCheck, PluginContext, Reachable, SystemClock

__all__ = ["ConnectResult", "connect_checks"]


@dataclass(frozen=True)
class ConnectResult:
    """One peer check of one block (``interfaces.X.cloud.sink``), with where the block is written."""

    block: str
    check: str
    peer: str
    ok: bool
    detail: str
    file: str | None = None
    line: int | None = None

    def public(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        state = "ok" if self.ok else "FAILED"
        where = f" ({self.file}:{self.line})" if self.file and not self.ok else ""
        return f"{state:<6} {self.block}: {self.check} {self.peer}{': ' + self.detail if self.detail else ''}{where}"


def connect_checks(loaded: LoadedConfig) -> list[ConnectResult]:
    """Every peer check of every block ``run`` builds, in config order."""
    out: list[ConnectResult] = []
    clock = SystemClock()
    for name, iface in loaded.config.interfaces.items():
        ctx = PluginContext(base_dir=loaded.base_dir, interface=name, canonical=iface.canonical, clock=clock)
        for where, role in PLUGIN_BLOCKS:
            cfg = loaded.plugin(name, where)
            if cfg is None or not built_by_run(iface, where):
                continue
            loc = ("interfaces", name, *where)
            block = ".".join(map(str, loc))
            file, line = loaded.line_of(loc)
            try:
                obj = registry.build(role, cfg, ctx)
                checks = obj.connect_checks() if isinstance(obj, Reachable) else []
            except BridgeError as exc:
                checks = [PeerCheck("connect", cfg.kind, False, exc.message)]
            except Exception as exc:  # a Reachable must report failures, not raise them; still, say which
                checks = [PeerCheck("connect", cfg.kind, False, f"{type(exc).__name__}: {exc}")]
            out.extend(ConnectResult(block, c.check, c.peer, c.ok, c.detail, file, line) for c in checks)
    return out
