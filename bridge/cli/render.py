"""Output for people and machines: every reporting command prints a table, or JSON with ``--json``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
import orjson

__all__ = ["Progress", "echo_json", "table"]


def echo_json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode())


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, empty: str = "(nothing)") -> None:
    """A plain aligned text table (no colour codes, so it pastes into tickets)."""
    if not rows:
        click.echo(empty)
        return
    cols = list(columns or rows[0].keys())
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_cell(x)}" for k, x in v.items())
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


class Progress:
    """Counts records per interface on stderr when attached to a terminal; silent otherwise."""

    def __init__(self, label: str, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.counts: dict[str, int] = {}

    def __call__(self, interface: str, n: int) -> None:
        self.counts[interface] = self.counts.get(interface, 0) + n
        if self.enabled:
            parts = " ".join(f"{k}={v}" for k, v in self.counts.items())
            click.echo(f"\r{self.label}: {parts} records", err=True, nl=False)

    def done(self) -> None:
        if self.enabled and self.counts:
            click.echo("", err=True)


def each(items: Iterable[Any], fn: Callable[[Any], None]) -> None:
    for item in items:
        fn(item)
