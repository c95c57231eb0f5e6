"""The plugin contract, version :data:`PLUGIN_API`: how a source, decoder, encoder, sink, projector or read-back
joins esb-bridge without the core importing it.

This is the one place the contract is written down (``docs/plugins.md`` is the short guide to it). It lives in
the ports layer so that adapters and translators need nothing of the core but ``bridge.ports`` (and
``bridge.canonical``); the registry that loads plugins (``bridge.plugins``) sits above them.

What a plugin provides
    A module exposes ONE list (or tuple) named ``PLUGINS`` of :class:`Plugin` objects, and the distribution
    names that list as an entry point in the group :data:`ENTRY_POINT_GROUP`
    (``[project.entry-points."esb_bridge.plugins"] mine = "my_pkg.plugins:PLUGINS"``). Each :class:`Plugin`
    is one ``kind`` of one :class:`PluginRole`: a pydantic config model (a :class:`KindConfig`: ``kind`` plus
    the plugin's own fields, nothing unknown) and a factory ``(config, PluginContext) -> object``. Build them
    with :func:`plugin` and a port token (:data:`SOURCE`, :data:`DECODER`, :data:`ENCODER`, :data:`SINK`,
    :data:`PROJECTOR`, :data:`READBACK`): the factory's return type is then checked by mypy against the port.
    A factory does no I/O (it may read files named by the config, such as a mapping); the object it builds
    opens its resources in ``__enter__`` (sources also in ``open``) and releases them in ``__exit__``
    (:class:`~bridge.ports.resource.Resource` writes both once). The object implements the role's protocol
    in :mod:`bridge.ports.protocols` and keeps its contract (what it may raise, when it is called).
    ``cli`` may add a ``click`` command group as ``esb-bridge <name>``. A plugin of the role ``command`` only
    adds its ``cli`` (the separately installed demo adds ``esb-bridge demo`` this way): it has no port, no
    config block can name it, and the core never calls its factory.

What the core guarantees
    - A config block reaches the factory only after the plugin's config model validated it; errors inside
      the block are reported with their YAML path, file and line, never with the offending value.
    - Relative paths are resolved with :meth:`PluginContext.resolve` against the config file's folder.
    - Every object a factory builds is checked against its role's port (:data:`PORTS`) before the core uses
      it; ``esb-bridge validate`` builds every block of a config, so a plugin that breaks the contract fails
      there, named by kind, role and entry point, not in the middle of a run.
    - Objects are entered before use and exited once; a source is polled from one thread; a sink may be
      called from several threads for different business keys (see each protocol's contract).

What ``PLUGIN_API`` promises
    ``"MAJOR.MINOR"``. Within one MAJOR the names exported here and by :mod:`bridge.ports` keep their
    meaning: fields of :class:`PluginContext` and :class:`Plugin` are only added (with defaults), protocol
    methods are not added to a port without a default, and a config valid for a plugin stays valid. A MINOR
    bump adds something a plugin may use; a plugin needing it checks ``PLUGIN_API`` itself. Anything not
    exported (``_``-names, ``bridge.runtime``, ``bridge.store``, ``bridge.plugins`` internals) may change.
    1.1 added the optional :class:`Preflight` check that ``esb-bridge validate`` calls on a built object;
    1.2 the optional :class:`Reachable` check of ``validate --connect`` and ``SourceLedger.relocate_batch``
    (a drop source says where it moved a file, so dead letters name the archived file).
    1.3 the optional :class:`~bridge.ports.BatchSink` capability of a sink (``max_batch``, ``deliver_batch``)
    and its contract suite ``bridge.testing.BatchSinkContract``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict

from bridge.ports.clock import Clock, SystemClock
from bridge.ports.errors import ConfigError
from bridge.ports.protocols import Decoder, Encoder, Projector, ReadBack, Sink, Source

if TYPE_CHECKING:
    import click

__all__ = [
    "DECODER",
    "ENCODER",
    "ENTRY_POINT_GROUP",
    "PLUGIN_API",
    "PORTS",
    "PROJECTOR",
    "READBACK",
    "SINK",
    "SOURCE",
    "KindConfig",
    "Plugin",
    "PluginContext",
    "PluginContractError",
    "PluginRole",
    "Port",
    "Preflight",
    "PreflightProblem",
    "plugin",
]

PLUGIN_API = "1.4"
"""The version of this contract (see the module docstring for what it promises)."""

ENTRY_POINT_GROUP = "esb_bridge.plugins"
"""The entry-point group every distribution registers its ``PLUGINS`` lists in."""


class PluginRole(StrEnum):
    """The port a plugin implements."""

    SOURCE = "source"
    DECODER = "decoder"
    ENCODER = "encoder"
    SINK = "sink"
    PROJECTOR = "projector"
    READBACK = "readback"
    COMMAND = "command"
    """Adds only its ``cli`` command (e.g. ``esb-bridge demo``); builds no object, no config block names it."""


class KindConfig(BaseModel):
    """Base of every plugin's config model: ``kind`` plus the plugin's own fields, nothing unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: str
    """Which plugin reads this block (one of the kinds registered for the block's role)."""


@dataclass(frozen=True)
class PreflightProblem:
    """What a :class:`Preflight` check found: the config ``field`` it concerns ("" for the whole block)."""

    field: str
    message: str
    error: bool = True
    """False: a warning (the run would start, but probably not do what was meant)."""


