"""``esb-bridge cluster status``: the processes sharing this ledger, the leases they hold, their claims.

A node is *alive* while its heartbeat (every housekeeping round, 5 s) is younger than ``--dead-after``;
*stopped* once it left cleanly; *lost* otherwise (killed, frozen, cut off): its leases expire by themselves
and its claims are reaped at their lease's end, so nothing waits for it. Times are the ledger's (the
database's clock on PostgreSQL), so nodes with skewed clocks still agree.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.render import echo_json, table
from bridge.ports import SystemClock

if TYPE_CHECKING:
    from bridge.config import LoadedConfig

__all__ = ["cluster_group"]


@click.group("cluster")
def cluster_group() -> None:
    """The nodes sharing this ledger."""


@cluster_group.command("status")
@click.option("--dead-after", default=30.0, show_default=True, help="seconds without a heartbeat: lost")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, dead_after: float, as_json: bool) -> None:
    """Nodes (alive, stopped, lost), leases (holder, fencing token, expiry) and in-progress claims per node."""
    from bridge.store.ledger import open_ledger

    loaded: LoadedConfig = ctx.find_root().obj.load()
    ledger = ctx.with_resource(open_ledger(loaded.store_url(), SystemClock(), protection=loaded.protection()))
    claims = ledger.claims_by_node()
    now = ledger.clock.now()
    nodes: list[dict[str, Any]] = []
    for n in ledger.nodes(since=timedelta(days=1)):
        state = "stopped" if n.stopped_at else ("alive" if n.age <= dead_after else "lost")
        nodes.append(
            {"node": n.id, "host": n.host, "pid": n.pid, "state": state, "heartbeat_age_s": round(n.age, 1),
             "started_at": n.started_at.isoformat(), "claims": claims.pop(n.id, 0)}
        )  # fmt: skip
    for holder, count in claims.items():  # claims of nodes that never registered (older versions)
        nodes.append({"node": holder, "state": "unregistered", "claims": count})
    leases = []
    for x in ledger.leases():
        left = round((x.expires_at - now).total_seconds(), 1)
        leases.append({"lease": x.name, "holder": x.holder, "token": x.token, "expires_in_s": left})
    if as_json:
        echo_json({"nodes": nodes, "leases": leases})
        return
    alive = sum(1 for n in nodes if n["state"] == "alive")
    click.echo(f"{alive} node(s) alive, {len(nodes)} seen in the last day")
    table(nodes, ["node", "state", "heartbeat_age_s", "claims", "started_at"])
    table(leases, ["lease", "holder", "token", "expires_in_s"])
