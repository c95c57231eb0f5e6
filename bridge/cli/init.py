"""``esb-bridge init``: scaffold a project that runs as it is: ``bridge.yaml`` with one interface, a mapping,
sample input and a README of next steps.

Only the source x target pairs a test runs with ``run --once`` (against sshd and the shipped cloud simulator)
are offered: ``folder`` or ``sftp`` drops into a ``file`` folder or a ``rest`` endpoint. The interface carries
``Customer`` records read from CSV; the mapping is a small, commented start (``esb-bridge mapping generic
Customer --format csv`` prints every field). A ``file`` target is the legacy path (``legacy_only``), a
``rest`` target the cloud path (``cloud_only``); the README says how to add the other path and compare.
Nothing existing is overwritten.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path

import click

__all__ = ["SOURCES", "TARGETS", "init", "scaffold"]

SOURCES = ("folder", "sftp")
TARGETS = ("file", "rest")

MAPPING = """\
# How a row of the CSV becomes a canonical Customer. Add columns as you need them:
# `esb-bridge mapping generic Customer --format csv` prints every field the model has,
# `esb-bridge schema export DIR` writes the model's JSON Schema.
canonical: Customer
format: csv
csv: {delimiter: ","}
fields:
  customer_number: {column: customer_number, required: true}
  name: {column: name, required: true}
  status: {column: status, default: active}
  currency: currency
  language: language
"""

SAMPLE = """\
customer_number,name,status,currency,language
C-1001,Acme GmbH,active,EUR,de
C-1002,Globex Ltd,active,GBP,en
"""


def _source_block(source: str, name: str, sftp: dict[str, str]) -> str:
    common = 'include: ["*.csv"]\n    readiness: {rule: rename}   # skip files still written under a temp name'
    if source == "folder":
        return f"  source:\n    kind: folder\n    path: drops/{name}\n    {common}\n"
    return (
        "  source:\n    kind: sftp\n"
        f"    host: {sftp['host']}\n    port: {sftp['port']}\n    user: {sftp['user']}\n"
        f"    key_file: {sftp['key_file']}\n    known_hosts: {sftp['known_hosts']}\n"
        f"    path: {sftp['path']}\n    {common}\n"
    )


def _target_block(target: str, name: str, url: str) -> str:
    if target == "file":
        return (
            "  legacy:                      # the target is the legacy path\n"
            "    encoder: {kind: json}\n"
            f"    sink: {{kind: file, path: out/{name}}}\n"
            "  cutover: {mode: legacy_only}\n"
        )
    return (
        "  cloud:                       # the target is the cloud path\n"
        "    encoder: {kind: json}\n"
        f'    sink: {{kind: rest, url: "{url.rstrip("/")}/v1/ingest/{name}/{{business_key}}", timeout: 10}}\n'
        "  cutover: {mode: cloud_only}\n"
    )


def _readme(name: str, source: str, target: str, sftp_path: str) -> str:
    where = f"`drops/{name}/`" if source == "folder" else f"the SFTP folder `{sftp_path}`"
    arrive = f"`out/{name}/` (one JSON file per record)" if target == "file" else "the REST endpoint"
    upload = (
        f"`samples/{name}.csv` is already in `drops/{name}/`."
        if source == "folder"
        else f"Upload `samples/{name}.csv` into `{sftp_path}` first (`sftp> put samples/{name}.csv`)."
    )
    sim = (
        "The REST target points at the cloud simulator: `python -m samples.cloud_sim --port 8080` (it comes with\n"
        "`esb-bridge-demo`); change `url:` for your API.\n\n"
        if target == "rest"
        else ""
    )
    return f"""\
# {name}: {source} -> {target}

Made by `esb-bridge init`. CSV files dropped into {where} become canonical `Customer` records
(`maps/{name}.csv.yaml`) and are delivered to {arrive}.

{sim}## Next steps

1. `esb-bridge validate` checks the config, the mapping and the folders.
2. {upload} Then `esb-bridge run --once` polls once, delivers and exits.
3. `esb-bridge status` and `esb-bridge messages list` show what happened; `esb-bridge dlq list` the records
   that could not be read or delivered (`esb-bridge dlq show ID` says why, with file, line and record).