@runtime_checkable
class Preflight(Protocol):
    """Optional member of any built object: a read-only check of what it will need when it runs.

    ``esb-bridge validate`` calls it after building the object; ``run`` never does. It may look at the local
    file system (a drop folder exists and is readable, an output folder can be created) but must not
    create, change or open anything that has side effects, nor reach the network.
    """

    def preflight(self) -> list[PreflightProblem]: ...


@dataclass(frozen=True)
class PeerCheck:
    """One thing ``validate --connect`` tried against a peer: ``check`` (``sftp login``, ``wsdl``, ``token``),
    the ``peer`` it talked to, whether it worked and, when not, why (a sentence a person can act on)."""

    check: str
    peer: str
    ok: bool
    detail: str = ""


@runtime_checkable
class Reachable(Protocol):
    """Optional member of any built object that talks to a peer: reach it without sending a document.

    ``esb-bridge validate --connect`` calls it on the built (never entered) object; ``run`` never does. It may
    connect, authenticate, fetch a WSDL or a token, list a folder or open a channel, and must close what it
    opened; it must not deliver, publish, move or write anything. Each step is one :class:`PeerCheck`; a
    failed step ends the list (later steps depend on it). It returns failures, it does not raise them.
    """

    def connect_checks(self) -> list[PeerCheck]: ...


@dataclass(frozen=True)
class PluginContext:
    """What a factory may use to build its object: where relative paths start, time, and names.

    ``base_dir`` is the folder of the config file (relative paths in a config are relative to it);
    ``canonical`` is the interface's canonical type name; ``target`` a name for per-target limits.
    Factories do no I/O: they build objects whose ``__enter__`` opens resources.
    """

    base_dir: Path
    interface: str
    canonical: str
    clock: Clock = field(default_factory=SystemClock)
    target: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def resolve(self, path: str | Path) -> Path:
        """A config path made absolute against the config file's folder."""
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p)


class PluginContractError(ConfigError):
    """A plugin breaks this contract (not a Plugin, wrong config model, built object misses its port)."""


ConfigT = TypeVar("ConfigT", bound=KindConfig)
PortT = TypeVar("PortT")


@dataclass(frozen=True)
class Port(Generic[PortT]):
    """A role and its runtime-checkable protocol; ``members`` name what an object must have (for messages)."""

    role: PluginRole
    protocol: type[Any]
    members: tuple[str, ...]

    def missing(self, obj: object) -> list[str]:
        """The members ``obj`` lacks; empty when it satisfies the port."""
        if isinstance(obj, self.protocol):
            return []
        return [m for m in self.members if not hasattr(obj, m)] or list(self.members)


_CM = ("__enter__", "__exit__")
SOURCE: Port[Source] = Port(PluginRole.SOURCE, Source, ("open", "poll", "acknowledge", "fail", *_CM))
DECODER: Port[Decoder] = Port(PluginRole.DECODER, Decoder, ("decode",))
ENCODER: Port[Encoder] = Port(PluginRole.ENCODER, Encoder, ("encode",))
SINK: Port[Sink] = Port(PluginRole.SINK, Sink, ("deliver", "target", *_CM))
PROJECTOR: Port[Projector] = Port(PluginRole.PROJECTOR, Projector, ("project",))
READBACK: Port[ReadBack] = Port(PluginRole.READBACK, ReadBack, ("read_back",))

PORTS: Mapping[PluginRole, Port[Any]] = {p.role: p for p in (SOURCE, DECODER, ENCODER, SINK, PROJECTOR, READBACK)}
"""Every role's port: what the core checks each built object against."""


@dataclass(frozen=True)
class Plugin(Generic[ConfigT, PortT]):
    """One kind of one role: its config model and the factory that turns a validated config into an object.

    Prefer :func:`plugin`, which ties the factory's return type to the role's port for the type checker.
    ``cli`` is an optional ``click`` group added as ``esb-bridge <name>`` (e.g. ``sftp doctor``).
    """

    role: PluginRole
    kind: str
    config_model: type[ConfigT]
    factory: Callable[[ConfigT, PluginContext], PortT]
    cli: click.Command | None = None
    description: str = ""

    def build(self, config: KindConfig, context: PluginContext, *, origin: str = "") -> PortT:
        """The factory's object for ``config``, checked against the role's port.

        Raises :class:`PluginContractError` naming the plugin (and ``origin``, e.g. its entry point) when the
        config is not this plugin's model or the object misses a member of the port.
        """
        where = f" ({origin})" if origin else ""
        if self.role not in PORTS:
            raise PluginContractError(f"{self.role.value} plugin {self.kind!r}{where} builds nothing (a command)")
        if not isinstance(config, self.config_model):
            raise PluginContractError(
                f"{self.role.value} plugin {self.kind!r}{where} was given a {type(config).__name__}, "
                f"not its config model {self.config_model.__name__}"
            )
        obj = self.factory(config, context)
        missing = PORTS[self.role].missing(obj)
        if missing:
            raise PluginContractError(
                f"{self.role.value} plugin {self.kind!r}{where} built a {type(obj).__name__} that is not a "
                f"{PORTS[self.role].protocol.__name__}: missing {', '.join(missing)}"
            )
        return obj


def plugin(
    port: Port[PortT],
    kind: str,
    config_model: type[ConfigT],
    factory: Callable[[ConfigT, PluginContext], PortT],
    *,
    cli: click.Command | None = None,
    description: str = "",
) -> Plugin[ConfigT, PortT]:
    """A :class:`Plugin` for ``port``'s role whose factory the type checker checks against the port."""
    return Plugin(port.role, kind, config_model, factory, cli=cli, description=description)
