"""Alerts: evaluate every interface's rules, send each change of state to the webhook once, keep the state.

A rule that starts firing is POSTed as ``{"status": "firing", ...}``; while it keeps firing nothing more is
sent; when it stops, ``{"status": "resolved", ...}`` is sent once. The state is in the ledger
(:mod:`bridge.store.alerts`), so a restart neither repeats nor forgets an alert, and a failed POST is retried
at the next evaluation. An alert whose firing notification never went out resolves silently (the receiver
never heard of it). Among processes sharing a ledger, the holder of the ``alerts`` lease evaluates.

``esb-bridge run`` evaluates every ``observability.alerts.every`` (in its housekeeping); ``esb-bridge alerts
check`` once. The webhook URL may carry a token: it is never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from bridge.config.loaded import LoadedConfig
from bridge.config.observability import AlertsConfig
from bridge.observability.logs import event
from bridge.ports import Clock
from bridge.runtime.alert_rules import Finding, evaluate
from bridge.store.alerts import AlertState
from bridge.store.ledger import Ledger
from bridge.store.records import ComparisonLevel

__all__ = ["LEASE", "AlertReport", "Alerts", "webhook_sender"]

log = logging.getLogger("esb_bridge.runtime.alerts")

LEASE = "alerts"

Send = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class AlertReport:
    """One rule's state after an evaluation, and what was sent for it (``firing``, ``resolved`` or "")."""

    finding: Finding
    state: str
    since: datetime
    sent: str

    def public(self) -> dict[str, Any]:
        f = self.finding
        return {
            "interface": f.interface,
            "rule": f.rule,
            "state": self.state,
            "since": self.since.isoformat(),
            "value": f.value,
            "threshold": f.threshold,
            "summary": f.summary,
            "sent": self.sent or None,
        }


def webhook_sender(config: AlertsConfig) -> Send:
    """POST one notification as JSON; raises on a transport error or a non-2xx answer."""

    def send(body: dict[str, Any]) -> None:
        response = httpx.post(config.webhook, json=body, timeout=config.timeout)
        response.raise_for_status()

    return send


class Alerts:
    """The alert rules of one config over one ledger."""

    def __init__(self, loaded: LoadedConfig, ledger: Ledger, clock: Clock, send: Send | None = None) -> None:
        self.config = loaded.config.observability.alerts
        self.rules = {n: i.alerts for n, i in loaded.config.interfaces.items() if i.alerts is not None}
        self.ledger = ledger
        self.clock = clock
        self._send = send or (webhook_sender(self.config) if self.config else None)
        self._last = float("-inf")

    @property
    def enabled(self) -> bool:
        """Whether there is anything to evaluate: a webhook and at least one interface with rules."""
        return self.config is not None and bool(self.rules)

    def due(self) -> bool:
        """Whether ``every`` has passed since the last evaluation (real time: ``run``'s housekeeping)."""
        assert self.config is not None
        return time.monotonic() - self._last >= self.config.every

    def lease_ttl(self) -> timedelta:
        every = self.config.every if self.config else 60.0
        return timedelta(seconds=max(60.0, 3 * every))

    def check(self) -> list[AlertReport]:
        """Evaluate every rule once, send what changed, store the states; the reports in config order."""
        self._last = time.monotonic()
        if not self.enabled:
            return []
        now = self.clock.now()
        states = self.ledger.alert_states()
        figures = self.ledger.interface_figures(list(self.rules))
        reports = []
        for name, rules in self.rules.items():
            comparisons = None
            if rules.match_rate_below is not None:
                comparisons = self.ledger.comparison_counts(
                    name,
                    since=now - timedelta(seconds=rules.match_window),
                    levels=(ComparisonLevel.OUTCOME, ComparisonLevel.PAYLOAD),
                )
            watched = states.get((name, "silent_for"))
            findings = evaluate(
                name,
                rules,
                figures[name],
                now,
                comparisons=comparisons,
                watched_since=watched.since if watched else now,
            )
            reports += [self._apply(f, states.get((f.interface, f.rule)), now) for f in findings]
        return reports

    def _apply(self, f: Finding, old: AlertState | None, now: datetime) -> AlertReport:
        state = "firing" if f.firing else "ok"
        detail = {"value": f.value, "threshold": f.threshold, "summary": f.summary}
        if old is None:
            # first sight: an ok rule needs no notification (nothing to resolve)
            cur = AlertState(f.interface, f.rule, state, now, notified=not f.firing, detail=detail)
        elif old.state != state:
            # a firing alert never announced resolves silently
            silent = state == "ok" and not old.notified
            cur = AlertState(f.interface, f.rule, state, now, notified=silent, detail=detail)
        else:
            cur = AlertState(f.interface, f.rule, state, old.since, old.notified, detail)
        sent = ""
        if not cur.notified and self._notify(f, cur, now):
            cur = AlertState(cur.interface, cur.rule, cur.state, cur.since, True, cur.detail)
            sent = "firing" if f.firing else "resolved"
        if old is None or cur != old:
            self.ledger.put_alert_state(cur)
        return AlertReport(f, cur.state, cur.since, sent)

    def _notify(self, f: Finding, cur: AlertState, now: datetime) -> bool:
        status = "firing" if f.firing else "resolved"
        body = {
            "status": status,
            "alert": f"{f.interface}:{f.rule}",
            "interface": f.interface,
            "rule": f.rule,
            "value": f.value,
            "threshold": f.threshold,
            "summary": f.summary,
            "since": cur.since.isoformat(),
            "at": now.isoformat(),
            "source": "esb-bridge",
        }
        assert self._send is not None
        try:
            self._send(body)
        except Exception as exc:  # any failure of the receiver: kept unsent, retried at the next evaluation
            event(
                log,
                logging.WARNING,
                "alert_send_failed",
                interface=f.interface,
                rule=f.rule,
                status=status,
                error=type(exc).__name__,
            )
            return False
        level = logging.WARNING if f.firing else logging.INFO
        event(log, level, f"alert_{status}", interface=f.interface, rule=f.rule, value=f.value, summary=f.summary)
        return True
