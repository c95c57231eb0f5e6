"""``esb-bridge cloud``: contract checks against a target's OpenAPI spec, without sending anything.

``check INTERFACE SAMPLE...`` decodes sample input files with the interface's decoder, encodes each record
           with its cloud encoder and validates the body against the cloud sink's OpenAPI operation, listing
           every violation with its record and field path (nothing is sent). ``check --spec F --operation
           OP BODY.json...`` validates already-encoded bodies.
``diff-spec OLD NEW`` lists the changes between two spec versions that break the fields a mapping uses.

Until the mapping layer (translators) can tell which fields an interface's mapping writes, the used fields
are given explicitly: ``--fields a,b.c,lines.*.amount`` and/or ``--sample body.json`` (every leaf of a sample
body counts as used). With neither, every property of the operation's request schema counts as used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from adapters.cloud.contract_check import check_interface
from adapters.cloud.openapi import OpenApiSpec, leaf_paths
from adapters.cloud.specdiff import diff_operation
from bridge.ports import BridgeError, ConfigError

__all__ = ["cloud"]


@click.group("cloud", help="Cloud API tools: OpenAPI contract checks.")
def cloud() -> None:
    """The ``cloud`` command group."""


def _load(path: str) -> OpenApiSpec:
    try:
        return OpenApiSpec.load(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@cloud.command("check")
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Raw mode: the target's OpenAPI 3 file; SAMPLES are then JSON request bodies.",
)
@click.option("--operation", help='Raw mode: operationId or "POST /path".')
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.argument("args", nargs=-1, required=True)
@click.pass_context
def check(
    ctx: click.Context, spec_path: str | None, operation: str | None, as_json: bool, args: tuple[str, ...]
) -> None:
    """INTERFACE SAMPLE... : decode each sample file with the interface's decoder, encode every record with
    its cloud encoder and validate the body against the cloud sink's OpenAPI spec (nothing is sent).

    With --spec/--operation, ARGS are JSON request bodies validated directly. Exit 1 on any violation."""
    if spec_path:
        if not operation:
            raise click.UsageError("--spec needs --operation")
        report = _check_bodies(spec_path, operation, args)
        title = operation
    else:
        if len(args) < 2:
            raise click.UsageError("usage: esb-bridge cloud check INTERFACE SAMPLE...")
        root = ctx.find_root().obj
        if root is None or not hasattr(root, "load"):
            raise click.UsageError("INTERFACE mode needs the esb-bridge config (run as 'esb-bridge cloud check')")
        try:
            reports = check_interface(root.load(), args[0], [Path(a) for a in args[1:]])
        except BridgeError as exc:
            raise click.ClickException(str(exc)) from exc
        report = {r.sample: r.problems for r in reports}
        title = args[0]
    if as_json:
        click.echo(json.dumps({"checked": title, "results": report}, indent=2))
    else:
        for sample, found in report.items():
            click.echo(f"{sample}: {'ok' if not found else f'{len(found)} violation(s)'}")
            for v in found:
                rec = f"record {v['record'] + 1}: " if v.get("record") is not None else ""  # 1-based for people
                click.echo(f"  {rec}{v['field']}: {v['message']}")
    if any(report.values()):
        sys.exit(1)


def _check_bodies(spec_path: str, operation: str, samples: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    spec = _load(spec_path)
    try:
        op = spec.operation("post", operation)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    report: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        try:
            body = json.loads(Path(sample).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            report[sample] = [{"field": "(body)", "message": f"cannot read JSON: {exc}"}]
            continue
        report[sample] = [{"field": f, "message": m} for f, m in spec.violations(op, body)]
    return report


@cloud.command("diff-spec")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option("--operation", required=True, help='operationId or "POST /path" (as named in OLD).')
@click.option("--fields", default="", help="Comma-separated field paths the mapping uses (lines.*.amount).")
@click.option(
    "--sample",
    "sample",
    type=click.Path(exists=True, dir_okay=False),
    help="A JSON body the mapping produces: each of its leaf fields counts as used.",
)
@click.option("--interface", default=None, help="Interface name, for the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def diff_spec(
    old: str, new: str, operation: str, fields: str, sample: str | None, interface: str | None, as_json: bool
) -> None:
    """Report changes from OLD to NEW that break the used fields; exit 1 when there is any."""
    used = [f.strip() for f in fields.split(",") if f.strip()]
    if sample:
        used += [p for p in leaf_paths(json.loads(Path(sample).read_text(encoding="utf-8"))) if p not in used]
    try:
        changes = diff_operation(_load(old), _load(new), operation, used or None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(
            json.dumps(
                {"interface": interface, "operation": operation, "breaking": [c.to_dict() for c in changes]}, indent=2
            )
        )
    else:
        head = f"{interface}: " if interface else ""
        click.echo(f"{head}{operation}: {len(changes)} breaking change(s)")
        for c in changes:
            click.echo(f"  {c.kind:16} {c.field}: {c.detail}")
    if changes:
        sys.exit(1)
