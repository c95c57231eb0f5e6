"""``esb-bridge backtest INTERFACE --inputs DIR --legacy-outputs DIR``: replay an archive, print the verdict.

The work is :class:`bridge.runtime.backtest.Backtest`; this module parses the options, draws the progress on
a terminal and prints the gate's verdict ("would be ready" / "would not be ready because ...") with the
figures it rests on. Started again with the same ``--id`` (or the same folders and period), a killed
backtest resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from bridge.cli.progress import RunProgress
from bridge.cli.render import echo_json

__all__ = ["backtest_command"]

_DAY = click.DateTime(["%Y-%m-%d"])


@click.command("backtest")
@click.argument("interface")
@click.option(
    "--inputs",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder of archived input files (their file time is when each came in)",
)
@click.option(
    "--legacy-outputs",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="folder of the old system's archived output documents (read with the legacy path's `project:`)",
)
@click.option("--from", "since", type=_DAY, help="first day of the period (file time, UTC)")
@click.option("--to", "until", type=_DAY, help="last day of the period (inclusive)")
@click.option("--id", "backtest_id", help="backtest id (default: the next free btN, or the unfinished one to resume)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.pass_context
def backtest_command(
    ctx: click.Context,
    interface: str,
    inputs: Path,
    legacy_outputs: Path,
    since: datetime | None,
    until: datetime | None,
    backtest_id: str | None,
    as_json: bool,
) -> None:
    """Replay archived inputs through the interface's decoder and cloud path (dry, or to its sandbox), pair
    them with the old system's archived outputs, and say what the readiness gate would have said."""
    from bridge.runtime.backtest import Backtest, describe

    loaded = ctx.find_root().obj.load()
    if interface not in loaded.config.interfaces:
        raise click.UsageError(f"unknown interface {interface!r}")
    shown = RunProgress()
    run = Backtest(
        loaded,
        interface,
        inputs,
        legacy_outputs,
        backtest_id=backtest_id,
        since=since.date() if since else None,
        until=until.date() if until else None,
        progress=shown.ingested if shown.enabled else None,
        delivery_progress=shown.delivered if shown.enabled else None,
        on_slice=(lambda _k, _d, _t: shown.sliced(interface)) if shown.enabled else None,
    )
    with shown:
        state = run.run()
    data = describe(state)
    if as_json:
        echo_json(data)
        return
    _say(data)


def _say(data: dict[str, Any]) -> None:
    from cutover.backtests import verdict_line
    from cutover.gates import Readiness

    v = data["verdict"] or {}
    ready = Readiness(data["interface"], bool(v.get("ready")), list(v.get("reasons", [])))
    click.echo(
        f"backtest {data['id']} of {data['interface']}: {data['files']} archived input(s) over "
        f"{data['slices']} day(s), {data['observations']} legacy output(s), cloud path {data['cloud']}"
    )
    click.echo(
        f"  compared {v.get('compared', 0)}, matched {v.get('matched', 0)}, orphans {v.get('orphans', 0)}, "
        f"lower bound {v.get('match_rate_lower_bound', 0):.4f}"
    )
    click.echo("  had you shadowed this period, the gate would have said: " + verdict_line(data["id"], ready))
    click.echo(f"  report: esb-bridge shadow report --backtest {data['id']} --format html -o report.html")
