"""The simulator's HTTP surface (Starlette): the ``/v1`` API of ``openapi.yaml`` plus ``/_sim`` admin knobs."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.cloud.openapi import OpenApiSpec
from samples.cloud_sim.state import RESOURCES, FaultRule, LoggedRequest, SimError, SimState
from samples.cloud_sim.webhooks import WebhookSender

SPEC_PATH = Path(__file__).with_name("openapi.yaml")


def _error(exc: SimError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def create_app(state: SimState | None = None, sender: WebhookSender | None = None) -> Starlette:
    """Build the ASGI app around a state (shared with tests that start it in-process)."""
    state = state or SimState()
    sender = sender or WebhookSender()
    state.on_change = sender.publish
    spec = OpenApiSpec.load(SPEC_PATH)

    async def guarded(request: Request, handler: Any) -> Response:
        """Log, inject faults, check auth, run the handler: the path every /v1 request takes."""
        entry = LoggedRequest(
            request.method,
            request.url.path,
            request.url.query,
            time.monotonic(),
            idempotency_key=request.headers.get("idempotency-key"),
            correlation_id=request.headers.get("x-correlation-id"),
            traceparent=request.headers.get("traceparent"),
        )
        state.log(entry)
        faults = state.take_faults(request.method, request.url.path)
        for rule in faults:
            if rule.latency:
                await asyncio.sleep(rule.latency)
        for rule in faults:
            if rule.status:
                headers = {"retry-after": rule.retry_after} if rule.retry_after else {}
                entry.status = rule.status
                return JSONResponse(
                    {"error": {"code": "injected", "message": f"injected {rule.status}"}},
                    status_code=rule.status,
                    headers=headers,
                )
        if not state.authorized(request.headers.get("authorization"), request.headers.get("x-api-key")):
            entry.status = 401
            return JSONResponse(
                {"error": {"code": "unauthorized", "message": "missing or expired credentials"}},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        try:
            response: Response = await handler(request)
        except SimError as exc:
            response = _error(exc)
        try:
            for rule in faults:
                if rule.delay_response:
                    await asyncio.sleep(rule.delay_response)
        except asyncio.CancelledError:
            entry.status = 499  # the client went away before the answer (it timed out); the work is done
            raise
        entry.status = response.status_code
        return response

    async def _json_body(request: Request, operation: str) -> dict[str, Any]:
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise SimError(400, "bad_json", f"body is not JSON: {exc}") from exc
        found = spec.violations(spec.operation("post", operation), body)
        if found:
            field, message = found[0]
            raise SimError(422, "invalid", message, field)
        return body if isinstance(body, dict) else {}

    async def create(request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in RESOURCES:
            return JSONResponse({"error": {"code": "not_found"}}, status_code=404)

        async def run(req: Request) -> Response:
            body = await _json_body(req, f"/v1/{resource}")
            status, result, replayed = state.create(resource, body, req.headers.get("idempotency-key"))
            headers = {"idempotent-replayed": "true"} if replayed else {}
            return JSONResponse(result, status_code=status, headers=headers)

        return await guarded(request, run)

    async def bulk(request: Request) -> Response:
        resource = request.path_params["resource"]

        async def run(req: Request) -> Response:
            payload = json.loads(await req.body())
            op = spec.operation("post", f"/v1/{resource}")
            results: list[dict[str, Any]] = []
            for index, item in enumerate(payload.get("items", [])):
                key = item.get("idempotency_key")
                found = spec.violations(op, item.get("body"))
                if found:
                    results.append(
                        {
                            "index": index,
                            "idempotency_key": key,
                            "status": 422,
                            "body": {"error": {"code": "invalid", "field": found[0][0], "message": found[0][1]}},
                        }
                    )
                    continue
                try:
                    status, result, _ = state.create(resource, item["body"], key)
                except SimError as exc:
                    status, result = exc.status, exc.body()
                results.append({"index": index, "idempotency_key": key, "status": status, "body": result})
            return JSONResponse({"results": results})

        return await guarded(request, run)

    async def ingest(request: Request) -> Response:
        async def run(req: Request) -> Response:
            try:
                body = json.loads(await req.body())
            except ValueError as exc:
                raise SimError(400, "bad_json", f"body is not JSON: {exc}") from exc
            status, entry, replayed = state.ingest(
                req.path_params["collection"], req.path_params["key"], body, req.headers.get("idempotency-key")
            )
            headers = {"idempotent-replayed": "true"} if replayed else {}
            return JSONResponse(entry, status_code=status, headers=headers)

        return await guarded(request, run)

    async def get_one(request: Request) -> Response:
        async def run(req: Request) -> Response:
            record = state.find(req.path_params["resource"], req.path_params["key"])
            if record is None:
                raise SimError(404, "not_found", "no such record")
            return JSONResponse(record)

        return await guarded(request, run)

    async def list_changed(request: Request) -> Response:
        async def run(req: Request) -> Response:
            q = req.query_params
            rows = state.changed_since(req.path_params["resource"], q.get("updated_since"), q.get("external_id"))
            limit = min(int(q.get("limit") or q.get("per_page") or 50), state.config.page_limit_max)
            base = f"{req.url.scheme}://{req.url.netloc}{req.url.path}"
            keep = {k: v for k, v in q.items() if k in ("updated_since", "external_id", "limit", "per_page")}
            body: dict[str, Any]
            if "page" in q:
                page = int(q["page"])
                chunk = rows[(page - 1) * limit : page * limit]
                more = page * limit < len(rows)
                body = {"data": chunk, "page": page, "per_page": limit, "has_more": more}
                nxt = {**keep, "page": str(page + 1)}
            elif "offset" in q:
                offset = int(q["offset"])
                chunk = rows[offset : offset + limit]
                more = offset + limit < len(rows)
                body = {"data": chunk, "offset": offset, "limit": limit, "total": len(rows), "has_more": more}
                nxt = {**keep, "offset": str(offset + limit)}
            else:
                if q.get("cursor"):
                    after = tuple(SimState.decode_cursor(q["cursor"]))
                    rows = [r for r in rows if (r["updated_at"], r["id"]) > after]
                chunk = rows[:limit]
                more = len(rows) > limit
                token = SimState.encode_cursor(chunk[-1]) if more and chunk else None
                body = {"data": chunk, "next_cursor": token, "has_more": more}
                nxt = {**keep, "cursor": token or ""}
            headers = {"link": f'<{base}?{urlencode(nxt)}>; rel="next"'} if more else {}
            return JSONResponse(body, headers=headers)

        return await guarded(request, run)

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        client_id, client_secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        try:
            value, ttl = state.issue_token(client_id, client_secret)
        except SimError:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse({"access_token": value, "token_type": "Bearer", "expires_in": int(ttl)})

    async def receive_event(request: Request) -> Response:
        async def run(req: Request) -> Response:
            raw = await req.body()
            ctype = req.headers.get("content-type", "")
            if ctype.startswith("application/cloudevents+json"):
                event = json.loads(raw)
                mode = "structured"
            else:
                event = {k[3:]: v for k, v in req.headers.items() if k.startswith("ce-")}
                event.update(datacontenttype=ctype, data=raw.decode("utf-8", "replace"))
                mode = "binary"
            with state.lock:
                state.events_received.append({"mode": mode, **event})
            return JSONResponse({"accepted": event.get("id")}, status_code=202)

        return await guarded(request, run)

    # ------------------------------------------------------------------ admin

    async def admin(request: Request) -> Response:
        action = request.path_params["action"]
        body: dict[str, Any] = json.loads(await request.body() or b"{}") if request.method == "POST" else {}
        if action == "reset":
            state.reset()
            sender.reset()
        elif action == "config":
            for key, value in body.items():
                setattr(state.config, key, value)
        elif action == "faults":
            state.clear_faults() if request.method == "DELETE" else state.add_fault(FaultRule(**body))
        elif action == "revoke-tokens":
            state.revoke_tokens()
        elif action == "webhooks":
            if request.method == "POST":
                sender.subscribe(body["url"], body["secret"], tuple(body.get("types", ())))
            return JSONResponse([a.__dict__ for a in sender.attempts])
        elif action == "resend":
            sender.resend(
                body["event_id"], tamper=bool(body.get("tamper")), timestamp_offset=int(body.get("timestamp_offset", 0))
            )
        elif action == "touch":
            return JSONResponse(state.touch(body["resource"], body["key"], **body.get("changes", {})))
        elif action == "requests":
            return JSONResponse([r.__dict__ for r in state.requests])
        elif action != "state":
            return JSONResponse({"error": "unknown admin action"}, status_code=404)
        with state.lock:
            counts = {r: len(t) for r, t in state.records.items()}
            return JSONResponse(
                {
                    "counts": counts,
                    "creates": state.creates,
                    "tokens_issued": state.tokens_issued,
                    "events_received": state.events_received,
                }
            )

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        sender.start()
        try:
            yield
        finally:
            sender.stop()

    app = Starlette(
        routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/v1/events", receive_event, methods=["POST"]),
            Route("/v1/ingest/{collection}/{key:path}", ingest, methods=["POST"]),
            Route("/v1/{resource}/bulk", bulk, methods=["POST"]),
            Route("/v1/{resource}", create, methods=["POST"]),
            Route("/v1/{resource}", list_changed, methods=["GET"]),
            Route("/v1/{resource}/{key:path}", get_one, methods=["GET"]),
            Route("/_sim/{action}", admin, methods=["GET", "POST", "DELETE"]),
        ],
        lifespan=lifespan,
    )
    app.state.sim = state
    app.state.sender = sender
    return app
