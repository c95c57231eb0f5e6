"""Output for people and machines: every reporting command prints a table, or JSON with ``--json``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click
import orjson

from bridge.ports import Location

__all__ = ["echo_fields", "echo_json", "human", "location_text", "table"]


def echo_json(data: Any) -> None:
    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode())


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, empty: str = "(nothing)") -> None:
    """A plain aligned text table (no colour codes, so it pastes into tickets). Values are printed in full: a
    description cut with "..." hides exactly the part (a path, an error's end) a person came for."""
    if not rows:
        click.echo(empty)
        return
    cols = list(columns or rows[0].keys())
    cells = [[human(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def human(v: Any) -> str:
    """A value as a person reads it: no ``None``, no Python reprs of dicts or lists."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return ", ".join(f"{k}={human(x)}" for k, x in v.items() if x is not None) or "-"
    if isinstance(v, list | tuple):
        return ", ".join(human(x) for x in v) or "-"
    return str(v)


def location_text(location: Any) -> str:
    """A stored location (``Location.to_dict``) as text: ``file:14, record 13`` (records counted from 1)."""
    if not isinstance(location, dict):
        return human(location)
    known = {k: v for k, v in location.items() if k in Location.__dataclass_fields__}
    return str(Location(**known)) if known else "-"


def echo_fields(data: dict[str, Any], width: int = 12, nested: tuple[str, ...] = ()) -> None:
    """``key: value`` lines; a dict under one of ``nested`` as indented ``key: value`` lines of its own."""
    for k, v in data.items():
        if k == "location":
            click.echo(f"{k:>{width}}: {location_text(v)}")
        elif k in nested and isinstance(v, dict) and v:
            click.echo(f"{k:>{width}}:")
            for sk, sv in v.items():
                if sv is not None:
                    click.echo(f"{'':>{width}}  {sk}: {location_text(sv) if sk == 'location' else human(sv)}")
        else:
            click.echo(f"{k:>{width}}: {human(v)}")


def each(items: Iterable[Any], fn: Callable[[Any], None]) -> None:
    for item in items:
        fn(item)
