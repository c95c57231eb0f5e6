"""The admin writes, once: dead-letter replay, discard, assign; cutover flag change and rollback.

The JSON routes (:mod:`bridge.web.routes_write`) and the dashboard's forms (:mod:`bridge.web.ui.forms`) both call
these, so a write from the browser is refused, performed and audited exactly as the same write through the API:
under the caller's authenticated identity, in the hash-chained audit log. A refusal is an :class:`ActionError`
carrying the HTTP status the API answers with (and, for a closed gate, the readiness evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.ports import ConfigError
from bridge.store.dlq import DeadLetterNotFound, StaleReplay, discard, load_open, replay_delivery
from bridge.store.records import DeadLetterKind
from bridge.web.auth import Identity
from bridge.web.context import ApiContext
from cutover.audit import Cutover, CutoverError, GateClosed
from cutover.changes import BadChange, flag_changes
from cutover.flags import FlagStore

__all__ = [
    "ActionError",
    "FlagRequest",
    "assign_dead_letter",
    "change_flag",
    "cutover_of",
    "discard_dead_letter",
    "replay_dead_letter",
    "rollback_flag",
]


class ActionError(Exception):
    """A write refused: ``status`` is the HTTP status (404 unknown, 409 conflict, 422 bad input)."""

    def __init__(self, status: int, detail: str, readiness: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        #: a promotion refused by the readiness gate: the gate's figures and reasons
        self.readiness = readiness


def _open_dead_letter(ctx: ApiContext, dl_id: int) -> dict[str, Any]:
    try:
        return load_open(ctx.ledger, dl_id)
    except DeadLetterNotFound as exc:
        raise ActionError(404 if "does not exist" in str(exc) else 409, str(exc)) from exc


def replay_dead_letter(
    ctx: ApiContext, dl_id: int, who: Identity, *, force: bool = False, reason: str = ""
) -> dict[str, Any]:
    """Replay an open dead letter with the current config (a record dead letter only inside ``run``)."""
    dl = _open_dead_letter(ctx, dl_id)
    try:
        if ctx.runner is not None:
            from bridge.runtime.replay import replay as runtime_replay

            result: dict[str, Any] = runtime_replay(ctx.runner, dl_id, who.name, force=force, reason=reason)
            return result
        if dl["kind"] != DeadLetterKind.DELIVERY:
            raise ActionError(
                409,
                f"a {dl['kind']} dead letter is re-decoded by the bridge: replay it through the "
                "API of `esb-bridge run` or with `esb-bridge dlq replay`",
            )
        replay_delivery(ctx.ledger, dl_id, who.name, force=force, reason=reason)
    except StaleReplay as exc:
        raise ActionError(409, str(exc)) from exc
    except ConfigError as exc:
        raise ActionError(422, str(exc)) from exc
    return {"id": dl_id, "kind": dl["kind"], "message_id": dl["message_id"], "result": "queued"}


def discard_dead_letter(ctx: ApiContext, dl_id: int, who: Identity, reason: str) -> dict[str, Any]:
    """Discard an open dead letter for good (a reason is needed; audited by the store)."""
    _open_dead_letter(ctx, dl_id)
    if not reason.strip():
        raise ActionError(422, "a discard needs a reason")
    try:
        discard(ctx.ledger, dl_id, who.name, reason)
    except ConfigError as exc:
        raise ActionError(422, str(exc)) from exc
    return {"id": dl_id, "result": "discarded"}


def assign_dead_letter(ctx: ApiContext, dl_id: int, who: Identity, owner: str | None) -> dict[str, Any]:
    """Name who owns a failed transaction (None or blank clears it), audited as ``dlq.assign``."""
    owner = owner.strip() if owner and owner.strip() else None
    if owner is not None and len(owner) > 100:
        raise ActionError(422, "an owner has at most 100 characters")
    if not ctx.ledger.assign_dead_letter(dl_id, owner):
        raise ActionError(404, f"dead letter {dl_id} does not exist")
    ctx.ledger.audit(who.name, "dlq.assign", f"dead_letter:{dl_id}", detail={"owner": owner})
    return {"id": dl_id, "assigned_to": owner}


def cutover_of(ctx: ApiContext, interface: str) -> Cutover:
    """The cutover operations for a configured ``interface`` (its flag seeded from the config if new)."""
    if interface not in ctx.loaded.config.interfaces:
        raise ActionError(404, f"no interface {interface!r}")
    FlagStore.of(ctx.ledger).seed(ctx.loaded)
    return Cutover(ctx.ledger)


@dataclass(frozen=True)
class FlagRequest:
    """A flag change as asked for (the API's body, the dashboard's form)."""

    mode: str | None = None
    percent: float | None = None
    rules: tuple[str, ...] = ()
    clear_rollout: bool = False
    legacy_feed: bool | None = None
    shadow: str | None = None
    reason: str = ""
    ticket: str | None = None
    force: bool = False


def change_flag(ctx: ApiContext, interface: str, req: FlagRequest, who: Identity) -> dict[str, Any]:
    """Apply a flag change; a promotion goes through the readiness gate (``force`` needs a reason)."""
    cut = cutover_of(ctx, interface)
    if req.force and not req.reason.strip():
        raise ActionError(422, "force needs a reason")
    try:
        changes = flag_changes(
            ctx.loaded,
            ctx.ledger,
            interface,
            mode=req.mode,
            percent=req.percent,
            rules=req.rules,
            clear_rollout=req.clear_rollout,
            legacy_feed=req.legacy_feed,
            shadow=req.shadow,
        )
        before = FlagStore.of(ctx.ledger).current(interface)
        flag = cut.set(interface, changes, actor=who.name, reason=req.reason, ticket=req.ticket, force=req.force)
    except GateClosed as exc:
        raise ActionError(409, str(exc), exc.readiness.to_dict()) from exc
    except BadChange as exc:
        raise ActionError(422, str(exc)) from exc
    except CutoverError as exc:
        raise ActionError(409, str(exc)) from exc
    if before is None or flag.version != before.version:
        event = cut.history(interface)[0]
        ctx.ledger.audit(
            who.name,
            f"cutover.{event.action}",
            f"interface:{interface}",
            req.reason,
            {"from_version": event.from_version, "to_version": event.to_version, "ticket": req.ticket},
        )
    return {"ok": True, "interface": interface, "mode": flag.mode, "version": flag.version}


def rollback_flag(
    ctx: ApiContext, interface: str, who: Identity, *, reason: str = "", ticket: str | None = None
) -> dict[str, Any]:
    """Restore the flag in force before the last promotion (a new, audited version)."""
    cut = cutover_of(ctx, interface)
    try:
        flag = cut.rollback(interface, actor=who.name, reason=reason, ticket=ticket)
    except CutoverError as exc:
        raise ActionError(409, str(exc)) from exc
    ctx.ledger.audit(
        who.name, "cutover.rollback", f"interface:{interface}", reason, {"to_version": flag.version, "ticket": ticket}
    )
    return {"ok": True, "interface": interface, "mode": flag.mode, "version": flag.version}
