"""``esb-bridge``: the command line. Root option ``--config`` (env ``ESB_BRIDGE_CONFIG``, default
``./bridge.yaml``) applies to every command; reporting commands take ``--json``; failures exit non-zero.

Plugin command groups (``sftp``, ``soap``, ``cloud``, ``mapping``, ...) are mounted from the plugin registry,
and so is ``demo`` when the separate distribution ``esb-bridge-demo`` (``samples/``) is installed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import ExitStack, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.cli.alerts_cmd import alerts_group
from bridge.cli.backtest_cmd import backtest_command
from bridge.cli.cluster_cmd import cluster_group
from bridge.cli.config_cmd import config as config_group
from bridge.cli.init import init as init_command
from bridge.cli.ledger_cmd import ledger_group
from bridge.cli.ops_cmd import api_server, audit_group, auth_group, serve
from bridge.cli.progress import RunProgress
from bridge.cli.reconcile_cmd import reconcile_command, reconciliation_summaries
from bridge.cli.render import echo_fields, echo_json, location_text, table
from bridge.config import LoadedConfig, load_config, resolve_config_path
from bridge.observability.logs import LOG_FORMATS, LogFormat, own_level
from bridge.observability.logs import configure as configure_logging
from bridge.plugins import registry
from bridge.ports import BridgeError, ConfigError, SystemClock
from bridge.runtime.exitcodes import RunProblem, exit_code_help
from bridge.store.records import MessageState
from cutover.cli import cutover as cutover_group
from cutover.cli import shadow as shadow_group

if TYPE_CHECKING:
    from bridge.cli.remote import ApiWriter
    from bridge.store.ledger import Ledger

__all__ = ["cli", "main"]


class Ctx:
    def __init__(self, config: str | None, verbose: int, direct: bool = False) -> None:
        self.config_path = resolve_config_path(config)
        self.verbose = verbose
        self.direct = direct
        self._loaded: LoadedConfig | None = None

    def remote(self) -> ApiWriter | None:
        """Where write commands go: the admin API when ``api:`` is configured (unless ``--direct``), else None
        (write to the ledger directly). :mod:`bridge.cli.remote` says why."""
        from bridge.cli.remote import writer_for

        return writer_for(self.load(), self.direct)

    def load(self) -> LoadedConfig:
        if self._loaded is None:
            self._loaded = load_config(self.config_path)
        return self._loaded


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--config", "config", metavar="FILE", help="config file (env ESB_BRIDGE_CONFIG, default ./bridge.yaml)")
@click.option("-v", "--verbose", count=True, help="more logging (-vv for debug)")
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    envvar="ESB_BRIDGE_LOG_FORMAT",
    help="log lines on stderr as text, or as one JSON object per line (env ESB_BRIDGE_LOG_FORMAT)",
)
@click.option(
    "--direct",
    is_flag=True,
    envvar="ESB_BRIDGE_DIRECT",
    help="write commands write to the ledger directly even when api: is configured (full trust; env ESB_BRIDGE_DIRECT)",
)
@click.version_option(package_name="esb-bridge")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int, log_format: LogFormat, direct: bool) -> None:
    """esb-bridge: move documents between a legacy ERP and cloud systems, and cut over interface by interface."""
    configure_logging(log_format, logging.WARNING - 10 * min(verbose, 2))
    own_level(logging.NOTSET)  # raised again by `run` (own_work_at_info)
    ctx.obj = Ctx(config, verbose, direct)


def own_work_at_info(c: Ctx) -> None:
    """``run`` logs the bridge's own work (files, batches, deliveries, dead letters) at INFO
    by default; other commands stay quiet below WARNING unless ``-v`` is given."""
    if c.verbose == 0:
        own_level(logging.INFO)


# ------------------------------------------------------------------------------------------------ validate


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.option(
    "--connect",
    is_flag=True,
    help="also reach every peer (SFTP host key and login, WSDL and endpoint, REST token, AMQP); sends nothing",
)
@pass_ctx
def validate(c: Ctx, as_json: bool, connect: bool) -> None:
    """Check the config file; every problem is listed with its file and line.

    Exit 0: valid; 2: config errors; 4 (with --connect): a peer could not be reached (docs/operations.md).
    """
    try:
        loaded = c.load()
    except ConfigError as exc:
        if as_json:
            echo_json({"ok": False, "problems": [p.__dict__ for p in exc.problems] or [{"message": exc.message}]})
        else:
            click.echo(str(exc), err=True)
        sys.exit(2)
    names = sorted(loaded.config.interfaces)
    from bridge.config.checks import check_config

    findings = check_config(loaded)
    errors = [f for f in findings if f.is_error]
    if errors:
        if as_json:
            problems = [{"path": f.path, "message": f.message, "file": f.file, "line": f.line} for f in errors]
            echo_json({"ok": False, "problems": problems, "findings": [f.public() for f in findings]})
        else:
            click.echo("\n".join(str(f) for f in findings if f.is_error), err=True)
            click.echo("".join(f"warning: {f}\n" for f in findings if not f.is_error), err=True, nl=False)
        sys.exit(2)
    drift = _flag_warnings(loaded)
    warnings = [*drift, *(str(f) for f in findings)]
    reached = []
    if connect:
        from bridge.config.connect import connect_checks

        reached = connect_checks(loaded)
    unreachable = any(not r.ok for r in reached)
    if as_json:
        found = [*({"severity": "warning", "message": w} for w in drift), *(f.public() for f in findings)]
        data: dict[str, Any] = {
            "ok": not unreachable,
            "file": str(loaded.file),
            "interfaces": names,
            "warnings": warnings,
            "findings": found,
        }
        if connect:
            data["connect"] = [r.public() for r in reached]
        echo_json(data)
    else:
        click.echo(f"{loaded.file}: OK, {len(names)} interface(s): {', '.join(names) or '-'}")
        for w in warnings:
            click.echo(f"warning: {w}", err=True)
        if connect:
            for r in reached:
                click.echo(str(r))
            failed = sum(not r.ok for r in reached)
            click.echo(
                f"connect: {len(reached) - failed} of {len(reached)} check(s) passed"
                if reached
                else "connect: no block of this config talks to a peer"
            )
    if unreachable:
        sys.exit(VALIDATE_UNREACHABLE)


VALIDATE_UNREACHABLE = 4
"""``validate --connect`` exit code when a peer check failed (the same bit ``run --once`` uses for a failed poll)."""


def _flag_warnings(loaded: LoadedConfig) -> list[str]:
    """Where the YAML cutover blocks differ from the ledger's flags (the ledger wins); never creates a ledger."""
    from bridge.store.ledger import open_ledger
    from cutover.flags import flag_drift

    url = loaded.store_url()
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return []
    try:
        with open_ledger(url, SystemClock(), migrate=False, protection=loaded.protection()) as ledger:
            return flag_drift(loaded, ledger)
    except Exception as exc:  # an unreachable or unmigrated ledger must not fail validation of the file
        return [f"could not compare flags with the ledger: {type(exc).__name__}"]


