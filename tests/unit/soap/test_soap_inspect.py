"""``esb-bridge soap inspect`` on several WSDL shapes and on a large vendor-style WSDL."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.legacy.soap_inspect import OperationInfo, ServiceInfo, inspect_wsdl, soap_group
from bridge.ports import ConfigError


def _ops(services: list[ServiceInfo], port: str | None = None) -> dict[str, OperationInfo]:
    return {op.name: op for s in services for p in s.ports if port in (None, p.name) for op in p.operations}


def test_sample_erp_wsdl_has_both_soap_versions_and_all_operations(erp_wsdl: Path) -> None:
    """The simulator's WSDL (XSDs imported across relative paths) lists SOAP 1.1 and 1.2 ports with six operations."""
    services = inspect_wsdl(erp_wsdl)
    versions = {p.name: p.soap_version for p in services[0].ports}
    assert versions == {"ErpSoap11": "1.1", "ErpSoap12": "1.2"}
    ops = _ops(services, "ErpSoap11")
    assert set(ops) == {
        "GetChangedInvoices",
        "GetChangedOrders",
        "GetCustomer",
        "UpsertCustomer",
        "PostInvoice",
        "GetInvoice",
    }
    assert ops["GetChangedInvoices"].input == "since: xsd:dateTime, pageToken?: xsd:string, pageSize?: xsd:int"
    assert "line?: {lineNo: xsd:int" in ops["PostInvoice"].input and "}[]" in ops["PostInvoice"].input
    assert ops["PostInvoice"].output_element == "{http://erp.example.com/ws/2009/messages}PostInvoiceResponse"


def test_doc_literal_bare_with_header_parts(wsdl_dir: Path) -> None:
    """A bare doc/literal WSDL shows the part elements, the header part and a simple-typed output."""
    ops = _ops(inspect_wsdl(wsdl_dir / "doc_literal_bare_headers.wsdl"))
    assert ops["QueryStock"].input_element == "{urn:example:stock}StockQuery"
    assert ops["QueryStock"].input == "sku: xsd:string[], warehouse?: xsd:string"
    assert ops["QueryStock"].input_headers == "session: {sessionId: xsd:string, tenant?: xsd:string}"
    assert "@unit: xsd:string" in ops["QueryStock"].output
    assert ops["AdjustStock"].output == "xsd:string"


def test_soap12_only_wsdl(wsdl_dir: Path) -> None:
    """A WCF-style SOAP 1.2-only WSDL is read with its 1.2 binding and soapAction."""
    services = inspect_wsdl(wsdl_dir / "soap12_wrapped.wsdl")
    port = services[0].ports[0]
    assert port.soap_version == "1.2"
    assert port.operations[0].soap_action == "http://tempuri.org/IPriceService/GetPrice"
    assert port.operations[0].input == "sku: xsd:string, currency?: xsd:string"


def test_xsd_imports_across_relative_paths(wsdl_dir: Path) -> None:
    """A WSDL in services/ importing ../schemas/x.xsd, which imports common/y.xsd, resolves every type."""
    ops = _ops(inspect_wsdl(wsdl_dir / "nested" / "services" / "shipments.wsdl"), "Ship12Port")
    assert ops["CreateShipment"].input == "reference: xsd:string, consignee: {partyId: xsd:string, name: xsd:string}"


def test_remote_import_is_refused_not_fetched(wsdl_dir: Path) -> None:
    """An XSD import pointing at a remote host is a ConfigError; nothing is fetched."""
    with pytest.raises(ConfigError, match="ExternalReferenceForbidden"):
        inspect_wsdl(wsdl_dir / "remote_import.wsdl")


