"""What the API's routes work on: the loaded config, the ledger, the authenticator and, inside ``run``, the
runner (whose schedulers ``/readyz`` checks and which replays record dead letters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from bridge.config.loaded import LoadedConfig
from bridge.store.ledger import Ledger
from bridge.web.auth import Authenticator

__all__ = ["ApiContext", "ctx_of"]


@dataclass
class ApiContext:
    loaded: LoadedConfig
    ledger: Ledger
    auth: Authenticator
    #: the ``bridge.runtime.runner.Runner`` when the API runs inside ``esb-bridge run``, else None
    runner: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def ctx_of(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx
