"""Accepting probable noise: a field of an interface counted as an accepted difference until an expiry.

The shadow report flags fields as probable noise (:mod:`cutover.compare.noise`); a person who agrees accepts
the field here, with an owner, a reason and an expiry, instead of editing the config. The rule is stored in the
ledger and audited (:mod:`bridge.store.noise_rules`); the comparator adds the rules in force to the interface's
``compare.accepted`` at every round, so a difference of the field is recorded ``accepted`` (who, why, until
when) and not counted as a mismatch, and counts again from the day after ``expires``. The CLI
(``esb-bridge shadow accept-noise``) and the admin API (``POST /api/v1/shadow/{interface}/noise-rules``) both
call :func:`accept_noise`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from bridge.config.compare import AcceptedDifference, CompareRules
from bridge.store.ledger import Ledger
from bridge.store.noise_rules import NoiseRuleRow

__all__ = ["BadNoiseRule", "accept_noise", "with_accepted_noise"]

MAX_PATH = 500


class BadNoiseRule(ValueError):
    """A noise rule that cannot be accepted as asked (no owner or reason, an expiry in the past, a bad path)."""


def accept_noise(
    ledger: Ledger, interface: str, path: str, *, owner: str, reason: str, expires: date, actor: str
) -> NoiseRuleRow:
    """Validate and store one rule (audited as ``shadow.accept_noise`` under ``actor``)."""
    path, owner, reason = path.strip(), owner.strip(), reason.strip()
    if not path or len(path) > MAX_PATH or any(not seg for seg in path.split(".")):
        raise BadNoiseRule(f"field {path!r} is not a dotted field path (e.g. updated_at, lines.*.id)")
    if not owner:
        raise BadNoiseRule("an accepted noise rule needs an owner")
    if not reason:
        raise BadNoiseRule("an accepted noise rule needs a reason")
    today = ledger.clock.now().date()
    if expires < today:
        raise BadNoiseRule(f"expiry {expires.isoformat()} is before today ({today.isoformat()})")
    return ledger.accept_noise(interface, path, owner=owner, reason=reason, expires=expires, actor=actor)


def with_accepted_noise(rules: CompareRules, accepted: Iterable[NoiseRuleRow]) -> CompareRules:
    """``rules`` with the ledger's rules appended to ``accepted`` (the config's own accepted differences come
    first, so they win for the same path)."""
    extra = tuple(
        AcceptedDifference(path=r.path, owner=r.owner, reason=f"accepted noise: {r.reason}", expires=r.expires)
        for r in accepted
    )
    return rules.model_copy(update={"accepted": rules.accepted + extra}) if extra else rules
