"""``esb-bridge sftp doctor INTERFACE``: check an SFTP drop the way the poller will see it.

Connects with the interface's settings, prints the negotiated algorithms, the server's host key fingerprint
and whether (and how) it matched, then lists what the next poll would pick up and why anything is skipped.
It reads nothing and moves nothing.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml

from adapters.legacy.sftp_source import SftpDropSource, SftpSourceConfig
from bridge.ports import BridgeError, ConfigError, SystemClock

__all__ = ["doctor_report", "load_source_config", "sftp_group"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(value: Any) -> Any:
    if isinstance(value, str):
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _substitute(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v) for v in value]
    return value


def load_source_config(config_file: Path, interface: str) -> SftpSourceConfig:
    """The ``sftp`` source block of one interface (``${ENV}`` substituted), validated."""
    try:
        document = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {config_file}: {exc}") from exc
    block = (document.get("interfaces") or {}).get(interface, {}).get("source")
    if not isinstance(block, dict):
        raise ConfigError(f"interface {interface!r} has no source block in {config_file}")
    if block.get("kind") != "sftp":
        raise ConfigError(f"interface {interface!r} has source kind {block.get('kind')!r}, not sftp")
    try:
        return SftpSourceConfig.model_validate(_substitute(block))
    except ValueError as exc:
        raise ConfigError(f"interface {interface!r}: invalid sftp source: {exc}") from exc


class _NoLedger:
    """Doctor reads nothing and records nothing: an empty ledger that refuses writes."""

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        return None

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        raise RuntimeError("sftp doctor records nothing")

    def get_cursor(self, interface: str, key: str) -> str | None:
        return None

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        raise RuntimeError("sftp doctor records nothing")

    def relocate_batch(self, interface: str, batch_id: str, origin: str, moved_to: str) -> None:
        raise RuntimeError("sftp doctor records nothing")


def doctor_report(config: SftpSourceConfig, *, interface: str = "", base_dir: Path | None = None) -> dict[str, Any]:
    """Connect, check the host key, list the drop twice (so ``stable`` can judge) and say what is ready."""
    from bridge.ports import SourceContext

    report: dict[str, Any] = {"interface": interface, "server": f"{config.user}@{config.host}:{config.port}"}
    with tempfile.TemporaryDirectory(prefix="sftp-doctor-") as spool, SftpDropSource(config, base_dir=base_dir) as src:
        src.open(SourceContext(interface or "doctor", SystemClock(), Path(spool), _NoLedger()))
        try:
            src.connection.client()
        except BridgeError as exc:
            report.update(ok=False, error=str(exc), host_key=src.connection.host_key_fingerprint)
            return report
        report.update(
            ok=True,
            host_key=src.connection.host_key_fingerprint,
            host_key_match=src.connection.host_key_matched,
            algorithms=src.connection.negotiated(),
        )
        try:
            src.scan()
            candidates = src.scan()
        except (BridgeError, OSError) as exc:
            report.update(ok=False, error=f"listing {config.path} failed: {exc}")
            return report
        report["files"] = [
            {"path": c.entry.path, "size": c.entry.size, "ready": c.ready, "reason": c.reason} for c in candidates
        ]
        ready = [c for c in candidates if c.ready]
        report["next_poll"] = [c.entry.path for c in ready[: config.max_files_per_poll]]
    return report


@click.group("sftp")
def sftp_group() -> None:
    """SFTP drops: diagnose connections and what the poller would pick up."""


@sftp_group.command("doctor")
@click.argument("interface")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="config file (default: $ESB_BRIDGE_CONFIG or ./bridge.yaml)",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_context
def doctor(ctx: click.Context, interface: str, config_file: Path | None, as_json: bool) -> None:
    """Connect to INTERFACE's SFTP drop and report algorithms, host key and the next poll."""
    try:
        config, base_dir = _interface_config(ctx, interface, config_file)
    except ConfigError as exc:
        problems = "".join(f"\n  {p}" for p in exc.problems)
        raise click.ClickException(f"{exc}{problems}") from exc
    report = doctor_report(config, interface=interface, base_dir=base_dir)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(report)
    if not report.get("ok"):
        sys.exit(1)


@sftp_group.command("serve")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--port", type=int, default=2222, show_default=True, help="port on 127.0.0.1 (0: any free port)")
@click.option("--user", default="demo", show_default=True)
@click.option(
    "--password-env",
    default="ESB_BRIDGE_SFTP_PASSWORD",
    show_default=True,
    help="environment variable holding the password",
)
@click.option(
    "--known-hosts",
    "known_hosts",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the server's known_hosts line here, for the client config",
)
def serve(folder: Path, port: int, user: str, password_env: str, known_hosts: Path | None) -> None:
    """Serve FOLDER over SFTP on 127.0.0.1 (embedded server for trying esb-bridge; not for production)."""
    import contextlib
    import threading

    from adapters.legacy.sftp_server import EmbeddedSftpServer

    password = os.environ.get(password_env)
    if not password:
        raise click.ClickException(f"set {password_env} to the password clients must use")
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(EmbeddedSftpServer(folder, port=port, users={user: password}))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}; is another program using the port? "
                "Choose another with --port (0: any free port)"
            ) from exc
        if known_hosts is not None:
            known_hosts.write_text(server.known_hosts_line(), encoding="utf-8")
        click.echo(f"serving {folder} on sftp://{user}@127.0.0.1:{server.port}/ (Ctrl-C stops)")
        click.echo(f"host key fingerprint: {server.fingerprint}")
        click.echo(f"known_hosts line: {server.known_hosts_line().strip()}")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("stopped")


def _interface_config(ctx: click.Context, interface: str, config_file: Path | None) -> tuple[SftpSourceConfig, Path]:
    """The interface's validated sftp source block: through ``esb-bridge``'s loaded config when run under it
    (the root context object offers ``load()``), else read from the file directly."""
    root = ctx.find_root().obj
    if config_file is None and root is not None and hasattr(root, "load"):
        loaded = root.load()
        block = loaded.plugin(interface, ("source",))
        if block is None:
            raise ConfigError(f"interface {interface!r} has no source in {loaded.file}")
        if not isinstance(block, SftpSourceConfig):
            raise ConfigError(f"interface {interface!r} has source kind {block.kind!r}, not sftp")
        return block, Path(loaded.base_dir)
    path = Path(config_file or os.environ.get("ESB_BRIDGE_CONFIG", "bridge.yaml"))
    return load_source_config(path, interface), path.resolve().parent


def _print(report: dict[str, Any]) -> None:
    click.echo(f"{'server:':<16}{report['server']}")
    click.echo(f"{'host key:':<16}{report.get('host_key') or 'not received'}")
    if not report.get("ok"):
        click.echo(f"{'FAILED:':<16}{report['error']}")
        return
    click.echo(f"{'matched by:':<16}{report['host_key_match']}")
    for name, value in report["algorithms"].items():
        click.echo(f"{name + ':':<16}{value}")
    files = report["files"]
    click.echo(f"{'files:':<16}{len(files)} selected, {len(report['next_poll'])} in the next poll")
    for f in files:
        mark = "READY" if f["ready"] else "skip "
        click.echo(f"  {mark} {f['path']} ({f['size']} bytes): {f['reason']}")