4. Map your own columns in `maps/{name}.csv.yaml`; every interface option is in the config reference
   (`docs/config-reference.md` of esb-bridge; `esb-bridge config schema` gives your editor completion).
5. To move this interface between two systems safely, add the other path (`legacy:` or `cloud:`), give both
   paths a `project:` (e.g. `{{kind: canonical-json}}`), set `cutover: {{mode: dual_write}}`, run for a while,
   then read `esb-bridge shadow report` and `esb-bridge cutover readiness` before `esb-bridge cutover set`.
6. `esb-bridge run` keeps polling every minute (`schedule: {{every: 30s}}` changes that) until Ctrl-C.
"""


def scaffold(
    directory: Path,
    *,
    name: str,
    source: str,
    target: str,
    url: str = "http://127.0.0.1:8080",
    sftp: dict[str, str] | None = None,
) -> list[Path]:
    """Write the project into ``directory``; refuses (ClickException) to overwrite any existing file."""
    home = Path.home()
    opts = {
        "host": "127.0.0.1",
        "port": "22",
        "user": getpass.getuser(),
        "key_file": str(home / ".ssh" / "id_ed25519"),
        "known_hosts": str(home / ".ssh" / "known_hosts"),
        "path": f"/srv/drops/{name}",
        **(sftp or {}),
    }
    config = (
        "# esb-bridge config: docs/config-reference.md lists every option.\n"
        "store: sqlite:///bridge.db\n"
        "interfaces:\n"
        f"  {name}:\n"
        "    canonical: Customer\n"
        f"    description: CSV customers from a {source} drop to a {target} target\n"
        + _indent(_source_block(source, name, opts))
        + f"    decoder: {{kind: csv, mapping: maps/{name}.csv.yaml}}\n"
        + _indent(_target_block(target, name, url))
    )
    files = {
        directory / "bridge.yaml": config,
        directory / "maps" / f"{name}.csv.yaml": MAPPING,
        directory / "samples" / f"{name}.csv": SAMPLE,
        directory / "README.md": _readme(name, source, target, opts["path"]),
    }
    if source == "folder":
        files[directory / "drops" / name / f"{name}.csv"] = SAMPLE
    existing = [p for p in files if p.exists()]
    if existing:
        raise click.ClickException(f"not overwriting {', '.join(map(str, existing))}")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def _indent(block: str) -> str:
    return "".join("  " + line if line.strip() else line for line in block.splitlines(keepends=True))


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--source", type=click.Choice(SOURCES), default="folder", show_default=True, help="where files come from")
@click.option("--target", type=click.Choice(TARGETS), default="file", show_default=True, help="where records go")
@click.option("--name", default="customers", show_default=True, help="interface name")
@click.option("--url", default="http://127.0.0.1:8080", show_default=True, help="rest target: the API's base URL")
@click.option("--sftp-host", default="127.0.0.1", show_default=True)
@click.option("--sftp-port", default=22, show_default=True, type=int)
@click.option("--sftp-user", help="SFTP login (default: this user)")
@click.option("--sftp-path", help="the drop folder on the server (default /srv/drops/NAME)")
@click.option("--sftp-key-file", help="private key (default ~/.ssh/id_ed25519)")
@click.option("--sftp-known-hosts", help="known_hosts with the server's key (default ~/.ssh/known_hosts)")
def init(
    directory: Path,
    source: str,
    target: str,
    name: str,
    url: str,
    sftp_host: str,
    sftp_port: int,
    sftp_user: str | None,
    sftp_path: str | None,
    sftp_key_file: str | None,
    sftp_known_hosts: str | None,
) -> None:
    """Scaffold a project in DIRECTORY: bridge.yaml with one interface, a mapping, sample input, a README."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,99}", name):
        raise click.BadParameter("lower-case letters, digits, '-', '_', '.'", param_hint="--name")
    given = {
        "host": sftp_host,
        "port": str(sftp_port),
        "user": sftp_user,
        "path": sftp_path,
        "key_file": sftp_key_file,
        "known_hosts": sftp_known_hosts,
    }
    sftp = {k: v for k, v in given.items() if v}
    written = scaffold(directory, name=name, source=source, target=target, url=url, sftp=sftp)
    for path in written:
        click.echo(str(path))
    click.echo(f"next: cd {directory} && esb-bridge validate && esb-bridge run --once (see README.md)", err=True)
