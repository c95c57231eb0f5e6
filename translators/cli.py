"""CLI for mapping authors: ``esb-bridge mapping check|generic`` and ``esb-bridge translate``.

``translate`` runs a mapping over a file exactly as an interface would (same decoders, same errors) and prints
canonical records as JSON lines, or re-encoded as XML/CSV through a mapping or the generic one; errors go to
stderr with their locations. Exit status: 0 all records decoded, 1 some records failed, 2 the file failed
(including a file with no record at all, unless ``--allow-empty``); records printed before a file failure are
marked as partial output on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from bridge.ports import BridgeError, ConfigError, DecodedRecord, Envelope, IdentityRule

__all__ = ["mapping_group", "translate_command"]


@click.group("mapping", help="Check and scaffold declarative mappings.")
def mapping_group() -> None:
    """The ``mapping`` command group."""


@mapping_group.command("check", help="Validate MAPPING without data: shape, fields, code tables, hooks, paths.")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(mapping: Path) -> None:
    from translators.mapping.loader import load_mapping

    try:
        compiled = load_mapping(mapping)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    spec = compiled.spec
    click.echo(f"{mapping}: ok ({spec.format} -> {spec.canonical}, {len(compiled.root.fields)} top-level fields)")


@mapping_group.command("generic", help="Print the generic mapping of a canonical model (a starting point).")
@click.argument("canonical")
@click.option("--format", "fmt", type=click.Choice(["xml", "csv", "json"]), default="xml")
def generic(canonical: str, fmt: str) -> None:
    from translators.mapping.generic import generic_spec

    data = generic_spec(canonical, fmt).model_dump(exclude_defaults=True)
    click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


def _decoder(mapping: Any, allow_empty: bool = False) -> Any:
    from translators.csv_decoder import CsvDecoder
    from translators.facturx import FacturxDecoder
    from translators.fixed_width import FixedWidthDecoder
    from translators.idoc_flat import IdocFlatDecoder
    from translators.xml_decoder import XmlDecoder

    kinds: dict[str, Any] = {"xml": XmlDecoder, "csv": CsvDecoder, "fixed_width": FixedWidthDecoder}
    if mapping.spec.format not in kinds:
        raise ConfigError(f"{mapping.name} is a {mapping.spec.format} mapping; translate reads xml, csv or fixed_width")
    if mapping.spec.format == "xml":  # a Factur-X / ZUGFeRD PDF for the invoice it embeds, a flat-file IDoc
        return IdocFlatDecoder(FacturxDecoder(XmlDecoder(mapping, allow_empty=allow_empty or None)))
    return kinds[mapping.spec.format](mapping)


def _renderer(to: str, out_mapping: Path | None, canonical: str) -> Callable[[Any], bytes]:
    from translators.csv_encoder import CsvEncoder
    from translators.mapping.generic import generic_mapping
    from translators.mapping.loader import load_mapping
    from translators.xml_encoder import XmlEncoder

    if to == "json":
        return lambda record: record.model_dump_json().encode()
    mapping = load_mapping(out_mapping) if out_mapping else generic_mapping(canonical, to)
    encoder: XmlEncoder | CsvEncoder = XmlEncoder(mapping, pretty=True) if to == "xml" else CsvEncoder(mapping)
    return encoder.render


@click.command("translate", help="Decode FILE with a mapping; print canonical JSON lines or re-encoded output.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "-m", "mapping_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--to", type=click.Choice(["json", "xml", "csv"]), default="json", show_default=True)
@click.option("--out-mapping", type=click.Path(exists=True, path_type=Path), help="mapping for --to xml/csv")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="stop after N records")
@click.option("--allow-empty", is_flag=True, help="a file with no record is not an error (XML)")
def translate_command(
    file: Path, mapping_path: Path, to: str, out_mapping: Path | None, limit: int | None, allow_empty: bool
) -> None:
    from translators.mapping.loader import load_mapping

    try:
        mapping = load_mapping(mapping_path)
        decoder = _decoder(mapping, allow_empty)
        render = _renderer(to, out_mapping, mapping.spec.canonical)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    envelope = Envelope(
        interface="translate",
        batch_id=str(file),
        origin=str(file),
        identity_rule=IdentityRule.FILE,
        identity=str(file),
        received_at=datetime.now(UTC),
        transaction_id="translate",
        spool_path=file,
    )
    failures = written = 0
    out = sys.stdout.buffer
    try:
        for count, item in enumerate(decoder.decode(envelope), start=1):
            if isinstance(item, DecodedRecord):
                try:
                    out.write(render(item.record).rstrip(b"\n") + b"\n")
                    written += 1
                except BridgeError as exc:
                    failures += 1
                    click.echo(f"record {item.ordinal + 1} [{item.location}]: cannot encode: {exc}", err=True)
            else:
                failures += 1
                click.echo(f"record {item.ordinal + 1}: {item.error}", err=True)
                if item.fragment:
                    click.echo("  fragment: " + item.fragment[:300].replace("\n", "\n            "), err=True)
            if limit is not None and count >= limit:
                break
    except BridgeError as exc:
        out.flush()
        if written:
            click.echo(f"partial output: {written} record(s) were printed before the file failed", err=True)
        click.echo(f"file failed: {exc}", err=True)
        sys.exit(2)
    sys.exit(1 if failures else 0)
