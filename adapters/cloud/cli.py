"""``esb-bridge cloud``: contract checks against a target's OpenAPI spec, without sending anything.

``check``  validates sample request bodies (JSON files, as the interface's encoder renders them) against the
           operation's request schema and lists every violation with its field path.
``diff-spec OLD NEW`` lists the changes between two spec versions that break the fields a mapping uses.

Until the mapping layer (translators) can tell which fields an interface's mapping writes, the used fields
are given explicitly: ``--fields a,b.c,lines.*.amount`` and/or ``--sample body.json`` (every leaf of a sample
body counts as used). With neither, every property of the operation's request schema counts as used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from adapters.cloud.openapi import OpenApiSpec, leaf_paths
from adapters.cloud.specdiff import diff_operation
from bridge.ports import ConfigError

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
@click.option("--spec", "spec_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The target's OpenAPI 3 file.")
@click.option("--operation", required=True, help='operationId or "POST /path".')
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.argument("samples", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def check(spec_path: str, operation: str, as_json: bool, samples: tuple[str, ...]) -> None:
    """Validate SAMPLES (JSON request bodies) against the operation's schema; exit 1 on any violation."""
    spec = _load(spec_path)
    try:
        op = spec.operation("post", operation)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    report: dict[str, list[dict[str, str]]] = {}
    for sample in samples:
        try:
            body = json.loads(Path(sample).read_text(encoding="utf-8"))
        except ValueError as exc:
            report[sample] = [{"field": "(body)", "message": f"not JSON: {exc}"}]
            continue
        report[sample] = [{"field": f, "message": m} for f, m in spec.violations(op, body)]
    if as_json:
        click.echo(json.dumps({"operation": op.name, "results": report}, indent=2))
    else:
        for sample, found in report.items():
            click.echo(f"{sample}: {'ok' if not found else f'{len(found)} violation(s)'}")
            for v in found:
                click.echo(f"  {v['field']}: {v['message']}")
    if any(report.values()):
        sys.exit(1)


@cloud.command("diff-spec")
@click.argument("old", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", type=click.Path(exists=True, dir_okay=False))
@click.option("--operation", required=True, help='operationId or "POST /path" (as named in OLD).')
@click.option("--fields", default="", help="Comma-separated field paths the mapping uses (lines.*.amount).")
@click.option("--sample", "sample", type=click.Path(exists=True, dir_okay=False),
              help="A JSON body the mapping produces: each of its leaf fields counts as used.")
@click.option("--interface", default=None, help="Interface name, for the report.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def diff_spec(old: str, new: str, operation: str, fields: str, sample: str | None, interface: str | None,
              as_json: bool) -> None:
    """Report changes from OLD to NEW that break the used fields; exit 1 when there is any."""
    used = [f.strip() for f in fields.split(",") if f.strip()]
    if sample:
        used += [p for p in leaf_paths(json.loads(Path(sample).read_text(encoding="utf-8"))) if p not in used]
    try:
        changes = diff_operation(_load(old), _load(new), operation, used or None)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps({"interface": interface, "operation": operation,
                               "breaking": [c.to_dict() for c in changes]}, indent=2))
    else:
        head = f"{interface}: " if interface else ""
        click.echo(f"{head}{operation}: {len(changes)} breaking change(s)")
        for c in changes:
            click.echo(f"  {c.kind:16} {c.field}: {c.detail}")
    if changes:
        sys.exit(1)
