"""``esb-bridge cutover status|set|rollback|history|readiness``, ``esb-bridge shadow report|accept-noise|noise-rules``.

Mounted by ``bridge.cli.main``; the root context object gives the loaded config (``ctx.obj.load()``). Every
change is audited with the actor from ``ESB_BRIDGE_ACTOR`` (else ``USER``); changes take effect in running
bridges within one poll cycle (the FlagRouter re-reads the ledger).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bridge.config.loaded import LoadedConfig
from bridge.ports import SystemClock
from bridge.store.ledger import Ledger, open_ledger
from cutover.audit import Cutover, CutoverError, GateClosed
from cutover.backtests import backtest_readiness, latest_evidence, list_backtests, verdict_line
from cutover.changes import BadChange, flag_changes, flag_overview
from cutover.flags import FlagStore
from cutover.gates import Readiness
from cutover.model import MODES, GateRule

__all__ = ["cutover", "shadow"]


def _echo_json(data: Any) -> None:
    import orjson

    click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS, default=str).decode())


def _actor() -> str:
    return os.environ.get("ESB_BRIDGE_ACTOR") or os.environ.get("USER") or "unknown"


def _open(ctx: click.Context) -> tuple[LoadedConfig, Ledger]:
    loaded: LoadedConfig = ctx.find_root().obj.load()
    ledger = ctx.with_resource(open_ledger(loaded.store_url(), SystemClock(), protection=loaded.protection()))
    FlagStore.of(ledger).seed(loaded)
    return loaded, ledger


def _remote(ctx: click.Context) -> Any:
    """The CLI's API writer when ``api:`` is configured (``bridge.cli.remote``: the write goes through the API,
    audited under the token's identity), or None to write to the ledger directly."""
    return ctx.find_root().obj.remote()


def _gate_refused(readiness: dict[str, Any], detail: str, as_json: bool) -> None:
    if as_json:
        _echo_json({"ok": False, "readiness": readiness})
    click.echo(f"refused: {detail}", err=True)
    sys.exit(3)


def _known(loaded: LoadedConfig, interface: str) -> None:
    if interface not in loaded.config.interfaces:
        raise click.UsageError(f"unknown interface {interface!r}; known: {', '.join(sorted(loaded.config.interfaces))}")


@click.group()
def cutover() -> None:
    """Cutover flags: status, gated promotion, rollback, audit history, readiness."""


@cutover.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The current flag of every interface."""
    _, ledger = _open(ctx)
    out = flag_overview(ledger)
    if as_json:
        _echo_json(out)
        return
    for r in out:
        roll = f" rollout={r['rollout']['percent']}%" if r["rollout"] else ""
        who = f"({r['changed_by'] or '-'}, {r['changed_at']})"
        click.echo(f"{r['interface']:<30} {r['mode']:<15} v{r['version']}{roll}  {who}")


@cutover.command("set")
@click.argument("interface")
@click.option("--mode", type=click.Choice(MODES))
@click.option("--percent", type=click.FloatRange(0, 100), help="cloud_primary rollout percentage")
@click.option("--rule", "rules", multiple=True, help="rollout attribute rule, e.g. 'region in [EU]' (repeatable)")
@click.option("--clear-rollout", is_flag=True, help="remove the rollout (all keys cloud-first in cloud_primary)")
@click.option("--legacy-feed/--no-legacy-feed", default=None, help="cloud_primary: keep feeding the legacy target")
@click.option("--shadow", type=click.Choice(["sandbox", "dry_run", "live"]))
@click.option("--reason", default="", help="why (mandatory with --force)")
@click.option("--ticket", help="change ticket id")
@click.option("--force", is_flag=True, help="promote although the readiness gate is closed (needs --reason)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def set_flag(
    ctx: click.Context,
    interface: str,
    mode: str | None,
    percent: float | None,
    rules: tuple[str, ...],
    clear_rollout: bool,
    legacy_feed: bool | None,
    shadow: str | None,
    reason: str,
    ticket: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Change an interface's flag (a new audited version; promotions are gated)."""
    if force and not reason.strip():
        raise click.UsageError("--force needs --reason")
    remote = _remote(ctx)
    if remote is not None:
        _known(ctx.find_root().obj.load(), interface)
        body = dict(mode=mode, percent=percent, rules=list(rules), clear_rollout=clear_rollout)
        body.update(legacy_feed=legacy_feed, shadow=shadow, reason=reason, ticket=ticket, force=force)
        answer = remote.post(f"/api/v1/cutover/{interface}", body)
        if answer.status == 409:
            _gate_refused(answer.data["readiness"], answer.detail, as_json)
        _say_flag(answer.data, as_json, "now")
        return
    loaded, ledger = _open(ctx)
    _known(loaded, interface)
    try:
        changes = flag_changes(
            loaded,
            ledger,
            interface,
            mode=mode,
            percent=percent,
            rules=rules,
            clear_rollout=clear_rollout,
            legacy_feed=legacy_feed,
            shadow=shadow,
        )
    except BadChange as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        cut = Cutover(ledger, backtest=latest_evidence(loaded))
        flag = cut.set(interface, changes, actor=_actor(), reason=reason, ticket=ticket, force=force)
    except GateClosed as exc:
        _gate_refused(exc.readiness.to_dict(), str(exc), as_json)
    except CutoverError as exc:
        raise click.ClickException(str(exc)) from exc
    _say_flag({"ok": True, "interface": interface, "mode": flag.mode, "version": flag.version}, as_json, "now")


