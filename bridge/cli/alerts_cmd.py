"""``esb-bridge alerts check``: evaluate every interface's alert rules once and send what changed.

For schedulers that run ``run --once`` (no housekeeping between passes); ``esb-bridge run`` evaluates on its
own every ``observability.alerts.every``. Rules, states and the webhook body: docs/operations.md ("Alerts").
"""

from __future__ import annotations

import sys

import click

from bridge.cli.render import echo_json, table
from bridge.ports import SystemClock

__all__ = ["alerts_group"]

#: ``alerts check`` exit code when at least one alert is firing (after sending)
FIRING = 1


@click.group("alerts")
def alerts_group() -> None:
    """Alert rules of the interfaces (lag, dead letters, match rate, a silent source)."""


@alerts_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def check(ctx: click.Context, as_json: bool) -> None:
    """Evaluate every rule once, POST new and resolved alerts to the webhook, print each rule's state.

    Exit 0: nothing firing; 1: at least one alert firing. While another process holds the alerts lease
    (a running `esb-bridge run` on the same ledger), nothing is evaluated here.
    """
    from bridge.runtime.alerts import LEASE, Alerts
    from bridge.store.ledger import open_ledger

    loaded = ctx.find_root().obj.load()
    ledger = ctx.with_resource(open_ledger(loaded.store_url(), SystemClock()))
    alerts = Alerts(loaded, ledger, ledger.clock)
    if not alerts.enabled:
        raise click.ClickException(
            "no alerts to check: set observability.alerts.webhook and an interface's alerts: rules"
        )
    if not ledger.acquire_lease(LEASE, alerts.lease_ttl()):
        click.echo("alerts are evaluated by another process holding the alerts lease; nothing done", err=True)
        return
    try:
        reports = alerts.check()
    finally:
        ledger.release_lease(LEASE)
    rows = [r.public() for r in reports]
    if as_json:
        echo_json(rows)
    else:
        table(rows, ["interface", "rule", "state", "since", "summary", "sent"])
    if any(r.state == "firing" for r in reports):
        sys.exit(FIRING)
