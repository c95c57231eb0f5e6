"""The migration dashboard: server-rendered pages under ``/ui`` in the admin API's app, behind its roles.

Pages (:mod:`~bridge.web.ui.pages`) read what the API's read routes read; forms (:mod:`~bridge.web.ui.forms`)
call the API's write functions (:mod:`bridge.web.actions`). Login is a signed session cookie with a CSRF
token (:mod:`~bridge.web.ui.session`), from an API token or, when an issuer is configured, OIDC.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from bridge.web.ui.figures import GATE_INTERVAL, ActivityCache, GateCache
from bridge.web.ui.forms import router as forms_router
from bridge.web.ui.guard import LoginRequired, PageRefused, login_redirect, refused
from bridge.web.ui.oidc import OidcLogin
from bridge.web.ui.oidc import router as oidc_router
from bridge.web.ui.pages import router as pages_router
from bridge.web.ui.session import SessionKeeper

__all__ = ["install"]


def install(app: FastAPI, *, cache: float) -> None:
    """Mount the dashboard on ``app``; recent activity is reused for ``cache`` seconds (as the counts are)."""
    app.state.sessions = SessionKeeper()
    app.state.gates = GateCache(max(cache, GATE_INTERVAL))
    app.state.activity = ActivityCache(cache)
    api = app.state.ctx.loaded.config.api
    oidc = api.oidc if api is not None else None
    app.state.oidc_login = OidcLogin(oidc) if oidc is not None and oidc.client_id else None
    app.include_router(pages_router)
    app.include_router(forms_router)
    app.include_router(oidc_router)
    handlers: dict[Any, Any] = {LoginRequired: login_redirect, PageRefused: refused}
    for exc, handler in handlers.items():
        app.add_exception_handler(exc, handler)
