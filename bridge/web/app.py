"""The admin HTTP API as one ASGI app (FastAPI): OpenAPI at ``/openapi.json``, health, metrics, ``/api/v1``.

``create_app`` only assembles; it does no I/O. Serving (uvicorn, TLS, a thread next to the bridge) is
:mod:`bridge.web.server`. Routes and the least role each needs:

* public: ``/healthz`` (the process answers), ``/readyz`` (ledger reachable, migrations current, and inside
  ``run`` the schedulers running; 503 otherwise), ``/openapi.json``;
* viewer: ``/metrics`` and every ``GET /api/v1/...``;
* operator: dead-letter replay, discard, assign; migration lead: cutover set and rollback;
* the dashboard under ``/ui`` (:mod:`bridge.web.ui`): the same roles, through a login session.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bridge.store.engine import migrations_current
from bridge.web.auth import Identity, Role, require
from bridge.web.context import ApiContext, ctx_of
from bridge.web.metrics import LedgerCollector, render_metrics
from bridge.web.routes_read import router as read_router
from bridge.web.routes_write import router as write_router
from bridge.web.snapshot import LedgerSnapshot
from bridge.web.ui import install as install_dashboard

__all__ = ["create_app"]


def create_app(ctx: ApiContext, *, metrics_cache: float = 5.0) -> FastAPI:
    """The API over ``ctx`` (no I/O until a request comes)."""
    app = FastAPI(
        title="esb-bridge admin API",
        version="1",
        description="Interfaces, messages and their traces, dead letters, cutover flags, reports, metrics, health.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.snapshot = LedgerSnapshot(ctx.ledger.engine, ctx.ledger.clock, ttl=metrics_cache)
    app.state.collector = LedgerCollector(ctx, app.state.snapshot)
    app.include_router(read_router)
    app.include_router(write_router)
    install_dashboard(app, cache=metrics_cache)

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Ledger reachable, migrations current, schedulers running (inside run)")
    def readyz(request: Request) -> JSONResponse:
        checks = _readiness(ctx_of(request))
        return JSONResponse(
            {"ready": all(checks.values()), "checks": checks}, status_code=200 if all(checks.values()) else 503
        )

    @app.get("/metrics", summary="Prometheus metrics (viewer)", response_class=Response)
    def metrics(request: Request, who: Annotated[Identity, Depends(require(Role.VIEWER))]) -> Response:
        return Response(render_metrics(request.app.state.collector), media_type="text/plain; version=0.0.4")

    return app


def _readiness(ctx: ApiContext) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    try:
        checks["ledger"] = True
        checks["migrations"] = migrations_current(ctx.ledger.engine)
    except Exception:  # unreachable ledger: not ready, and nothing of the error leaks to the caller
        checks["ledger"] = False
        checks["migrations"] = False
    if ctx.runner is not None:
        scheduler: Any = getattr(ctx.runner, "scheduler", None)
        checks["schedulers"] = bool(scheduler is not None and scheduler.running)
    return checks
