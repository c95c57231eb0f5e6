"""The change version a change-feed record declares (mapping ``version``), read by the XML and JSON decoders."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bridge.ports import ConfigError, DecodedRecord, RecordFailure
from tests.unit.translators.support import envelope, split
from translators.json_decoder import JsonDecoder
from translators.mapping.loader import compile_spec
from translators.mapping.spec import MappingSpec
from translators.xml_decoder import XmlDecoder

XML_MAPPING = """
canonical: Customer
format: xml
record: /c:feed/c:customer
version: {version}
namespaces: {{c: "urn:erp"}}
fields:
  customer_number: c:id
  name: c:name
"""

PAGE = b"""<feed xmlns="urn:erp">
  <customer rev="7"><id>C1</id><name>Alpha</name><changeVersion>1</changeVersion></customer>
  <customer rev="8"><id>C1</id><name>Beta</name><changeVersion>2</changeVersion></customer>
  <customer rev="9"><id>C1</id><name>Alpha</name><changeVersion> 3 </changeVersion></customer>
</feed>"""


def mapping(text: str) -> Any:
    return compile_spec(MappingSpec.model_validate(yaml.safe_load(text)))


def json_mapping(version: str = "version", record: str = "") -> Any:
    spec = {
        "canonical": "Customer",
        "format": "json",
        "record": record or None,
        "version": version,
        "fields": {"customer_number": "external_id", "name": "name"},
    }
    return compile_spec(MappingSpec.model_validate(spec))


@pytest.mark.parametrize(("path", "expected"), [("c:changeVersion", ["1", "2", "3"]), ("'@rev'", ["7", "8", "9"])])
def test_xml_records_carry_the_version_they_declare(path: str, expected: list[str]) -> None:
    """An element or attribute path gives each record its version (trimmed); the record itself is unchanged."""
    ok, failed = split(XmlDecoder(mapping(XML_MAPPING.format(version=path))).decode(envelope(PAGE)))
    assert not failed
    assert [r.version for r in ok] == expected
    assert [r.record.name for r in ok] == ["Alpha", "Beta", "Alpha"]


def test_an_xml_record_without_its_declared_version_is_a_dead_letter_naming_the_path() -> None:
    """A mapping that declares a version never falls back to the content hash silently."""
    page = b'<feed xmlns="urn:erp"><customer><id>C1</id><name>A</name></customer></feed>'
    ok, failed = split(XmlDecoder(mapping(XML_MAPPING.format(version="c:changeVersion"))).decode(envelope(page)))
    assert not ok
    [failure] = failed
    assert "c:changeVersion" in str(failure.error) and failure.error.location is not None
    assert failure.error.location.field == "version"


def test_a_json_page_is_one_record_per_item_with_its_version() -> None:
    """A REST change feed's page (a JSON list) splits into records, each with the version it declares."""
    items = [{"external_id": "C1", "name": n, "version": v} for n, v in (("Alpha", 1), ("Beta", 2), ("Alpha", 3))]
    ok, failed = split(JsonDecoder(json_mapping()).decode(envelope(json.dumps(items).encode())))
    assert not failed
    expected = [(0, "1", "Alpha"), (1, "2", "Beta"), (2, "3", "Alpha")]
    assert [(r.ordinal, r.version, r.record.name) for r in ok] == expected


def test_a_json_version_at_a_dotted_path_of_a_single_document() -> None:
    """One document (a webhook event) with ``record: data`` reads its version from the record's own keys."""
    body = json.dumps({"data": {"external_id": "C1", "name": "A", "meta": {"seq": "41"}}}).encode()
    [item] = JsonDecoder(json_mapping("meta.seq", record="data")).decode(envelope(body))
    assert isinstance(item, DecodedRecord) and item.version == "41"


@pytest.mark.parametrize("bad", [{"external_id": "C1", "name": "A"}, {"external_id": "C1", "name": "A", "version": {}}])
def test_a_json_record_without_a_scalar_version_is_a_dead_letter(bad: dict[str, Any]) -> None:
    """Absent or not a scalar: the record fails, the rest of the page goes on."""
    page = [bad, {"external_id": "C2", "name": "B", "version": 5}]
    items = list(JsonDecoder(json_mapping()).decode(envelope(json.dumps(page).encode())))
    assert isinstance(items[0], RecordFailure) and "'version'" in str(items[0].error)
    assert isinstance(items[1], DecodedRecord) and items[1].version == "5"


def test_a_version_path_on_a_csv_mapping_is_a_config_error() -> None:
    """Only the change-feed decoders (XML, JSON) read a version."""
    spec = {
        "canonical": "Customer",
        "format": "csv",
        "version": "rev",
        "csv": {},
        "fields": {"customer_number": "id", "name": "name"},
    }
    with pytest.raises(ConfigError, match="1 problem"):
        compile_spec(MappingSpec.model_validate(spec))


def test_a_mapping_without_version_decodes_as_before() -> None:
    """No ``version``: records carry none, so the change-feed identity stays business key + content hash."""
    text = XML_MAPPING.replace("version: {version}\n", "").format()
    ok, _ = split(XmlDecoder(mapping(text)).decode(envelope(PAGE)))
    assert [r.version for r in ok] == [None, None, None]