# ------------------------------------------------------------------------------------------------ run

_RUN_EXIT_CODES = "\b\nExit codes of --once (docs/operations.md):\n" + "\n".join(
    f"  {line}" for line in exit_code_help().removesuffix(".").split("; ")
)


@cli.command(epilog=_RUN_EXIT_CODES)
@click.option("--once", is_flag=True, help="poll every interface once, deliver what can be delivered, then exit")
@click.option("--interface", "-i", "only", multiple=True, help="only these interfaces (repeatable)")
@click.option("--max-wait", default=300.0, show_default=True, help="with --once: longest wait for retries (s)")
@click.option("--json", "as_json", is_flag=True, help="with --once: print the summary as JSON")
@pass_ctx
def run(c: Ctx, once: bool, only: tuple[str, ...], max_wait: float, as_json: bool) -> None:
    """Run the bridge: scheduled polls and delivery workers (or one pass with --once).

    With --once the exit code says what went wrong (docs/operations.md); without it, each poll failure,
    failed batch and dead letter is logged at WARNING or above.
    """
    from bridge.runtime.runner import Runner

    own_work_at_info(c)
    loaded = c.load()
    unknown = [i for i in only if i not in loaded.config.interfaces]
    if unknown:
        raise click.UsageError(f"unknown interface(s): {', '.join(unknown)}")
    shown = RunProgress()  # draws only when stderr is a terminal
    if not once:
        _run_live(loaded, list(only) or None, shown)
        return
    with Runner(
        loaded,
        SystemClock(),
        only=list(only) or None,
        progress=shown.ingested if shown.enabled else None,
        delivery_progress=shown.delivered if shown.enabled else None,
    ) as runner:
        with shown:
            summary = _run_once_stoppable(runner, max_wait, loaded.config.shutdown_grace)
        problems = summary.problems()
        data = {
            "ingest": summary.ingest,
            "attempts": summary.drain.attempts,
            "open_deliveries_left": summary.drain.open_left,
            "batches_waiting_ack": summary.acknowledged_late,
            "exit_code": problems.value,
            "problems": [p.name.lower() for p in problems if p.name],
        }
        if as_json:
            echo_json(data)
        else:
            table([{"interface": k, **v} for k, v in summary.ingest.items()])
            click.echo(f"delivery attempts: {summary.drain.attempts}, still open: {summary.drain.open_left}")
            for p in problems:
                click.echo(f"exit {p.value}: {p.meaning}", err=True)
        sys.exit(problems.value)


