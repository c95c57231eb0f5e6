"""``esb-bridge reconcile [INTERFACE] [--date D] [--json]``: counts and sums per business date, ledger vs target.

Parses options, runs :func:`bridge.runtime.reconcile.reconcile_interfaces` and prints; what is compared and how
is in :mod:`cutover.reconcile` and docs/operations.md ("Reconciliation"). The exit code follows the scheme of
``run --once`` (:class:`bridge.runtime.exitcodes.ReconcileProblem`).
"""

from __future__ import annotations

import sys
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.render import echo_json, table
from bridge.ports import SystemClock
from bridge.runtime.exitcodes import ReconcileProblem, reconcile_code_help

__all__ = ["reconcile_command", "reconciliation_summaries"]

if TYPE_CHECKING:
    from bridge.store.reconciliations import ReconciliationRow

#: the worst status of a run's rows names the run (incomplete outranks differs outranks the rest)
_RANK = {"incomplete": 3, "differs": 2, "ledger_only": 1, "matched": 0}

_EPILOG = "\b\nExit codes (docs/operations.md):\n" + "\n".join(
    f"  {line}" for line in reconcile_code_help().removesuffix(".").split("; ")
)


@click.command("reconcile", epilog=_EPILOG)
@click.argument("interface", required=False)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="only this business date (YYYY-MM-DD)")
@click.option("--json", "as_json", is_flag=True, help="print every row with its per-key differences as JSON")
@click.pass_context
def reconcile_command(ctx: click.Context, interface: str | None, day: Any, as_json: bool) -> None:
    """Per business date: records and amount sums each path delivered (ledger) against what its target lists.

    Differences are named per key (missing at target, extra at target, amount or date differs) and stored in
    the ledger, where `status` and the shadow report show them.
    """
    from bridge.runtime.reconcile import reconcile_interfaces
    from bridge.store.ledger import open_ledger

    loaded = ctx.find_root().obj.load()
    if interface is not None and interface not in loaded.config.interfaces:
        raise click.UsageError(f"unknown interface {interface!r}")
    only = [interface] if interface else None
    business_date: date | None = day.date() if day is not None else None
    clock = SystemClock()
    with open_ledger(loaded.store_url(), clock) as ledger:
        reports = reconcile_interfaces(loaded, ledger, clock, only, business_date)
    problems = ReconcileProblem(0)
    if any(r.incomplete for r in reports):
        problems |= ReconcileProblem.TARGET_UNREADABLE
    if any(r.differences for r in reports):
        problems |= ReconcileProblem.DIFFERENCES
    if as_json:
        echo_json(
            {
                "reports": [r.as_dict() for r in reports],
                "exit_code": problems.value,
                "problems": [p.name.lower() for p in problems if p.name],
            }
        )
    else:
        rows = [
            {
                "interface": row.interface,
                "path": row.path,
                "date": row.business_date or "-",
                "ledger": row.ledger_count,
                "ledger sum": row.ledger_amount,
                "target": "-" if row.target_count is None else row.target_count,
                "target sum": row.target_amount,
                "differences": row.differences,
                "status": row.status,
            }
            for r in reports
            for row in r.rows
        ]
        table(rows, empty="nothing delivered yet")
        for r in reports:
            for row in r.rows:
                for d in row.detail.get("keys", []):
                    click.echo(f"  {row.interface}/{row.path} {d['key']}: {_issue(d)}")
                if row.detail.get("truncated"):
                    click.echo(f"  ... and {row.detail['truncated']} more (see --json, or raise reconcile.max_detail)")
                if row.detail.get("error"):
                    click.echo(f"  {row.interface}/{row.path}: listing failed: {row.detail['error']}", err=True)
        for p in problems:
            click.echo(f"exit {p.value}: {p.meaning}", err=True)
    sys.exit(problems.value)


def _issue(d: dict[str, Any]) -> str:
    words = str(d["issue"]).replace("_", " ")
    if d["issue"] == "amount_differs":
        return f"{words}: ledger {d.get('ledger_amount')} vs target {d.get('target_amount')}"
    if d["issue"] == "date_differs":
        return f"{words}: ledger {d.get('ledger_date')} vs target {d.get('target_date')}"
    return words


def reconciliation_summaries(rows: list[ReconciliationRow]) -> dict[str, dict[str, Any]]:
    """Per interface, its newest run in one line for ``status``: when, the worst status, how many differences."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        s = out.setdefault(
            row.interface,
            {
                "run_id": row.run_id,
                "at": row.created_at.isoformat(timespec="seconds") if row.created_at else None,
                "status": "matched",
                "differences": 0,
            },
        )
        s["differences"] += row.differences
        if _RANK.get(row.status, 0) > _RANK.get(s["status"], 0):
            s["status"] = row.status
    return out
