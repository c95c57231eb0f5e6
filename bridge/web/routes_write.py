"""Write routes: dead letters (operator: replay, discard, assign), cutover flags and accepted noise (migration lead).

The writes themselves are :mod:`bridge.web.actions`, shared with the dashboard's forms.

Each write is audited under the caller's authenticated identity, in the hash-chained audit log: dead-letter
replays, discards and accepted noise by the store (``dlq.replay``, ``dlq.discard``, ``shadow.accept_noise``),
assignments and flag changes here (``dlq.assign``, ``cutover.<action>``; the flag's own history keeps the
identity as its actor too). Accepting noise is the migration lead's: it changes what the readiness gate counts.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bridge.config.types import Mode
from bridge.web import actions
from bridge.web.actions import ActionError, FlagRequest
from bridge.web.auth import Identity, Role, require
from bridge.web.context import ApiContext, ctx_of
from cutover.audit import CutoverError
from cutover.changes import flag_overview
from cutover.noise_rules import BadNoiseRule, accept_noise

__all__ = ["router"]

router = APIRouter(prefix="/api/v1")
Viewer = Annotated[Identity, Depends(require(Role.VIEWER))]
Operator = Annotated[Identity, Depends(require(Role.OPERATOR))]
Lead = Annotated[Identity, Depends(require(Role.MIGRATION_LEAD))]


class ReplayBody(BaseModel):
    force: bool = Field(False, description="replay although a newer version of the key was delivered since")
    reason: str = Field("", description="why (needed with force; audited)")


class DiscardBody(BaseModel):
    reason: str = Field(min_length=1, description="why the dead letter is discarded (audited)")


class AssignBody(BaseModel):
    owner: str | None = Field(None, max_length=100, description="who owns the failed transaction (null clears)")


class FlagChange(BaseModel):
    mode: Mode | None = Field(None, description="the new cutover mode")
    percent: float | None = Field(None, ge=0, le=100, description="cloud_primary rollout percentage")
    rules: tuple[str, ...] = Field((), description="rollout attribute rules, e.g. 'region in [EU]'")
    clear_rollout: bool = Field(False, description="remove the rollout")
    legacy_feed: bool | None = Field(None, description="cloud_primary: keep feeding the legacy target")
    shadow: Literal["sandbox", "dry_run", "live"] | None = Field(None, description="the shadow mode")
    reason: str = Field("", description="why (needed with force)")
    ticket: str | None = Field(None, description="change ticket id")
    force: bool = Field(False, description="promote although the readiness gate is closed (needs a reason)")


class NoiseAcceptance(BaseModel):
    field: str = Field(min_length=1, max_length=500, description="compare path, e.g. updated_at or lines.*.id")
    owner: str = Field(min_length=1, max_length=100, description="who owns the decision")
    reason: str = Field(min_length=1, description="why the field's differences are noise (audited)")
    expires: date = Field(description="last day the rule holds (inclusive)")


class Rollback(BaseModel):
    reason: str = Field("", description="why")
    ticket: str | None = Field(None, description="change ticket id")


def _http(exc: ActionError) -> HTTPException:
    return HTTPException(exc.status, exc.detail)


@router.post("/dead-letters/{dl_id}/replay", summary="Replay a dead letter with the current config (operator)")
def replay(dl_id: int, body: ReplayBody, request: Request, who: Operator) -> dict[str, Any]:
    try:
        return actions.replay_dead_letter(ctx_of(request), dl_id, who, force=body.force, reason=body.reason)
    except ActionError as exc:
        raise _http(exc) from exc


@router.post("/dead-letters/{dl_id}/discard", summary="Discard a dead letter for good (operator)")
def discard_dead_letter(dl_id: int, body: DiscardBody, request: Request, who: Operator) -> dict[str, Any]:
    try:
        return actions.discard_dead_letter(ctx_of(request), dl_id, who, body.reason)
    except ActionError as exc:
        raise _http(exc) from exc


@router.post("/dead-letters/{dl_id}/assign", summary="Name who owns a failed transaction (operator)")
def assign(dl_id: int, body: AssignBody, request: Request, who: Operator) -> dict[str, Any]:
    try:
        return actions.assign_dead_letter(ctx_of(request), dl_id, who, body.owner)
    except ActionError as exc:
        raise _http(exc) from exc


# ------------------------------------------------------------------------------------------------ cutover


@router.get("/cutover", summary="The current cutover flag of every interface")
def flags(request: Request, who: Viewer) -> list[dict[str, Any]]:
    return flag_overview(ctx_of(request).ledger)


@router.get("/cutover/{interface}/history", summary="Every flag change of an interface, newest first")
def history(interface: str, request: Request, who: Viewer) -> list[dict[str, Any]]:
    try:
        return [e.public() for e in actions.cutover_of(ctx_of(request), interface).history(interface)]
    except ActionError as exc:
        raise _http(exc) from exc


@router.get("/cutover/{interface}/readiness", summary="Whether the interface may be promoted, with the gate's figures")
def readiness(interface: str, request: Request, who: Viewer) -> dict[str, Any]:
    try:
        return actions.cutover_of(ctx_of(request), interface).readiness(interface).to_dict()
    except ActionError as exc:
        raise _http(exc) from exc
    except CutoverError as exc:
        raise HTTPException(409, str(exc)) from exc


@router.post(
    "/cutover/{interface}",
    summary="Change an interface's flag; promotions are gated (migration lead)",
    response_model=None,
)
def set_flag(interface: str, body: FlagChange, request: Request, who: Lead) -> dict[str, Any] | JSONResponse:
    req = FlagRequest(
        mode=body.mode,
        percent=body.percent,
        rules=body.rules,
        clear_rollout=body.clear_rollout,
        legacy_feed=body.legacy_feed,
        shadow=body.shadow,
        reason=body.reason,
        ticket=body.ticket,
        force=body.force,
    )
    try:
        return actions.change_flag(ctx_of(request), interface, req, who)
    except ActionError as exc:
        if exc.readiness is not None:
            return JSONResponse({"ok": False, "detail": exc.detail, "readiness": exc.readiness}, status_code=409)
        raise _http(exc) from exc


@router.post(
    "/cutover/{interface}/rollback", summary="Restore the flag in force before the last promotion (migration lead)"
)
def rollback(interface: str, body: Rollback, request: Request, who: Lead) -> dict[str, Any]:
    try:
        return actions.rollback_flag(ctx_of(request), interface, who, reason=body.reason, ticket=body.ticket)
    except ActionError as exc:
        raise _http(exc) from exc


# ------------------------------------------------------------------------------------------------ noise


def _interface(ctx: ApiContext, interface: str) -> None:
    if interface not in ctx.loaded.config.interfaces:
        raise HTTPException(404, f"no interface {interface!r}")


@router.get("/shadow/{interface}/noise-rules", summary="The accepted-noise rules of an interface (newest per field)")
def noise_rules(interface: str, request: Request, who: Viewer) -> list[dict[str, Any]]:
    ctx = ctx_of(request)
    _interface(ctx, interface)
    today = ctx.ledger.clock.now().date()
    return [{**r.to_dict(), "expired": r.expires < today} for r in ctx.ledger.noise_rules(interface)]


@router.post(
    "/shadow/{interface}/noise-rules",
    summary="Accept a field as noise until an expiry: counted as an accepted difference (migration lead)",
)
def accept_noise_rule(interface: str, body: NoiseAcceptance, request: Request, who: Lead) -> dict[str, Any]:
    ctx = ctx_of(request)
    _interface(ctx, interface)
    try:
        row = accept_noise(
            ctx.ledger,
            interface,
            body.field,
            owner=body.owner,
            reason=body.reason,
            expires=body.expires,
            actor=who.name,
        )
    except BadNoiseRule as exc:
        raise HTTPException(422, str(exc)) from exc
    return row.to_dict()