def _run_once_stoppable(runner: Any, max_wait: float, grace: float) -> Any:
    """``run --once`` under the same signals as ``run`` (bridge.runtime.shutdown): the first SIGTERM or Ctrl-C
    ends the pass after the work in flight (within ``shutdown_grace``), releases this process's claims and
    leases and exits with bit 64 (work left open) set; a second signal exits at once."""
    from bridge.runtime.shutdown import Shutdown

    with Shutdown(grace).installed() as shutdown:
        return _stoppable(runner, max_wait, grace, shutdown)


def _stoppable(runner: Any, max_wait: float, grace: float, shutdown: Any) -> Any:
    out: dict[str, Any] = {}

    def once() -> None:
        try:
            out["summary"] = runner.run_once(max_wait=max_wait, stop=shutdown.stop)
        except BaseException as exc:  # raised again in the main thread
            out["error"] = exc

    th = threading.Thread(target=once, name="run-once", daemon=True)
    th.start()
    while th.is_alive() and not shutdown.stop.is_set():
        th.join(0.2)
    if shutdown.stop.is_set():
        runner.clock.wake()  # a retry wait ends now
        th.join(grace)
        released = runner.ledger.release_own_claims(), runner.ledger.release_own_leases()
        logging.getLogger("esb_bridge.runtime.shutdown").info("stopped: %d claim(s), %d lease(s) released", *released)
        if th.is_alive():  # the grace is over: abandon what still runs (its claims are released: fenced off)
            click.echo(f"esb-bridge: stopped after {grace:g}s grace; work in flight abandoned", err=True)
            sys.stderr.flush()
            os._exit(int(RunProblem.WORK_LEFT_OPEN))
    if "error" in out:
        raise out["error"]
    return out["summary"]


def _run_live(loaded: Any, only: list[str] | None, shown: RunProgress) -> None:
    """``run`` without --once: generations of the runtime, one per accepted config (bridge.runtime.reload),
    until a signal stops it (bridge.runtime.shutdown)."""
    from bridge.runtime.shutdown import Shutdown

    shutdown = Shutdown(loaded.config.shutdown_grace)
    shutdown.install()
    with shown:
        unfinished = _generations(loaded, only, shown, shutdown)
    if unfinished:  # abandoned after the grace (their claims are released): do not wait for them
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _generations(loaded: Any, only: list[str] | None, shown: RunProgress, shutdown: Any) -> list[str]:
    """Run one generation per config until a stop; what the last one abandoned after its grace."""
    from bridge.runtime.reload import ConfigWatcher, Reload
    from bridge.runtime.reload import log as reload_log
    from bridge.runtime.runner import Runner

    previous = None
    while True:
        watcher = ConfigWatcher(loaded)
        generation = ExitStack()
        try:
            runner = generation.enter_context(
                Runner(
                    loaded,
                    SystemClock(),
                    only=[i for i in only if i in loaded.config.interfaces] if only else None,
                    progress=shown.ingested if shown.enabled else None,
                    delivery_progress=shown.delivered if shown.enabled else None,
                )
            )
        except Exception as exc:
            if previous is None:
                raise
            reload_log.error("the new config does not start (%s); going back to the previous one", exc)
            loaded, previous = previous, None
            continue
        change: Reload | None = None
        with generation:
            end = threading.Event()
            watching = threading.Thread(target=watcher.watch, args=(shutdown.stop, end), daemon=True, name="reload")
            watching.start()
            click.echo(f"esb-bridge running {len(runner.interfaces)} interface(s); Ctrl-C to stop", err=True)
            with api_server(loaded, runner.ledger, runner) if loaded.config.api else nullcontext():
                runner.run_forever(end, grace=shutdown.grace)
            change = None if shutdown.stop.is_set() else watcher.accepted
            if change is not None and change.removed:
                targets = [t for t, w in runner.workers.items() if w.rt.name in change.removed]
                left = runner.ledger.open_work(targets, include_held=True) if targets else 0
                reload_log.warning(
                    "interface(s) %s removed from the config: %d open delivery(ies) stay in the ledger "
                    "(delivered when the interface comes back; `esb-bridge status` shows them)",
                    ", ".join(change.removed),
                    left,
                )
        if change is None:
            return list(runner.unfinished)
        previous, loaded = loaded, change.loaded


