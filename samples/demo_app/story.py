"""What the demo tells a person while it runs: a few lines per simulated day on stderr, and at the end a table
of interfaces with their readiness and where the shadow report is.

The lines are read from the ledger (dead letters and flag changes of the day, each interface's readiness
gate), the same evidence ``esb-bridge status``, ``dlq list`` and ``cutover readiness`` show; the table is
the shadow report's own summary (:mod:`cutover.reports.decision`), drawn with ``rich``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bridge.runtime.runner import Runner, RunSummary
from bridge.store.queries import dead_letters
from cutover.audit import Cutover
from cutover.gates import evaluate

__all__ = ["day_lines", "print_table"]


def day_lines(runner: Runner, day: int, today: str, summary: RunSummary, since: datetime) -> list[str]:
    """The day in two or three lines: what came in and went out, what was dead-lettered, who is ready."""
    records = sum(v.get("records", 0) for v in summary.ingest.values())
    dead = Counter(d["interface"] for d in dead_letters(runner.ledger.engine, None, None, limit=10_000, since=since))
    dl = ", ".join(f"{n} {name}" for name, n in sorted(dead.items()))
    lines = [
        f"day {day} ({today}): {records} records in, {summary.drain.attempts} delivery attempts, "
        f"{sum(dead.values())} dead letter(s){f' ({dl})' if dl else ''}"
    ]
    cut = Cutover(runner.ledger)
    for e in cut.history():
        if e.at >= since and e.action != "seed":
            lines.append(f"  {e.interface}: {e.from_mode} -> {e.to_mode} ({e.action} by {e.actor}: {e.reason})")
    ready: list[str] = []
    waiting: list[str] = []
    for name, flag in sorted(cut.store.all_current().items()):
        if flag.mode in ("legacy_only", "cloud_only"):
            continue
        gate = evaluate(runner.ledger, name, flag.rules.gate)
        (ready if gate.ready else waiting).append(f"{name} {gate.figures['matched']}/{gate.figures['compared']}")
    lines.append(
        f"  shadow: ready for promotion: {', '.join(ready) or 'none yet'}; not yet: {', '.join(waiting) or '-'}"
    )
    return lines


def print_table(summary: dict[str, Any], workdir: Path, file: IO[str]) -> None:
    """The final table: one row per interface (mode, compared, match, lower bound, orphans, DLQ, ready?), each
    interface's next step below it, then the report's paths; last the one command that serves the dashboard on
    the demo's ledger."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(file=file, highlight=False)
    if not console.is_terminal:
        console = Console(file=file, highlight=False, width=110)  # a pipe or a log file: not 80 columns
    table = Table(title=f"esb-bridge demo: {len(summary['days'])} simulated day(s), seed {summary['seed']}")
    table.add_column("interface", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    for col in ("compared", "match", "lower bound", "orphans", "DLQ"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("ready?", no_wrap=True)
    for name, it in summary["shadow"].items():
        table.add_row(
            name,
            it["mode"] or "-",
            str(it["compared"]),
            _pct(it["match_rate"]),
            _pct(it["lower_bound"]),
            str(it["orphans"]),
            str(it["dead_letters"]),
            "[green]ready[/green]" if it["ready"] else "[red]not ready[/red]",
        )
    console.print(table)
    console.print("next steps:")
    for name, it in summary["shadow"].items():
        console.print(f"  {escape(name)}: {escape(it['next_step'] or '-')}", soft_wrap=True)
    for fmt, path in summary["reports"].items():
        console.print(f"shadow report ({fmt}): {path}", soft_wrap=True)
    console.print(f"ledger, drops and outputs in {workdir}", soft_wrap=True)
    dash = summary["dashboard"]
    console.print(
        f"dashboard: open {dash['url']} and log in with the API token {dash['token']} (migration lead); serve it with:",
        soft_wrap=True,
    )
    console.print(escape(dash["command"]), soft_wrap=True)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.2f} %"
