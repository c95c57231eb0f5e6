"""``esb-bridge serve``, ``esb-bridge auth token create|list|revoke`` and ``esb-bridge audit export|verify``.

Tokens are shown once, at creation; the ledger keeps only their hash. Whoever can run these commands against
the ledger directly has full trust (as with every direct database access); the API's roles bound what a
token holder can do through the API.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import orjson

from bridge.cli.render import echo_json, table
from bridge.config.api import ApiConfig, parse_listen
from bridge.config.loaded import LoadedConfig
from bridge.ports import SystemClock
from bridge.store.audit_chain import verify_chain
from bridge.store.ledger import Ledger, open_ledger

__all__ = ["api_server", "audit_group", "auth_group", "serve"]


def _actor() -> str:
    return os.environ.get("ESB_BRIDGE_ACTOR") or os.environ.get("USER") or "unknown"


def _ledger(ctx: click.Context) -> Ledger:
    loaded: LoadedConfig = ctx.find_root().obj.load()
    return ctx.with_resource(open_ledger(loaded.store_url(), SystemClock(), protection=loaded.protection()))


@contextmanager
def api_server(loaded: LoadedConfig, ledger: Ledger, runner: Any = None, listen: str | None = None) -> Iterator[Any]:
    """The admin API of ``loaded`` served on its ``api.listen`` (or ``listen``) until the block ends."""
    from bridge.web import ApiContext, ApiServer, Authenticator, create_app

    api = loaded.config.api or ApiConfig()
    host, port = parse_listen(listen or api.listen)
    base = loaded.base_dir
    cert = str(base / api.tls_cert) if api.tls_cert else None
    key = str(base / api.tls_key) if api.tls_key else None
    ctx = ApiContext(loaded, ledger, Authenticator(ledger, api.oidc), runner=runner)
    with ApiServer(create_app(ctx, metrics_cache=api.metrics_cache), host, port, certfile=cert, keyfile=key) as server:
        click.echo(f"admin API on {server.url} (OpenAPI at {server.url}/openapi.json)", err=True)
        yield server


@click.command()
@click.option("--listen", metavar="HOST:PORT", help="address to listen on (default: api.listen, else 127.0.0.1:8089)")
@click.pass_context
def serve(ctx: click.Context, listen: str | None) -> None:
    """Serve the admin HTTP API alone (no polls, no deliveries) until Ctrl-C."""
    loaded: LoadedConfig = ctx.find_root().obj.load()
    ledger = _ledger(ctx)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        with api_server(loaded, ledger, listen=listen):
            while not stop.wait(0.5):
                pass
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


# ------------------------------------------------------------------------------------------------ auth


@click.group("auth")
def auth_group() -> None:
    """API credentials."""


@auth_group.group("token")
def token_group() -> None:
    """API tokens: create (shown once), list, revoke."""


@token_group.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "operator", "migration_lead"]))
@click.option("--expires-in", type=click.IntRange(min=1), help="days until the token expires (default: never)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_create(ctx: click.Context, name: str, role: str, expires_in: int | None, as_json: bool) -> None:
    """Create a token NAME with ROLE; the token is printed once and cannot be shown again."""
    from sqlalchemy.exc import IntegrityError

    ledger = _ledger(ctx)
    expires = ledger.clock.now() + timedelta(days=expires_in) if expires_in else None
    try:
        secret = ledger.create_token(name, role, created_by=_actor(), expires_at=expires)
    except IntegrityError as exc:
        raise click.ClickException(f"a token named {name!r} exists already") from exc
    ledger.audit(_actor(), "auth.token.create", f"token:{name}", detail={"role": role})
    if as_json:
        echo_json({"name": name, "role": role, "token": secret, "expires_at": expires.isoformat() if expires else None})
    else:
        click.echo(secret)
        click.echo(f"token {name} ({role}) created; it is shown only now", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """Every token's name, role, creator and dates (never the token)."""
    rows = [t.public() for t in _ledger(ctx).tokens()]
    echo_json(rows) if as_json else table(
        rows, ["name", "role", "created_by", "created_at", "expires_at", "revoked_at"]
    )


@token_group.command("revoke")
@click.argument("name")
@click.pass_context
def token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke token NAME: it is refused from now on."""
    ledger = _ledger(ctx)
    if not ledger.revoke_token(name):
        raise click.ClickException(f"no live token named {name!r}")
    ledger.audit(_actor(), "auth.token.revoke", f"token:{name}")
    click.echo(f"token {name} revoked")


# ------------------------------------------------------------------------------------------------ audit


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log: export and verify."""


@audit_group.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@click.pass_context
def audit_export(ctx: click.Context, output: Path | None) -> None:
    """Every audit entry as JSON lines (each with prev_hash and hash); the head hash goes to stderr."""
    lines, head = [], None
    for e in _ledger(ctx).audit_entries():
        lines.append(orjson.dumps({**e, "at": e["at"].isoformat()}).decode())
        head = e["hash"]
    text = "".join(line + "\n" for line in lines)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    click.echo(f"{len(lines)} entries, head hash {head}", err=True)


@audit_group.command("verify")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--head", help="the head hash recorded at export time (detects entries cut off at the end)")
@click.pass_context
def audit_verify(ctx: click.Context, file: Path | None, head: str | None) -> None:
    """Check the hash chain of an export FILE (or of the ledger itself); exit 1 on any break."""
    if file is not None:
        entries: list[dict[str, Any]] = [orjson.loads(x) for x in file.read_text(encoding="utf-8").splitlines() if x]
    else:
        entries = list(_ledger(ctx).audit_entries())
    breaks = verify_chain(entries)
    if head is not None and (not entries or entries[-1].get("hash") != head):
        click.echo("the last entry's hash is not the given head: entries were cut off or changed", err=True)
        breaks_found = True
    else:
        breaks_found = bool(breaks)
    for b in breaks:
        click.echo(f"entry {b.id}: {b.problem}", err=True)
    if breaks_found:
        sys.exit(1)
    click.echo(f"audit chain intact: {len(entries)} entries, checked at {datetime.now(UTC).isoformat()}")