# ------------------------------------------------------------------------------------------------ status, messages


def _ledger(c: Ctx) -> Ledger:
    """The config's ledger, migrated, closed when the command ends."""
    from bridge.store.ledger import open_ledger

    loaded = c.load()
    return click.get_current_context().with_resource(
        open_ledger(loaded.store_url(), SystemClock(), protection=loaded.protection())
    )


def _engine(c: Ctx) -> Any:
    return _ledger(c).engine


def _masked(c: Ctx, ledger: Ledger, data: dict[str, Any], *, message: bool) -> dict[str, Any]:
    """A message or dead letter of an interface with sensitive fields as people may see it (the API's masking);
    an interface that is not configured any more is masked whole."""
    from bridge.web.masking import mask_dead_letter, mask_message
    from cutover.compare.paths import PathMatcher

    cfg = c.load().config.interfaces.get(data["interface"])
    if cfg is not None and not cfg.compare.sensitive:
        return data
    key = ledger.protection.hash_key_for(data["interface"])
    if message:
        return mask_message(data, PathMatcher(cfg.compare.sensitive if cfg else ("**",)), key)
    return mask_dead_letter(data, key)


OBSERVED = ".observe"
"""Suffix of the batches an observation source records (``cutover.comparator``): not an interface of its own."""


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def status(c: Ctx, as_json: bool) -> None:
    """Per interface: messages by state, deliveries by path/role/status, open dead letters."""
    from bridge.store.queries import status_counts

    ledger = _ledger(c)
    data = status_counts(ledger.engine)
    for name in c.load().config.interfaces:
        data.setdefault(name, {"messages": {}, "deliveries": {}, "dead_letters_open": 0, "batches": {}})
    for name, summary in reconciliation_summaries(ledger.latest_reconciliations()).items():
        if name in data:
            data[name]["reconciliation"] = summary
    if as_json:
        echo_json(data)
        return
    rows = []
    observed = {n for n in data if n.endswith(OBSERVED) and n.removesuffix(OBSERVED) in data}
    for name, d in sorted(data.items()):
        if name in observed:
            continue
        rows.append(
            {
                "interface": name,
                "messages": d["messages"],
                "dead letters": d["dead_letters_open"],
                "batches": d["batches"],
            }
        )
        for path, st in sorted(d["deliveries"].items()):
            rows.append({"interface": f"  {path}", "messages": st})
        for target, circ in sorted(d.get("circuits", {}).items()):
            if circ["state"] != "closed":
                until = f" until {circ['retry_at']}" if circ["retry_at"] else ""
                rows.append(
                    {
                        "interface": f"  circuit {target}",
                        "messages": f"{circ['state']}{until} ({circ['failures']} failures in a row)",
                    }
                )
        if "reconciliation" in d:
            r = d["reconciliation"]
            rows.append(
                {"interface": "  reconciled", "messages": f"{r['at']}: {r['status']}, {r['differences']} differences"}
            )
        if name + OBSERVED in observed:
            rows.append({"interface": "  observed *", "batches": data[name + OBSERVED]["batches"]})
    table(rows, ["interface", "messages", "dead letters", "batches"])
    if observed:
        click.echo(
            "* observed: what the old ESB produced for a `forward`/`observe` legacy path, read only to compare "
            f"(kept in the ledger as `<interface>{OBSERVED}`)"
        )


@cli.group()
def messages() -> None:
    """Inspect recorded messages."""


