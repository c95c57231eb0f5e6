"""``esb-bridge soap inspect WSDL``: services, ports, operations and element signatures of a local WSDL.

So a mapping can be written without reading the WSDL by hand. The WSDL and its XSD imports are loaded from
local files only (the hardened transport refuses remote documents) and nothing is called.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click
import zeep
import zeep.exceptions
from lxml import etree
from zeep.xsd import ComplexType

from adapters.legacy.soap_transport import LimitedTransport
from bridge.ports import ConfigError, Location, SystemClock

__all__ = ["OperationInfo", "PortInfo", "ServiceInfo", "inspect_wsdl", "render_text", "soap_group"]


@dataclass(frozen=True)
class OperationInfo:
    name: str
    style: str
    soap_action: str
    input_element: str
    input: str
    output_element: str
    output: str
    input_headers: str = ""


@dataclass(frozen=True)
class PortInfo:
    name: str
    binding: str
    soap_version: str
    address: str
    operations: list[OperationInfo] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    ports: list[PortInfo] = field(default_factory=list)


def _element_name(message: Any) -> str:
    body = getattr(message, "body", None)
    qname = getattr(body, "qname", None)
    return qname.text if qname is not None else ""


def _type_text(xsd_type: Any, schema: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> str:
    """A type's fields, nested types expanded: ``name?`` optional, ``[]`` repeated, ``{...}`` complex."""
    if not isinstance(xsd_type, ComplexType):
        return str(xsd_type.get_prefixed_name(schema))
    parts: list[str] = []
    for name, element in xsd_type.elements:
        child = getattr(element, "type", None)
        max_occurs = getattr(element, "max_occurs", 1)
        many = "[]" if max_occurs == "unbounded" or (isinstance(max_occurs, int) and max_occurs > 1) else ""
        optional = "?" if getattr(element, "min_occurs", 1) == 0 else ""
        if child is None:
            rendered = "any"
        elif isinstance(child, ComplexType) and depth < 8 and id(child) not in seen:
            rendered = "{" + _type_text(child, schema, depth + 1, seen | {id(xsd_type)}) + "}"
        else:
            rendered = str(child.get_prefixed_name(schema))
        parts.append(f"{name}{optional}: {rendered}{many}")
    for name, attribute in xsd_type.attributes:
        parts.append(f"@{name}: {attribute.signature(schema, standalone=False)}")
    return ", ".join(parts)


def _signature(message: Any, *, as_output: bool) -> str:
    if message is None:
        return ""
    body = getattr(message, "body", None)
    types = message.wsdl.types
    if body is not None:
        return _type_text(body.type, types)
    sig = message.signature(as_output=as_output) if as_output else message.signature()
    return str(sig or "")


def _headers(message: Any) -> str:
    header = getattr(message, "header", None)
    if header is None or not getattr(header.type, "elements", None):
        return ""
    return _type_text(header.type, message.wsdl.types)


def _operation(op: Any) -> OperationInfo:
    return OperationInfo(
        name=op.name,
        style=str(getattr(op, "style", "") or ""),
        soap_action=str(getattr(op, "soapaction", "") or ""),
        input_element=_element_name(op.input),
        input=_signature(op.input, as_output=False),
        output_element=_element_name(op.output),
        output=_signature(op.output, as_output=True),
        input_headers=_headers(op.input),
    )


def inspect_wsdl(path: Path, *, operation: str | None = None) -> list[ServiceInfo]:
    """Load ``path`` with the hardened settings and describe every service/port/operation (or one operation)."""
    if not path.is_file():
        raise ConfigError(f"WSDL file {path} does not exist", location=Location(file=str(path)))
    transport = LimitedTransport(
        connect_timeout=10, operation_timeout=10, max_bytes=64 * 1024 * 1024, clock=SystemClock()
    )
    settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        client = zeep.Client(str(path), transport=transport, settings=settings)  # type: ignore[no-untyped-call]
    except (zeep.exceptions.Error, ValueError, KeyError, OSError, etree.XMLSyntaxError) as exc:
        raise ConfigError(f"cannot load WSDL {path}: {exc}", location=Location(file=str(path))) from exc
    finally:
        transport.session.close()
    services: list[ServiceInfo] = []
    for service in client.wsdl.services.values():
        ports: list[PortInfo] = []
        for port in service.ports.values():
            binding = port.binding
            version = {"Soap11Binding": "1.1", "Soap12Binding": "1.2"}.get(type(binding).__name__, "")
            ops = [
                _operation(op)
                for name, op in sorted(binding._operations.items())
                if operation is None or name == operation
            ]
            ports.append(
                PortInfo(port.name, binding.name.text, version, str(port.binding_options.get("address", "")), ops)
            )
        services.append(ServiceInfo(service.name, ports))
    return services


def render_text(services: list[ServiceInfo]) -> str:
    lines: list[str] = []
    for service in services:
        lines.append(f"service {service.name}")
        for port in service.ports:
            lines.append(f"  port {port.name}  SOAP {port.soap_version or '?'}  binding {port.binding}")
            lines.append(f"    address {port.address}")
            for op in port.operations:
                lines.append(f"    operation {op.name}  ({op.style or 'document'}; action {op.soap_action or '-'})")
                lines.append(f"      input  {op.input_element or '(rpc)'}({op.input})")
                if op.input_headers:
                    lines.append(f"      header {op.input_headers}")
                lines.append(f"      output {op.output_element or '(rpc)'}({op.output})")
    return "\n".join(lines)


@click.group("soap", help="Legacy SOAP endpoints: inspect WSDLs.")
def soap_group() -> None:
    """The ``esb-bridge soap`` command group."""


@soap_group.command("inspect")
@click.argument("wsdl", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--operation", "-o", default=None, help="show one operation only")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def inspect_command(wsdl: Path, operation: str | None, as_json: bool) -> None:
    """Print the services, ports, operations and input/output element signatures of WSDL."""
    try:
        services = inspect_wsdl(wsdl, operation=operation)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if operation and not any(p.operations for s in services for p in s.ports):
        raise click.ClickException(f"no operation {operation!r} in {wsdl}")
    if as_json:
        click.echo(json.dumps([asdict(s) for s in services], indent=2))
    else:
        click.echo(render_text(services))
