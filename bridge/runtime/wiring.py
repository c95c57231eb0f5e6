"""Wiring: the one place that turns a validated config into objects, through the plugin registry.

That includes what the shadow comparison uses (projectors, read-backs, observation sources): they are built
here with the paths and handed to :class:`cutover.comparator.Comparator` by :func:`compared_interfaces`.

The core never imports an adapter; it asks the registry for the plugin of each block's ``kind`` and calls
its factory. Factories do no I/O, so wiring a config (``validate``, ``status``) never touches a peer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bridge.config.loader import LoadedConfig
from bridge.config.model import InterfaceConfig, Limits, PathConfig, Reference, RetryPolicy, XrefRule
from bridge.plugins import registry
from bridge.ports import Clock, Decoder, Encoder, PathName, PluginContext, PluginRole, Projector, ReadBack, Sink, Source
from cutover.comparator import ComparedInterface

__all__ = [
    "InterfaceRuntime",
    "PathRuntime",
    "RunScope",
    "build_interfaces",
    "compared_interfaces",
    "target_name",
]


def target_name(interface: str, path: str, shadow: bool = False) -> str:
    """Deliveries are pooled and limited per target: one target per interface path (and its shadow sink)."""
    return f"{interface}:{path}{':shadow' if shadow else ''}"


@dataclass
class PathRuntime:
    name: PathName
    config: PathConfig
    encoder: Encoder | None
    sink: Sink | None
    shadow_sink: Sink | None
    retry: RetryPolicy
    limits: Limits
    references: list[Reference]
    xref: XrefRule | None
    system: str | None
    #: for the shadow comparison (built only when the interface has both paths)
    projector: Projector | None = None
    readback: ReadBack | None = None
    observe: Source | None = None

    def sink_for(self, shadow: bool) -> Sink | None:
        return self.shadow_sink if shadow and self.shadow_sink is not None else self.sink


@dataclass
class InterfaceRuntime:
    name: str
    config: InterfaceConfig
    canonical: str
    source: Source
    decoder: Decoder
    paths: dict[PathName, PathRuntime] = field(default_factory=dict)

    def targets(self) -> dict[str, tuple[PathRuntime, bool]]:
        """target name -> (path, is the shadow sink)."""
        out: dict[str, tuple[PathRuntime, bool]] = {}
        for p in self.paths.values():
            if p.sink is not None:
                out[target_name(self.name, p.name.value)] = (p, False)
            if p.shadow_sink is not None:
                out[target_name(self.name, p.name.value, True)] = (p, True)
        return out


class RunScope(Protocol):
    """Narrows what a :class:`~bridge.runtime.runner.Runner` runs, between wiring and opening anything.

    A backtest (:mod:`bridge.runtime.backtest`) swaps the source for its archive, the legacy path for the
    archived outputs and the live sinks for ones that send nothing. ``adapt`` is called on the objects wiring
    built, before any of them is opened; ``adapt_compared`` on what the comparator is handed.
    """

    def adapt(self, interfaces: dict[str, InterfaceRuntime]) -> None: ...

    def adapt_compared(self, compared: dict[str, ComparedInterface]) -> None: ...


def _build(loaded: LoadedConfig, name: str, where: tuple[str, ...], role: PluginRole, ctx: PluginContext) -> Any:
    cfg = loaded.plugin(name, where)
    if cfg is None:
        return None
    return registry.build(role, cfg, ctx)


def build_interfaces(loaded: LoadedConfig, clock: Clock, only: list[str] | None = None) -> dict[str, InterfaceRuntime]:
    """Objects for every interface (or ``only`` those); nothing is opened yet."""
    out: dict[str, InterfaceRuntime] = {}
    for name, iface in loaded.config.interfaces.items():
        if only and name not in only:
            continue
        base: Path = loaded.base_dir

        def ctx(
            target: str = "", _name: str = name, _iface: InterfaceConfig = iface, _base: Path = base
        ) -> PluginContext:
            return PluginContext(
                base_dir=_base, interface=_name, canonical=_iface.canonical, clock=clock, target=target
            )

        rt = InterfaceRuntime(
            name=name,
            config=iface,
            canonical=iface.canonical,
            source=_build(loaded, name, ("source",), PluginRole.SOURCE, ctx()),
            decoder=_build(loaded, name, ("decoder",), PluginRole.DECODER, ctx()),
        )
        compared = iface.legacy is not None and iface.cloud is not None
        for pname in (PathName.LEGACY, PathName.CLOUD):
            pcfg: PathConfig | None = getattr(iface, pname.value)
            if pcfg is None:
                continue
            key = pname.value
            observed = compared and pname is PathName.LEGACY and pcfg.kind in ("forward", "observe")
            rt.paths[pname] = PathRuntime(
                name=pname,
                config=pcfg,
                encoder=_build(loaded, name, (key, "encoder"), PluginRole.ENCODER, ctx()),
                sink=_build(loaded, name, (key, "sink"), PluginRole.SINK, ctx(target_name(name, key))),
                shadow_sink=_build(
                    loaded, name, (key, "shadow_sink"), PluginRole.SINK, ctx(target_name(name, key, True))
                ),
                retry=pcfg.retry or loaded.config.retry,
                limits=pcfg.limits,
                references=list(pcfg.references),
                xref=pcfg.xref,
                system=pcfg.system,
                projector=_build(loaded, name, (key, "project"), PluginRole.PROJECTOR, ctx()) if compared else None,
                readback=_build(loaded, name, (key, "readback"), PluginRole.READBACK, ctx()) if compared else None,
                observe=_build(loaded, name, (key, "observe"), PluginRole.SOURCE, ctx()) if observed else None,
            )
        out[name] = rt
    return out


def compared_interfaces(interfaces: Mapping[str, InterfaceRuntime]) -> dict[str, ComparedInterface]:
    """The interfaces that run both paths, with what their comparison needs (for the Comparator)."""
    out: dict[str, ComparedInterface] = {}
    for name, rt in interfaces.items():
        if PathName.LEGACY not in rt.paths or PathName.CLOUD not in rt.paths:
            continue
        paths = {p.value: rt.paths[p] for p in (PathName.LEGACY, PathName.CLOUD)}
        out[name] = ComparedInterface(
            name,
            rt.config,
            {k: p.projector for k, p in paths.items()},
            {k: p.readback for k, p in paths.items()},
            paths["legacy"].observe,
        )
    return out
