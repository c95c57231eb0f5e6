"""A cloud ERP/billing API simulator for tests and the demo (an ASGI app served by uvicorn).

It behaves like a real cloud API would towards the bridge: its own OpenAPI 3 spec (``openapi.yaml``), request
bodies validated against it (422), ``Idempotency-Key`` honoured (a repeat returns the first result and creates
nothing, or 409 in ``conflict`` mode), totals and tax computed its own way (per-invoice rounding, half-even),
signed webhooks for every change (Standard Webhooks: HMAC-SHA256), lists paged by cursor, page, offset or
``Link`` header and filtered by ``updated_since``, OAuth2 client credentials / API keys, and fault knobs
(latency, 429 + Retry-After, 500, slow responses for client timeouts). Run it with
``python -m samples.cloud_sim --port 8080``; admin endpoints live under ``/_sim/``.
"""

from samples.cloud_sim.app import create_app
from samples.cloud_sim.server import SimServer
from samples.cloud_sim.state import FaultRule, SimState

__all__ = ["FaultRule", "SimServer", "SimState", "create_app"]