def _say_flag(data: dict[str, Any], as_json: bool, verb: str) -> None:
    _echo_json(data) if as_json else click.echo(f"{data['interface']}: {verb} {data['mode']} (flag v{data['version']})")


@cutover.command("rollback")
@click.argument("interface")
@click.option("--reason", default="")
@click.option("--ticket")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def rollback(ctx: click.Context, interface: str, reason: str, ticket: str | None, as_json: bool) -> None:
    """Restore the flag version in force before the last promotion."""
    remote = _remote(ctx)
    if remote is not None:
        _known(ctx.find_root().obj.load(), interface)
        answer = remote.post(f"/api/v1/cutover/{interface}/rollback", {"reason": reason, "ticket": ticket})
        _say_flag(answer.data, as_json, "rolled back to")
        return
    loaded, ledger = _open(ctx)
    _known(loaded, interface)
    try:
        flag = Cutover(ledger).rollback(interface, actor=_actor(), reason=reason, ticket=ticket)
    except CutoverError as exc:
        raise click.ClickException(str(exc)) from exc
    _say_flag(
        {"ok": True, "interface": interface, "mode": flag.mode, "version": flag.version}, as_json, "rolled back to"
    )


@cutover.command("history")
@click.argument("interface", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, interface: str | None, as_json: bool) -> None:
    """Every flag change, newest first: who, when, from, to, reason, ticket, evidence."""
    _, ledger = _open(ctx)
    events = [e.public() for e in Cutover(ledger).history(interface)]
    if as_json:
        _echo_json(events)
        return
    for e in events:
        if e["from_version"] is None:  # the first version of the flag: nothing came before it
            change = f"v{e['to_version']} {e['to_mode']}"
        else:
            change = f"v{e['from_version']}->v{e['to_version']} {e['from_mode']}->{e['to_mode']}"
        click.echo(
            f"{e['at']} {e['interface']} {e['action']:<13} {change} by {e['actor'] or '-'}: {e['reason'] or '-'}"
            + (f" [{e['ticket']}]" if e["ticket"] else "")
        )


