"""The comparator: after deliveries, project each path's bytes, diff them and record the comparison.

A message is compared once both of its paths have a final outcome, or once its settle window has passed.
Three levels, each recorded as one ``comparisons`` row:

* ``outcome``: did each path deliver, get rejected, or is it still failing? (not available for a dry run);
* ``payload``: each path's projection of the bytes it SENT (needs a ``project`` on both paths);
* ``readback``: each path's projection of what its target holds afterwards (a ``readback`` plugin, or the
  target's response body with ``compare.readback_source: response``).

A level whose projection is not configured on both paths is recorded ``not_available``; it is never
computed from the shared input, so a 100 % match cannot be produced by construction. For ``forward`` and
``observe`` legacy paths the legacy bytes are the paired observation (:mod:`cutover.pairing`). The
projectors, read-backs and observation sources are built by the composition root
(``bridge.runtime.wiring``) and handed in; the comparator only opens and uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bridge.canonical import value_tree
from bridge.config.model import CompareRules, InterfaceConfig
from bridge.ports import (
    BridgeError,
    Envelope,
    Outcome,
    OutcomeStatus,
    Projector,
    ReadBack,
    Record,
    RecordInvalid,
    Resource,
    Source,
    SourceContext,
    message_id,
)
from bridge.store.comparisons import DeliverySide, NewComparison
from bridge.store.kept import kept_dead_letter
from bridge.store.ledger import Ledger
from bridge.store.records import ComparisonLevel, ComparisonStatus, DeadLetterKind, DeliveryStatus
from cutover.compare import Differ, Entry, status_of
from cutover.pairing import COMPARED_MODES, Pairer

__all__ = ["Comparator", "CompareStats", "ComparedInterface", "projection_tree"]

log = logging.getLogger("esb_bridge.cutover.comparator")
_FINAL = (DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.DISCARDED, DeliveryStatus.CANCELLED)
LEVELS = (ComparisonLevel.OUTCOME, ComparisonLevel.PAYLOAD, ComparisonLevel.READBACK)


def projection_tree(record: Record) -> dict[str, Any]:
    """The canonical JSON tree of a projection, without the observed-mode notes (reported apart). Decimals stay
    ``Decimal`` so they compare by value (``100.00`` == ``100``) unless a ``scale`` rule asks for their scale."""
    tree: dict[str, Any] = value_tree(record, exclude={"notes"})
    return tree


@dataclass
class CompareStats:
    compared: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass
class ComparedInterface:
    """A two-path interface as the composition root built it for comparison (nothing opened yet).

    ``projectors`` and ``readbacks`` are keyed by path name (``legacy``, ``cloud``); ``observe`` is the
    observation source of a ``forward``/``observe`` legacy path.
    """

    name: str
    config: InterfaceConfig
    projectors: dict[str, Projector | None]
    readbacks: dict[str, ReadBack | None]
    observe: Source | None = None


@dataclass
class _Iface:
    name: str
    config: InterfaceConfig
    rules: CompareRules
    projectors: dict[str, Projector | None]
    readbacks: dict[str, ReadBack | None]
    observe: Source | None = None
    pairer: Pairer | None = None


class Comparator(Resource):
    """Compares the interfaces it is given (built by the composition root). Use as a context manager: it opens
    the read-backs and observation sources and closes them on exit."""

    def __init__(
        self, interfaces: Mapping[str, ComparedInterface], ledger: Ledger, *, spool_root: Path, batch: int = 2000
    ) -> None:
        self.ledger = ledger
        self.clock = ledger.clock
        self.batch = batch
        self.spool_root = spool_root
        self._stack = ExitStack()
        self.interfaces: dict[str, _Iface] = {}
        for name, it in interfaces.items():
            legacy = it.config.legacy
            observed = legacy is not None and legacy.kind in ("forward", "observe")
            self.interfaces[name] = _Iface(
                name,
                it.config,
                it.config.compare,
                dict(it.projectors),
                dict(it.readbacks),
                it.observe,
                Pairer(ledger, name) if observed else None,
            )

    def on_enter(self) -> None:
        """Open the network read-backs and the observe sources (and their spool folders)."""
        for it in self.interfaces.values():
            for rb in it.readbacks.values():
                if isinstance(rb, AbstractContextManager):  # a network read-back (SOAP, REST) opens here
                    self._stack.enter_context(rb)
            if it.observe is not None:
                self._stack.enter_context(it.observe)
                d = self.spool_root / f"{it.name}.observe"
                d.mkdir(parents=True, exist_ok=True)
                it.observe.open(SourceContext(f"{it.name}.observe", self.clock, d, self.ledger))

    def close(self) -> None:
        self._stack.close()

    # ------------------------------------------------------------------ one round

    def compare_round(self) -> CompareStats:
        """Observe, pair, then compare every message that is ready; returns what was recorded."""
        stats = CompareStats()
        for it in self.interfaces.values():
            if it.observe is not None:
                self._observe(it)
            if it.pairer is not None:
                it.pairer.run(timedelta(seconds=it.rules.settle))
            self._compare_ready(it, stats)
            self._recompare(it, stats)
        return stats

    def _observe(self, it: _Iface) -> None:
        assert it.observe is not None and it.pairer is not None
        try:
            for env in it.observe.poll():
                with env.open() as f:
                    body = f.read()
                try:
                    self._pair(it, env, body)
                except RecordInvalid as exc:
                    # Kept with its bytes as an observation dead letter (dlq list / replay), then acknowledged:
                    # an unreadable observation used to be acknowledged with a log line only, and lost.
                    log.warning("%s: observation %s not readable (dead-lettered): %s", it.name, env.origin, exc)
                    kept = replace(env, body=body, spool_path=None)
                    dead = kept_dead_letter(
                        str(message_id(it.name, f"observation:{env.batch_id}")),
                        exc.to_dict(),
                        {"file": env.origin},
                        kept,
                        kind=DeadLetterKind.OBSERVATION,
                    )
                    self.ledger.record_chunk(it.name, None, [], [dead])
                it.observe.acknowledge(env)
        except BridgeError as exc:
            log.warning("%s: observation poll failed: %s", it.name, exc)

    def _sides(self, it: _Iface, message_ids: list[str]) -> dict[str, dict[str, DeliverySide] | None]:
        """Per message what each path did; the legacy side of an observed path is its paired observation
        (``None`` for a message whose observation has not arrived: the pairer decides about it)."""
        sides: dict[str, dict[str, DeliverySide] | None] = dict(self.ledger.delivery_sides(message_ids))
        for mid in message_ids:
            got = sides.get(mid) or {}
            sides[mid] = got
            if it.pairer is not None:
                obs = it.pairer.observation_body(mid)
                if obs is None:
                    sides[mid] = None
                    continue
                got["legacy"] = DeliverySide(DeliveryStatus.DELIVERED, obs.body, None, obs.media_type)
        return sides

    @staticmethod
    def _final(got: Mapping[str, DeliverySide]) -> bool:
        return all(s.status in _FINAL for s in got.values()) and {"legacy", "cloud"} <= set(got)

    def _pair(self, it: _Iface, env: Envelope, body: bytes) -> str:
        """Project one observation for its business key and record it for pairing; returns the key.
        Raises :class:`RecordInvalid` when it cannot be projected (no projector, or the bytes do not read)."""
        assert it.pairer is not None
        projector = it.projectors.get("legacy")
        try:
            if projector is None:
                raise BridgeError("legacy path observes but has no 'project' to read business keys with")
            key = str(projector.project(body, env.media_type).business_key)  # type: ignore[attr-defined]
        except (BridgeError, ValidationError, ValueError) as exc:
            raise RecordInvalid(f"observation {env.origin} not readable: {_safe(exc)}") from exc
        it.pairer.record(env.batch_id, key, env.metadata.get("version"), body, env.media_type, env.origin)
        return key

    def replay_observation(self, interface: str, envelope: Envelope) -> str:
        """Project a kept observation dead letter again with the current config and hand it to the pairing;
        returns its business key. Raises :class:`RecordInvalid` while it still cannot be read."""
        it = self.interfaces.get(interface)
        if it is None or it.pairer is None:
            raise RecordInvalid(f"interface {interface} observes no legacy output any more")
        return self._pair(it, envelope, envelope.body or b"")

    def _compare_ready(self, it: _Iface, stats: CompareStats) -> None:
        now = self.clock.now()
        settle = timedelta(seconds=it.rules.settle)
        ready = self.ledger.messages_to_compare(it.name, COMPARED_MODES, self.batch)
        if not ready:
            return
        sides = self._sides(it, [r.id for r in ready])
        differ = Differ(it.rules, now.date())
        for msg in ready:
            got = sides[msg.id]
            if got is None:
                continue  # the pairer turns it into an orphan when the window ends
            if not self._final(got) and now - msg.created_at < settle:
                continue
            self._record(it, differ, msg.id, msg.business_key, got, stats)

    def _recompare(self, it: _Iface, stats: CompareStats) -> None:
        """Re-evaluate outcome mismatches whose evidence changed: a side that was dead (or still pending when the
        settle window closed) has been replayed and delivered since. Its old verdict described a failure that
        is fixed; keeping it would hold the gate shut on a mismatch that no longer exists. Only messages whose
        both sides are final again and whose outcomes now differ from the recorded ones are re-evaluated."""
        stale = self.ledger.stale_verdicts(it.name, self.batch)
        if not stale:
            return
        sides = self._sides(it, [v.id for v in stale])
        differ = Differ(it.rules, self.clock.now().date())
        for v in stale:
            got = sides[v.id]
            if got is None or not self._final(got):
                continue
            now = {p: _outcome(got[p].status) for p in ("legacy", "cloud")}
            if now == {p: v.outcome.get(p) for p in ("legacy", "cloud")}:
                continue  # the same evidence as when it was recorded
            self._record(it, differ, v.id, v.business_key, got, stats, replace=True)
            log.info("%s: message %s re-compared after its %s side changed", it.name, v.id, _changed(v.outcome, now))

    # ------------------------------------------------------------------ levels

    def _record(
        self,
        it: _Iface,
        differ: Differ,
        mid: str,
        key: str,
        got: Mapping[str, DeliverySide],
        stats: CompareStats,
        *,
        replace: bool = False,
    ) -> None:
        rows = []
        for level in LEVELS:
            status, diff, critical = self._level(it, differ, level, key, got)
            rows.append(NewComparison(mid, it.name, level, status, diff, key, critical))
            stats.by_status[f"{level}:{status}"] = stats.by_status.get(f"{level}:{status}", 0) + 1
        if replace:
            self.ledger.replace_comparisons(rows)
        else:
            self.ledger.record_comparisons(rows)
        stats.compared += 1

    def _level(
        self, it: _Iface, differ: Differ, level: ComparisonLevel, key: str, got: Mapping[str, DeliverySide]
    ) -> tuple[ComparisonStatus, dict[str, Any], bool]:
        leg, cld = got.get("legacy"), got.get("cloud")
        if leg is None or cld is None:
            missing = "legacy" if leg is None else "cloud"
            return ComparisonStatus.NOT_AVAILABLE, {"reason": f"{missing} path did not run for this message"}, False
        if level is ComparisonLevel.OUTCOME:
            if leg.dry_run or cld.dry_run:
                return ComparisonStatus.NOT_AVAILABLE, {"reason": "a dry-run shadow has no outcome"}, False
            la, ca = _outcome(leg.status), _outcome(cld.status)
            if la == ca:
                return ComparisonStatus.MATCH, {"legacy": la, "cloud": ca, "entries": []}, False
            e = Entry("outcome", la, ca, "value")
            return ComparisonStatus.MISMATCH, {"legacy": la, "cloud": ca, "entries": [e.to_dict()]}, False
        pl, pc = it.projectors.get("legacy"), it.projectors.get("cloud")
        if pl is None or pc is None:
            return ComparisonStatus.NOT_AVAILABLE, {"reason": "no projection configured on " + _which(pl, pc)}, False
        try:
            bl = self._bytes(it, level, "legacy", key, leg)
            bc = self._bytes(it, level, "cloud", key, cld)
        except BridgeError as exc:
            return ComparisonStatus.ERROR, {"reason": f"read-back failed: {_safe(exc)}"}, False
        if isinstance(bl, str) or isinstance(bc, str):
            return ComparisonStatus.NOT_AVAILABLE, {"reason": bl if isinstance(bl, str) else bc}, False
        try:
            rl = pl.project(bl[0], bl[1])
            rc = pc.project(bc[0], bc[1])
        except (BridgeError, ValidationError, ValueError) as exc:
            return ComparisonStatus.ERROR, {"reason": f"projection failed: {_safe(exc)}"}, False
        entries = differ.diff(projection_tree(rl), projection_tree(rc))
        notes = {"legacy": list(getattr(rl, "notes", ())), "cloud": list(getattr(rc, "notes", ()))}
        status = ComparisonStatus(status_of(entries))
        critical = any(e.critical and not e.accepted for e in entries)
        return status, {"entries": [e.to_dict() for e in entries], "notes": notes}, critical

    def _bytes(
        self, it: _Iface, level: ComparisonLevel, path: str, key: str, side: DeliverySide
    ) -> tuple[bytes, str | None] | str:
        if level is ComparisonLevel.PAYLOAD:
            if side.sent is None:
                return f"{path} sent nothing (status {side.status})"
            return side.sent, side.media_type
        if it.rules.readback_source == "response":
            if side.response is None:
                return f"{path} target gave no response body"
            return side.response, side.media_type
        rb = it.readbacks.get(path)
        if rb is None:
            return f"no read-back configured on {path}"
        if side.status != "delivered" or side.dry_run:
            return f"{path} delivered nothing to read back"
        body = rb.read_back(key, Outcome(OutcomeStatus.DELIVERED, side.response, side.media_type, side.target_id))
        if body is None:
            return f"{path} target holds nothing for {key}"
        return body, None


def _outcome(status: str) -> str:
    return {"delivered": "delivered", "dead": "rejected", "discarded": "rejected", "cancelled": "cancelled"}.get(
        status, "pending"
    )


def _changed(recorded: Mapping[str, Any], now: Mapping[str, str]) -> str:
    return " and ".join(p for p in ("legacy", "cloud") if recorded.get(p) != now[p])


def _which(pl: object, pc: object) -> str:
    return " and ".join(p for p, x in (("legacy", pl), ("cloud", pc)) if x is None)


def _safe(exc: Exception) -> str:
    """An error text without echoed input values (pydantic errors may quote the data)."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False)[:3]
        )
    return str(exc)[:300]
