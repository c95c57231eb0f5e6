"""``esb-bridge config``: the config reference and the JSON Schema of the whole config.

``config reference`` writes ``docs/config-reference.md`` (or checks it with ``--check``); ``config schema``
prints the JSON Schema for YAML editors. Both render the pydantic models (:mod:`bridge.config.reference`);
neither reads a config file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bridge.cli.render import echo_json

__all__ = ["config"]


@click.group()
def config() -> None:
    """The config reference and the JSON Schema of the config file."""


@config.command("schema")
def config_schema_cmd() -> None:
    """Print the JSON Schema of bridge.yaml (plugin blocks as the union of their kinds)."""
    from bridge.config.reference import config_schema

    echo_json(config_schema())


@config.command("reference")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("docs/config-reference.md"),
    show_default=True,
    help="file to write ('-' for stdout)",
)
@click.option("--check", is_flag=True, help="exit 1 when the file differs from a fresh rendering; write nothing")
def config_reference_cmd(output: Path, check: bool) -> None:
    """Write the config reference (every option of the core and of every plugin) as Markdown."""
    from bridge.config.reference import render_reference, undocumented_fields

    missing = undocumented_fields()
    if missing:
        click.echo("config fields without a description:\n  " + "\n  ".join(missing), err=True)
        sys.exit(1)
    text = render_reference()
    if str(output) == "-":
        click.echo(text, nl=False)
        return
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            click.echo(f"{output} is stale: run `esb-bridge config reference -o {output}`", err=True)
            sys.exit(1)
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(str(output))
