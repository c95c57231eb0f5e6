"""Everything ``esb-bridge validate`` checks after the schema, without side effects.

:func:`check_config` gathers the plugin check (every block built, files it names loaded, folders looked at:
:mod:`bridge.config.plugin_check`) and the semantic checks here, which find configs that run but not as
meant: an interface whose two paths are compared without a projection on both (nothing is compared), and
a drop read by several interfaces while one of them moves or deletes its files. Nothing is opened, created
or sent; the ledger is not touched (the CLI adds the flag-drift warnings, which need it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bridge.config.findings import Finding
from bridge.config.loaded import LoadedConfig
from bridge.config.plugin_check import check_plugins
from bridge.config.protection import protection_warnings

__all__ = ["check_config", "projection_findings", "protection_findings", "shared_drop_findings"]

#: Modes in which both paths run and their outcomes are compared.
_COMPARED_MODES = ("legacy_primary", "dual_write", "cloud_primary")


def check_config(loaded: LoadedConfig) -> list[Finding]:
    """Every finding of the plugin check and the semantic checks, errors first, each located."""
    found = [
        *check_plugins(loaded).findings,
        *projection_findings(loaded),
        *shared_drop_findings(loaded),
        *protection_findings(loaded),
    ]
    return sorted(found, key=lambda f: not f.is_error)


def protection_findings(loaded: LoadedConfig) -> list[Finding]:
    """Sensitive interfaces that would be stored in clear or hashed unkeyed (no key in the environment); an
    error under ``data_protection.require_key`` (the run would refuse to start)."""
    severity: Any = "error" if loaded.config.data_protection.require_key else "warning"
    file, line = loaded.line_of(("data_protection",))
    return [Finding(severity, "data_protection", w, file, line) for w in protection_warnings(loaded.config)]


def projection_findings(loaded: LoadedConfig) -> list[Finding]:
    """Interfaces whose mode compares the paths while a path has no ``project:`` (nothing will be compared)."""
    out = []
    for name, iface in loaded.config.interfaces.items():
        mode = iface.cutover.mode
        if mode not in _COMPARED_MODES or iface.legacy is None or iface.cloud is None:
            continue
        missing = [p for p in ("legacy", "cloud") if getattr(iface, p).project is None]
        if not missing:
            continue
        file, line = loaded.line_of(("interfaces", name, "cutover", "mode"))
        if line is None:
            file, line = loaded.line_of(("interfaces", name))
        which = "legacy and cloud paths have" if len(missing) == 2 else f"{missing[0]} path has"
        out.append(
            Finding(
                "warning",
                f"interfaces.{name}",
                f"interfaces.{name}: mode {mode} compares the two paths, but the {which} no projection: "
                "nothing will be compared: add `project:` to both paths",
                file,
                line,
            )
        )
    return out


def _drop_key(cfg: Any) -> tuple[str, str, str] | None:
    path = getattr(cfg, "path", None)
    if cfg.kind not in ("folder", "sftp") or not isinstance(path, str):
        return None
    host = str(getattr(cfg, "host", "") or "")
    return (cfg.kind, host, path.rstrip("/"))


def shared_drop_findings(loaded: LoadedConfig) -> list[Finding]:
    """A drop read by several interfaces where one moves or deletes files: the others may never see them."""
    readers: dict[tuple[str, str, str], list[tuple[str, tuple[Any, ...], Any]]] = defaultdict(list)
    for (name, where), cfg in loaded.plugins.items():
        if where[-1] not in ("source", "observe"):
            continue
        key = _drop_key(cfg)
        if key is not None:
            readers[key].append((name, where, cfg))
    out = []
    for (_, _, path), users in sorted(readers.items()):
        if len(users) < 2:
            continue
        names = sorted({u[0] for u in users})
        for name, where, cfg in users:
            after = getattr(cfg, "after", None)
            action = getattr(after, "effective_action", "leave")
            if action == "leave":
                continue
            loc = ("interfaces", name, *where)
            file, line = loaded.line_of(loc)
            block = ".".join(map(str, loc))
            out.append(
                Finding(
                    "warning",
                    block,
                    f"{block}: drop {path} is also read by {', '.join(n for n in names if n != name) or name}, "
                    f"but this block's after: {{action: {action}}} takes files away from the others: set "
                    "`shared: true` and `after: {action: leave}` on every reader but one",
                    file,
                    line,
                )
            )
    return out