@cutover.command("readiness")
@click.argument("interface", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def readiness(ctx: click.Context, interface: str | None, as_json: bool) -> None:
    """Whether each interface may be promoted past legacy_primary, with the gate's figures."""
    loaded, ledger = _open(ctx)
    names = [interface] if interface else sorted(loaded.config.interfaces)
    for n in names:
        _known(loaded, n)
    cut = Cutover(ledger)
    out = []
    for n in names:
        live = cut.readiness(n)
        row = live.to_dict()
        # Beside the live figures, never in them: each finished backtest judged by the same gate.
        done = [s for s in list_backtests(loaded, n) if s.finished]
        gate = GateRule.model_validate(live.figures["rule"])
        row["backtests"] = [backtest_readiness(loaded, s.id, gate).to_dict() for s in done]
        out.append(row)
    if as_json:
        _echo_json(out)
        return
    for r in out:
        state = "READY" if r["ready"] else "not ready: " + "; ".join(r["reasons"])
        click.echo(
            f"{r['interface']:<30} {r['compared']:>7} compared, lower bound {r['match_rate_lower_bound']:.4f}  {state}"
        )
        for b in r["backtests"]:
            click.echo("  " + verdict_line(b["backtest"], Readiness(b["interface"], b["ready"], b["reasons"])))


def _backtest_report(ctx: click.Context, backtest_id: str, compare_to: str | None) -> dict[str, Any]:
    from cutover.backtests import BacktestNotFound
    from cutover.reports.backtest import build_backtest_report

    loaded: LoadedConfig = ctx.find_root().obj.load()
    try:
        return build_backtest_report(loaded, backtest_id, compare_to)
    except BacktestNotFound as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def shadow() -> None:
    """Shadow comparison reports."""


@shadow.command("report")
@click.option("--interface", "-i")
@click.option("--since", type=click.DateTime(), help="only comparisons at or after this time (UTC)")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv", "junit"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@click.option("--backtest", "backtest_id", help="the report of this backtest (its own ledger), with its verdict")
@click.option("--compare-to", "compare_to", help="with --backtest: what changed since this earlier backtest")
@click.pass_context
def report(
    ctx: click.Context,
    interface: str | None,
    since: datetime | None,
    fmt: str,
    output: Path | None,
    backtest_id: str | None,
    compare_to: str | None,
) -> None:
    """Per interface: mode, volume, match rate and bound, chart, top fields, orphans, gate, examples."""
    from cutover.reports import build_report, render_csv, render_html, render_junit

    if compare_to and not backtest_id:
        raise click.UsageError("--compare-to needs --backtest")
    if backtest_id:
        data = _backtest_report(ctx, backtest_id, compare_to)
    else:
        loaded, ledger = _open(ctx)
        if interface:
            _known(loaded, interface)
        when = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
        data = build_report(ledger, loaded, interface=interface, since=when)
    if fmt == "json":
        import orjson

        text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    else:
        text = {"html": render_html, "csv": render_csv, "junit": render_junit}[fmt](data)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        click.echo(str(output), err=True)


@shadow.command("accept-noise")
@click.argument("interface")
@click.argument("field")
@click.option("--owner", required=True, help="who owns the decision (team or person)")
@click.option("--reason", required=True, help="why the field's differences are noise (audited)")
@click.option("--expires", required=True, type=click.DateTime(["%Y-%m-%d"]), help="last day the rule holds")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def accept_noise_cmd(
    ctx: click.Context, interface: str, field: str, owner: str, reason: str, expires: datetime, as_json: bool
) -> None:
    """Accept FIELD (a compare path, e.g. updated_at or lines.*.id) of INTERFACE as noise until --expires: its
    differences count as accepted, not as mismatches, from the comparator's next round (audited)."""
    from cutover.noise_rules import BadNoiseRule, accept_noise

    body = {"field": field, "owner": owner, "reason": reason, "expires": expires.date().isoformat()}
    remote = _remote(ctx)
    if remote is not None:
        _known(ctx.find_root().obj.load(), interface)
        data = remote.post(f"/api/v1/shadow/{interface}/noise-rules", body).data
    else:
        loaded, ledger = _open(ctx)
        _known(loaded, interface)
        try:
            row = accept_noise(
                ledger, interface, field, owner=owner, reason=reason, expires=expires.date(), actor=_actor()
            )
        except BadNoiseRule as exc:
            raise click.UsageError(str(exc)) from exc
        data = row.to_dict()
    if as_json:
        _echo_json(data)
    else:
        click.echo(f"{interface}: {data['path']} accepted as noise until {data['expires']} (owner {data['owner']})")


@shadow.command("noise-rules")
@click.option("--interface", "-i")
@click.option("--history", is_flag=True, help="every rule ever accepted, not only the newest per field")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def noise_rules_cmd(ctx: click.Context, interface: str | None, history: bool, as_json: bool) -> None:
    """The accepted-noise rules (newest per field), expired ones marked."""
    loaded, ledger = _open(ctx)
    if interface:
        _known(loaded, interface)
    today = ledger.clock.now().date()
    rows = [{**r.to_dict(), "expired": r.expires < today} for r in ledger.noise_rules(interface, history=history)]
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        state = "expired" if r["expired"] else "in force"
        click.echo(
            f"{r['interface']:<24} {r['path']:<30} until {r['expires']} ({state}) owner {r['owner']}, "
            f"by {r['accepted_by']}: {r['reason']}"
        )