def _vendor_wsdl(path: Path, operations: int) -> Path:
    """A large vendor-style WSDL: one shared type library, hundreds of wrapped operations, two bindings."""
    types: list[str] = []
    msgs: list[str] = []
    port_ops: list[str] = []
    b11: list[str] = []
    b12: list[str] = []
    types.append(
        '<xs:complexType name="Address"><xs:sequence><xs:element name="street" type="xs:string"/>'
        '<xs:element name="city" type="xs:string"/><xs:element name="country" type="xs:string"/>'
        "</xs:sequence></xs:complexType>"
    )
    for i in range(operations):
        name = f"BAPI_OBJ{i:03d}_CHANGE"
        types.append(
            f'<xs:element name="{name}"><xs:complexType><xs:sequence><xs:element name="Key{i}" type="xs:string"/>'
            f'<xs:element name="Address" type="v:Address" minOccurs="0"/><xs:element name="Item" maxOccurs="unbounded"'
            ' minOccurs="0"><xs:complexType><xs:sequence><xs:element name="Qty" type="xs:decimal"/></xs:sequence>'
            "</xs:complexType></xs:element></xs:sequence></xs:complexType></xs:element>"
            f'<xs:element name="{name}Response">'
            '<xs:complexType><xs:sequence><xs:element name="Return" type="xs:string"/></xs:sequence></xs:complexType>'
            "</xs:element>"
        )
        msgs.append(
            f'<wsdl:message name="{name}In"><wsdl:part name="parameters" element="v:{name}"/></wsdl:message>'
            f'<wsdl:message name="{name}Out"><wsdl:part name="parameters" element="v:{name}Response"/>'
            "</wsdl:message>"
        )
        port_ops.append(
            f'<wsdl:operation name="{name}"><wsdl:input message="v:{name}In"/>'
            f'<wsdl:output message="v:{name}Out"/></wsdl:operation>'
        )
        for prefix, out in (("soap", b11), ("soap12", b12)):
            out.append(
                f'<wsdl:operation name="{name}"><{prefix}:operation soapAction="urn:vendor:{name}"/>'
                f'<wsdl:input><{prefix}:body use="literal"/></wsdl:input>'
                f'<wsdl:output><{prefix}:body use="literal"/></wsdl:output></wsdl:operation>'
            )
    doc = f"""<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
 xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:v="urn:vendor:erp" targetNamespace="urn:vendor:erp">
<wsdl:types><xs:schema targetNamespace="urn:vendor:erp" elementFormDefault="unqualified">{"".join(types)}</xs:schema>
</wsdl:types>{"".join(msgs)}<wsdl:portType name="VendorPort">{"".join(port_ops)}</wsdl:portType>
<wsdl:binding name="V11" type="v:VendorPort"><soap:binding style="document"
 transport="http://schemas.xmlsoap.org/soap/http"/>{"".join(b11)}</wsdl:binding>
<wsdl:binding name="V12" type="v:VendorPort"><soap12:binding style="document"
 transport="http://schemas.xmlsoap.org/soap/http"/>{"".join(b12)}</wsdl:binding>
<wsdl:service name="VendorService"><wsdl:port name="V11Port" binding="v:V11"><soap:address
 location="https://erp.vendor.example/sap/bc/srt"/></wsdl:port><wsdl:port name="V12Port" binding="v:V12">
<soap12:address location="https://erp.vendor.example/sap/bc/srt12"/></wsdl:port></wsdl:service></wsdl:definitions>"""
    path.write_text(doc, encoding="utf-8")
    return path


def test_inspect_cli_on_large_vendor_wsdl(tmp_path: Path) -> None:
    """The CLI lists all 400 operations of a generated vendor WSDL on both ports, as text and JSON, quickly."""
    wsdl = _vendor_wsdl(tmp_path / "vendor.wsdl", 400)
    runner = CliRunner()
    started = time.perf_counter()
    result = runner.invoke(soap_group, ["inspect", str(wsdl)])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert result.output.count("operation BAPI_OBJ") == 800
    assert "BAPI_OBJ399_CHANGE(Key399: xsd:string, Address?: {street: xsd:string" in result.output
    assert elapsed < 30
    as_json = runner.invoke(soap_group, ["inspect", str(wsdl), "--json", "-o", "BAPI_OBJ007_CHANGE"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert [len(p["operations"]) for p in data[0]["ports"]] == [1, 1]
    assert data[0]["ports"][0]["operations"][0]["output"] == "Return: xsd:string"


def test_inspect_cli_unknown_operation_fails(erp_wsdl: Path) -> None:
    """Asking for an operation the WSDL lacks exits non-zero with a message."""
    result = CliRunner().invoke(soap_group, ["inspect", str(erp_wsdl), "-o", "NoSuchOp"])
    assert result.exit_code != 0 and "no operation 'NoSuchOp'" in result.output
