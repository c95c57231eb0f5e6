"""The SOAP adapter's hardened parser, fault reading and capture redaction."""

from __future__ import annotations

import pytest

from adapters.legacy.soap_xml import (
    SOAP11_NS,
    SOAP12_NS,
    body_child,
    parse_envelope,
    parse_xml,
    read_fault,
    redact,
)
from bridge.ports import DecodeError, HostileInput

XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"""
BILLION = b"""<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>"""


def test_external_entity_is_hostile() -> None:
    """A DOCTYPE declaring an external entity is refused as HostileInput before parsing."""
    with pytest.raises(HostileInput):
        parse_xml(XXE)


def test_entity_expansion_is_hostile() -> None:
    """Internal entity expansion (billion laughs) is refused as HostileInput."""
    with pytest.raises(HostileInput):
        parse_xml(BILLION)


def test_doctype_without_entities_is_hostile() -> None:
    """Any DOCTYPE is refused, even one that declares nothing."""
    with pytest.raises(HostileInput):
        parse_xml(b"<!DOCTYPE r><r/>")


def test_malformed_xml_is_decode_error_with_line() -> None:
    """Not well-formed XML raises DecodeError carrying the line number."""
    with pytest.raises(DecodeError) as info:
        parse_xml(b"<a>\n<b></a>", origin="resp")
    assert not isinstance(info.value, HostileInput)
    assert info.value.location is not None and info.value.location.line == 2


def test_non_soap_root_is_refused() -> None:
    """parse_envelope refuses a document whose root is not a SOAP 1.1/1.2 Envelope."""
    with pytest.raises(DecodeError):
        parse_envelope(b"<html><body/></html>")


def _fault11(code: str, string: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body><s:Fault><faultcode>{code}</faultcode>'
        f"<faultstring>{string}</faultstring><detail><x>1</x></detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def test_soap11_fault_dotted_code_matches_each_segment() -> None:
    """A SOAP 1.1 fault code soap:Client.Duplicate matches 'Client', 'Duplicate' and the full local name."""
    env, ns = parse_envelope(_fault11("soap:Client.Duplicate", "already there"))
    body = body_child(env, ns)
    assert body is not None
    fault = read_fault(body, ns)
    assert fault is not None and fault.code == "soap:Client.Duplicate"
    assert fault.matches(["Client"], [])
    assert fault.matches(["erp:Duplicate"], [])
    assert fault.matches(["Client.Duplicate"], [])
    assert not fault.matches(["Server", "Dup"], [])
    assert fault.matches([], ["ALREADY"])
    assert "<x>1</x>" in fault.detail


def test_soap12_fault_code_and_subcodes() -> None:
    """A SOAP 1.2 fault exposes Code/Value, nested Subcode values and Reason/Text."""
    doc = (
        f'<e:Envelope xmlns:e="{SOAP12_NS}" xmlns:erp="urn:erp"><e:Body><e:Fault><e:Code><e:Value>e:Sender'
        "</e:Value><e:Subcode><e:Value>erp:Locked</e:Value></e:Subcode></e:Code><e:Reason>"
        '<e:Text xml:lang="en">record locked</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>'
    ).encode()
    env, ns = parse_envelope(doc)
    assert ns == SOAP12_NS
    body = body_child(env, ns)
    assert body is not None
    fault = read_fault(body, ns)
    assert fault is not None
    assert (fault.code_local, fault.subcodes, fault.string) == ("Sender", ("erp:Locked",), "record locked")
    assert fault.matches(["Locked"], []) and fault.matches(["Sender"], [])


def test_non_fault_body_reads_as_none() -> None:
    """read_fault returns None for an ordinary response element."""
    env, ns = parse_envelope(f'<s:Envelope xmlns:s="{SOAP11_NS}"><s:Body><r/></s:Body></s:Envelope>'.encode())
    body = body_child(env, ns)
    assert body is not None and read_fault(body, ns) is None


def test_redact_masks_wsse_secrets_fields_and_values() -> None:
    """Capture redaction masks WS-Security Password/Nonce, configured fields and literal secret values."""
    raw = (
        b'<Envelope><wsse:Password Type="x#PasswordText">hunter2</wsse:Password><wsse:Nonce>abc=</wsse:Nonce>'
        b"<c:taxId>DE123</c:taxId><note>pw is hunter2</note></Envelope>"
    )
    text = redact(raw, fields=["taxId"], secrets=["hunter2"])
    assert "hunter2" not in text and "abc=" not in text and "DE123" not in text
    assert '<wsse:Password Type="x#PasswordText">***</wsse:Password>' in text
    assert "<c:taxId>***</c:taxId>" in text