@messages.command("list")
@click.option("--interface", "-i")
@click.option("--state", type=click.Choice([s.value for s in MessageState]))
@click.option("--business-key", "-k", help="only messages of this business key")
@click.option("--transaction-id", "-t", help="only messages of this transaction id")
@click.option("--since", type=click.DateTime(), help="only messages recorded at or after this time (UTC)")
@click.option("--until", type=click.DateTime(), help="only messages recorded before this time (UTC)")
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def messages_list(
    c: Ctx,
    interface: str | None,
    state: str | None,
    business_key: str | None,
    transaction_id: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """The most recent messages (newest first), optionally by state, business key, transaction id, time."""
    from bridge.store.queries import MessageQuery, search_messages

    utc = {k: v.replace(tzinfo=UTC) if v and v.tzinfo is None else v for k, v in (("since", since), ("until", until))}
    query = MessageQuery(interface, state, business_key, transaction_id, limit=limit, **utc)
    rows = search_messages(_engine(c), query)
    echo_json(rows) if as_json else table(rows)


@messages.command("show")
@click.argument("message_id")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def messages_show(c: Ctx, message_id: str, as_json: bool) -> None:
    """One message with its deliveries and every attempt."""
    from bridge.store.queries import message_detail

    ledger = _ledger(c)
    data = message_detail(ledger.engine, message_id, ledger.protection)
    if data is None:
        raise click.ClickException(f"no message {message_id}")
    data = _masked(c, ledger, data, message=True)
    if as_json:
        echo_json(data)
        return
    echo_fields(
        {
            k: data[k]
            for k in ("id", "interface", "business_key", "canonical", "state", "mode", "created_at", "location")
        },
        width=13,
    )
    for d in data["deliveries"]:
        click.echo(f"\n{d['path']}/{d['role']} -> {d['target']}: {d['status']} after {d['attempts']} attempt(s)")
        table(d["attempts_log"], ["number", "started_at", "status", "detail", "next_attempt_at"])


# ------------------------------------------------------------------------------------------------ dlq


@cli.group()
def dlq() -> None:
    """The dead-letter queue: list, show, replay, discard."""


@dlq.command("list")
@click.option("--interface", "-i")
@click.option("--status", default="open", show_default=True, help="open | replayed | discarded | all")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dlq_list(c: Ctx, interface: str | None, status: str, as_json: bool) -> None:
    """Dead letters with their error and location."""
    from bridge.store.queries import dead_letters

    rows = dead_letters(_engine(c), interface, None if status == "all" else status)
    if as_json:
        echo_json(rows)
        return
    table(
        [{**r, "error": (r["error"] or {}).get("message"), "location": location_text(r["location"])} for r in rows],
        ["id", "interface", "kind", "message_id", "status", "error", "location"],
    )


@dlq.command("show")
@click.argument("dl_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dlq_show(c: Ctx, dl_id: int, as_json: bool) -> None:
    """One dead letter: error, location, original fragment, target response."""
    from bridge.store.queries import dead_letter

    ledger = _ledger(c)
    data = dead_letter(ledger.engine, dl_id, ledger.protection)
    if data is None:
        raise click.ClickException(f"no dead letter {dl_id}")
    data = _masked(c, ledger, data, message=False)
    if as_json:
        echo_json(data)
        return
    echo_fields(data, nested=("error",))


def _actor() -> str:
    return os.environ.get("ESB_BRIDGE_ACTOR") or os.environ.get("USER") or "unknown"


@dlq.command("replay")
@click.argument("dl_ids", type=int, nargs=-1, required=True)
@click.option("--deliver/--no-deliver", default=True, show_default=True, help="deliver right away (one pass)")
@click.option("--force", is_flag=True, help="replay even when a newer version of the key was delivered since")
@click.option("--reason", default="", help="why a forced replay is right (needed with --force; audited)")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def dlq_replay(c: Ctx, dl_ids: tuple[int, ...], deliver: bool, force: bool, reason: str, as_json: bool) -> None:
    """Replay dead letters with the current config and mapping (audited).

    A delivery dead letter is refused when a newer version of its key was delivered to the same target since;
    --force --reason TEXT replays it anyway.
    """
    remote = c.remote()
    if remote is not None:  # the API's bridge delivers replays itself (`run`), or queues them (`serve`)
        body = {"force": force, "reason": reason}
        results = [remote.post(f"/api/v1/dead-letters/{dl_id}/replay", body).data for dl_id in dl_ids]
        data: dict[str, Any] = {"replayed": results, "attempts": 0, "via": remote.url}
        echo_json(data) if as_json else table(results)
        return
    from bridge.runtime.replay import replay
    from bridge.runtime.runner import Runner

    with Runner(c.load(), SystemClock()) as runner:
        results = [replay(runner, dl_id, _actor(), force=force, reason=reason) for dl_id in dl_ids]
        summary = runner.drain(max_wait=0) if deliver else None
    data = {"replayed": results, "attempts": summary.attempts if summary else 0}
    if as_json:
        echo_json(data)
    else:
        table(results)
        if summary:
            click.echo(f"delivery attempts: {summary.attempts}")


@dlq.command("discard")
@click.argument("dl_ids", type=int, nargs=-1, required=True)
@click.option("--reason", required=True, help="why it is discarded (kept in the audit log)")
@pass_ctx
def dlq_discard(c: Ctx, dl_ids: tuple[int, ...], reason: str) -> None:
    """Discard dead letters for good; needs a reason (audited)."""
    remote = c.remote()
    if remote is not None:
        for dl_id in dl_ids:
            remote.post(f"/api/v1/dead-letters/{dl_id}/discard", {"reason": reason})
            click.echo(f"dead letter {dl_id} discarded")
        return
    from bridge.store.dlq import discard

    ledger = _ledger(c)
    for dl_id in dl_ids:
        discard(ledger, dl_id, _actor(), reason)
        click.echo(f"dead letter {dl_id} discarded")


@dlq.command("assign")
@click.argument("dl_ids", type=int, nargs=-1, required=True)
@click.option("--owner", help="who owns the failed transactions (omit to clear)")
@pass_ctx
def dlq_assign(c: Ctx, dl_ids: tuple[int, ...], owner: str | None) -> None:
    """Name who owns failed transactions (audited)."""
    remote = c.remote()
    ledger = None if remote is not None else _ledger(c)
    for dl_id in dl_ids:
        if remote is not None:
            remote.post(f"/api/v1/dead-letters/{dl_id}/assign", {"owner": owner})
        else:
            assert ledger is not None
            if not ledger.assign_dead_letter(dl_id, owner):
                raise click.ClickException(f"dead letter {dl_id} does not exist")
            ledger.audit(_actor(), "dlq.assign", f"dead_letter:{dl_id}", detail={"owner": owner})
        click.echo(f"dead letter {dl_id} assigned to {owner or 'nobody'}")


# ------------------------------------------------------------------------------------------------ schema, db


@cli.group()
def schema() -> None:
    """Canonical model JSON Schemas."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def schema_export(directory: Path) -> None:
    """Write one JSON Schema file per canonical model into DIRECTORY."""
    import orjson

    from bridge.canonical import json_schemas

    directory.mkdir(parents=True, exist_ok=True)
    for name, s in sorted(json_schemas().items()):
        (directory / f"{name}.schema.json").write_bytes(orjson.dumps(s, option=orjson.OPT_INDENT_2))
        click.echo(str(directory / f"{name}.schema.json"))


@cli.group()
def db() -> None:
    """The ledger database."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(c: Ctx) -> None:
    """Apply the ledger migrations (also done at start-up)."""
    engine = _engine(c)
    click.echo(f"ledger at {engine.url.render_as_string(hide_password=True)} is up to date")


cli.add_command(cutover_group)
cli.add_command(config_group)
cli.add_command(init_command)
cli.add_command(shadow_group)
cli.add_command(ledger_group)
cli.add_command(cluster_group)
cli.add_command(reconcile_command)
cli.add_command(backtest_command)
cli.add_command(alerts_group)
cli.add_command(serve)
cli.add_command(auth_group)
cli.add_command(audit_group)


def _mount_plugin_groups() -> None:
    seen = set(cli.commands)
    for plugin in registry.all():
        group = plugin.cli
        if group is not None and group.name and group.name not in seen:
            cli.add_command(group)
            seen.add(group.name)


def _json_requested() -> bool:
    """Whether the command line asked for JSON: then errors are JSON too (on stdout, where the answer goes)."""
    return "--json" in sys.argv[1:]


def _json_error(kind: str, message: str, problems: list[dict[str, Any]] | None = None) -> None:
    echo_json(
        {"ok": False, "error": {"type": kind, "message": message, **({"problems": problems} if problems else {})}}
    )


def main() -> None:
    try:
        _mount_plugin_groups()
    except BridgeError as exc:
        click.echo(f"error loading plugins: {exc}", err=True)
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if _json_requested():
            _json_error("usage" if isinstance(exc, click.UsageError) else "error", exc.format_message())
        else:
            exc.show()
        sys.exit(exc.exit_code)
    except BridgeError as exc:
        if _json_requested():
            problems = [p.__dict__ for p in exc.problems] if isinstance(exc, ConfigError) else []
            _json_error(exc.code, exc.message, problems)
        else:
            click.echo(f"error: {exc}", err=True)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(130)
