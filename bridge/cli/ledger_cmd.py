"""``esb-bridge ledger stats|prune|backup|rekey|new-key|recount``: ledger size, dropping payload bytes nobody needs
any more, an online backup, and moving sealed data to a new data key (``docs/operations.md`` "Data protection").

Kept out of ``bridge/cli/main.py`` (mounted there with one line) because retention is its own concern: what
prune keeps and what it makes impossible is in ``docs/operations.md`` ("Ledger size and retention") and in
:mod:`bridge.store.retention`; this module only parses options and prints.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.render import echo_json, table
from bridge.ports import SystemClock

if TYPE_CHECKING:
    from bridge.config import LoadedConfig
    from bridge.store.ledger import Ledger

__all__ = ["ledger_group"]


def _open(ctx: click.Context) -> Ledger:
    from bridge.store.ledger import open_ledger  # not at import: every other command would pay for SQLAlchemy

    loaded: LoadedConfig = ctx.find_root().obj.load()
    return ctx.with_resource(open_ledger(loaded.store_url(), SystemClock(), protection=loaded.protection()))


def _actor() -> str:
    return os.environ.get("ESB_BRIDGE_ACTOR") or os.environ.get("USER") or "unknown"


def _mb(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.2f} MB"


@click.group("ledger")
def ledger_group() -> None:
    """Ledger size per table and interface; pruning payloads of settled messages; backups."""


@ledger_group.command("stats")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Rows and bytes per table (with its indexes), and rows and payload bytes per interface."""
    data = _open(ctx).ledger_stats()
    if as_json:
        echo_json({"tables": {s.table: {"rows": s.rows, "bytes": s.bytes, "interfaces": s.interfaces} for s in data}})
        return
    rows: list[dict[str, Any]] = []
    for s in data:
        rows.append({"table": s.table, "interface": "", "rows": s.rows, "bytes": _mb(s.bytes), "payload": ""})
        for name, entry in sorted(s.interfaces.items()):
            payload = entry.get("payload_bytes")
            rows.append(
                {
                    "table": "",
                    "interface": name,
                    "rows": entry["rows"],
                    "bytes": "",
                    "payload": "" if payload is None else _mb(payload),
                }
            )
    table(rows, ["table", "interface", "rows", "bytes", "payload"])
    total = sum(s.bytes or 0 for s in data)
    click.echo(f"\ntotal: {_mb(total)}" + ("" if all(s.bytes is not None for s in data) else " (some sizes unknown)"))


@ledger_group.command("prune")
@click.option("--older-than", "days", type=click.FloatRange(min=0), required=True, metavar="DAYS")
@click.option("--dry-run", is_flag=True, help="count what would be dropped, change nothing")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def prune(ctx: click.Context, days: float, dry_run: bool, as_json: bool) -> None:
    """Drop the payload bytes of settled messages older than DAYS; ids, states, hashes, attempts stay."""
    ledger = _open(ctx)
    before = ledger.clock.now() - timedelta(days=days)
    result = ledger.prune_payloads(before, dry_run=dry_run, actor=_actor())
    if as_json:
        echo_json(
            {
                "messages": result.messages,
                "payload_bytes": result.payload_bytes,
                "blobs": result.blobs,
                "blob_bytes": result.blob_bytes,
                "dry_run": result.dry_run,
                "before": result.before.isoformat(),
            }
        )
        return
    verb = "would drop" if dry_run else "dropped"
    click.echo(
        f"{verb} the payloads of {result.messages} settled message(s) created before {result.before.isoformat()} "
        f"({_mb(result.payload_bytes)})"
        + (f" and {result.blobs} forward blob(s) ({_mb(result.blob_bytes)})" if result.blobs else "")
    )


@ledger_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="replace FILE if it exists")
@click.pass_context
def backup(ctx: click.Context, file: Path, force: bool) -> None:
    """Copy the live SQLite ledger to FILE (online: the bridge may run); PostgreSQL: prints the pg_dump command.

    Restore: stop the bridge, replace the ledger file by FILE (and remove its -wal and -shm files), start it
    (docs/operations.md "Backup and restore of the ledger").
    """
    from bridge.store.backup import backup_sqlite

    result = backup_sqlite(_open(ctx).engine, file, overwrite=force)
    click.echo(f"{result.path}: {_mb(result.size)}")


@ledger_group.command("new-key")
@click.argument("key_id")
def new_key(key_id: str) -> None:
    """Print a fresh data key entry KEY_ID:base64 for ESB_BRIDGE_DATA_KEY (put it first to make it current)."""
    from bridge.store.sealing import new_key as make

    click.echo(make(key_id))


@ledger_group.command("rekey")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rekey(ctx: click.Context, as_json: bool) -> None:
    """Re-seal every stored blob with the current data key; seal clear blobs of sensitive interfaces."""
    from bridge.store.rekey import rekey as run

    result = run(_open(ctx))
    if as_json:
        echo_json({"resealed": result.resealed, "sealed": result.sealed})
        return
    tables = sorted(set(result.resealed) | set(result.sealed))
    table(
        [{"table": n, "resealed": result.resealed.get(n, 0), "sealed": result.sealed.get(n, 0)} for n in tables],
        ["table", "resealed", "sealed"],
    )
    click.echo(f"\n{sum(result.resealed.values())} blob(s) re-sealed, {sum(result.sealed.values())} sealed")


@ledger_group.command("recount")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def recount(ctx: click.Context, as_json: bool) -> None:
    """Rebuild the status counts the database keeps from the rows themselves, and show what was off.

    Needed only after rows were removed without their triggers (a PostgreSQL ``TRUNCATE``); harmless anytime.
    """
    from bridge.store.counts import current
    from bridge.store.counts import recount as rebuild

    engine = _open(ctx).engine
    before = current(engine)
    rows = rebuild(engine)
    after = current(engine)
    off = [
        {"interface": k[0], "metric": k[1], "a": k[2], "b": k[3], "was": before.get(k, 0), "now": after.get(k, 0)}
        for k in sorted(set(before) | set(after))
        if before.get(k, 0) != after.get(k, 0)
    ]
    if as_json:
        echo_json({"rows": rows, "corrected": off})
        return
    if off:
        table(off, ["interface", "metric", "a", "b", "was", "now"])
    click.echo(f"{sum(rows.values())} row(s) counted; {len(off)} count(s) corrected")
