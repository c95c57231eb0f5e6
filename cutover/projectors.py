"""``canonical-json`` projector: a target's canonical JSON bytes -> the interface's canonical record.

For paths whose target speaks the bridge's canonical JSON (the ``json`` encoder's output, a file drop, an
old ESB writing canonical documents). Validated in ``observed`` mode, so a business-rule violation in the
target's data becomes a note on the projection (a diff note), not an error. Pure. Registered through the
entry point ``canonical-json-projector``.
"""

from __future__ import annotations

from typing import Any, Literal

from bridge.canonical import model_for, validate_observed
from bridge.ports import KindConfig, Plugin, PluginContext, Record
from bridge.ports.plugins import PROJECTOR, plugin

__all__ = ["PLUGINS", "CanonicalJsonProjector", "CanonicalJsonProjectorConfig"]


class CanonicalJsonProjectorConfig(KindConfig):
    kind: Literal["canonical-json"]
    """Selects this plugin: ``canonical-json``."""


class CanonicalJsonProjector:
    def __init__(self, config: CanonicalJsonProjectorConfig, context: PluginContext) -> None:
        self.model = model_for(context.canonical)

    def project(self, body: bytes, media_type: str | None) -> Record:
        return validate_observed(self.model, body)


PLUGINS: tuple[Plugin[Any, Any], ...] = (
    plugin(
        PROJECTOR,
        "canonical-json",
        CanonicalJsonProjectorConfig,
        CanonicalJsonProjector,
        description="canonical JSON bytes -> canonical record (observed mode)",
    ),
)
