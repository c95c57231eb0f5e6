"""The ``esb-bridge demo`` command, contributed as a plugin: the bridge's core knows nothing of the demo.

The distribution ``esb-bridge-demo`` (``samples/pyproject.toml``) names :data:`PLUGINS` in the entry-point group
``esb_bridge.plugins``; ``esb-bridge`` mounts every registered plugin's ``cli`` command, so ``demo`` exists
exactly when the demo is installed (``make demo`` installs it next to the bridge). The plugin has the role
``command``: it adds a command and builds no object, so no config block can name it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from bridge.cli.render import echo_json
from bridge.ports import ConfigError, KindConfig, Plugin, PluginContext, PluginRole

__all__ = ["PLUGINS", "demo"]


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="where the demo writes its ledger, drops and reports",
)
@click.option("--seed", default=42, show_default=True)
@click.option("--days", default=10, show_default=True, help="simulated business days")
@click.option("--amqp", metavar="URL", help="publish the payment CloudEvents to RabbitMQ instead of HTTP")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def demo(ctx: click.Context, workdir: Path, seed: int, days: int, amqp: str | None, as_json: bool) -> None:
    """Run the sample scenario end to end on SQLite with simulated time: a few lines per day on stderr, then a
    table of the interfaces with their readiness and the shadow report's path (the full summary with --json)."""
    from samples.demo_app import run_demo
    from samples.demo_app.story import print_table

    if not getattr(ctx.find_root().obj, "verbose", 0):
        # The day lines already say what was dead-lettered; the per-record warnings and the simulated SFTP
        # peer's connection resets would bury them. -v brings them back.
        logging.getLogger("esb_bridge").setLevel(logging.ERROR)
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    summary = run_demo(workdir, seed=seed, days=days, progress=not as_json, amqp=amqp)
    if as_json:
        echo_json(summary)
    else:
        print_table(summary, workdir, sys.stdout)


def _builds_nothing(config: KindConfig, ctx: PluginContext) -> NoReturn:
    raise ConfigError("the demo plugin only adds the `esb-bridge demo` command; no config block can use it")


PLUGINS = (
    Plugin(
        PluginRole.COMMAND,
        "demo",
        KindConfig,
        _builds_nothing,
        cli=demo,
        description="esb-bridge demo: the sample scenario with its simulated systems",
    ),
)
