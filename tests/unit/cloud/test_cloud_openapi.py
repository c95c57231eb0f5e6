"""OpenAPI contract checks and spec diffs, on the simulator's spec and edited copies of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from adapters.cloud.cli import cloud
from adapters.cloud.openapi import OpenApiSpec, leaf_paths
from adapters.cloud.specdiff import diff_operation
from bridge.ports import ConfigError, ContractViolation

SPEC = Path(__file__).resolve().parents[3] / "samples" / "cloud_sim" / "openapi.yaml"
GOOD = {
    "external_id": "INV-1",
    "customer": "C1",
    "currency": "EUR",
    "issue_date": "2026-01-05",
    "kind": "invoice",
    "lines": [{"line_no": 1, "description": "w", "quantity": "1", "unit_price": "2.50", "tax_rate": "19"}],
}


@pytest.fixture
def spec() -> OpenApiSpec:
    return OpenApiSpec.load(SPEC)


def edited(tmp_path: Path, change: Any) -> Path:
    doc = yaml.safe_load(SPEC.read_text())
    change(doc["components"]["schemas"])
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_operation_lookup(spec: OpenApiSpec) -> None:
    """Operations are found by concrete URL (under the server base path), by operationId and by name."""
    assert spec.operation("post", "http://h:1/v1/invoices").operation_id == "createInvoice"
    assert spec.operation("get", "/v1/invoices/INV-1").name == "GET /invoices/{key}"
    assert spec.operation("post", "createPayment").path == "/payments"
    with pytest.raises(ConfigError):
        spec.operation("delete", "/v1/invoices")


def test_valid_body_passes_and_violations_name_fields(spec: OpenApiSpec) -> None:
    """A valid body passes; every violation is named by its field path, the first in the error's location."""
    op = spec.operation("post", "/v1/invoices")
    spec.validate_body(op, json.dumps(GOOD).encode())
    bad = copy.deepcopy(GOOD)
    bad["lines"][0]["quantity"] = 3
    bad["surprise"] = True
    del bad["currency"]
    with pytest.raises(ContractViolation) as info:
        spec.validate_body(op, json.dumps(bad).encode())
    fields = [v["field"] for v in info.value.detail["violations"]]
    assert "lines[0].quantity" in fields and "(body)" in fields
    assert info.value.location is not None and info.value.location.field in fields


def test_openapi_30_nullable(tmp_path: Path) -> None:
    """An OpenAPI 3.0 ``nullable`` property accepts null."""
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/x": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}},
                    "responses": {},
                }
            }
        },
        "components": {"schemas": {"X": {"type": "object", "properties": {"n": {"type": "string", "nullable": True}}}}},
    }
    spec = OpenApiSpec(doc)
    op = spec.operation("post", "/x")
    assert spec.violations(op, {"n": None}) == []
    assert spec.violations(op, {"n": 1})[0][0] == "n"


def test_leaf_paths() -> None:
    """Sample bodies give their leaf paths, with * for arrays."""
    assert leaf_paths(GOOD) == [
        "external_id",
        "customer",
        "currency",
        "issue_date",
        "kind",
        "lines.*.line_no",
        "lines.*.description",
        "lines.*.quantity",
        "lines.*.unit_price",
        "lines.*.tax_rate",
    ]


def test_diff_reports_breaking_changes_for_used_fields(spec: OpenApiSpec, tmp_path: Path) -> None:
    """Removed, renamed, retyped, narrowed, tightened and newly required fields are reported; unused are not."""

    def change(s: dict[str, Any]) -> None:
        inv, line = s["InvoiceCreate"], s["InvoiceLine"]
        del line["properties"]["tax_rate"]
        inv["properties"]["payment_due"] = inv["properties"].pop("due_date")
        line["properties"]["line_no"] = {"type": "string"}
        inv["properties"]["kind"]["enum"] = ["invoice"]
        inv["properties"]["po_number"] = {"type": "string"}
        inv["required"].append("po_number")
        inv["properties"]["external_id"]["maxLength"] = 20
        s["Address"]["properties"].pop("city")  # not used by invoices

    new = OpenApiSpec.load(edited(tmp_path, change))
    used = [*leaf_paths(GOOD), "due_date"]
    found = {(c.kind, c.field) for c in diff_operation(spec, new, "createInvoice", used)}
    assert found == {
        ("removed", "lines.*.tax_rate"),
        ("renamed", "due_date"),
        ("type_changed", "lines.*.line_no"),
        ("enum_narrowed", "kind"),
        ("new_required", "po_number"),
        ("constraint", "external_id"),
    }
    assert diff_operation(spec, spec, "createInvoice", used) == []
    narrow = diff_operation(spec, new, "createInvoice", ["customer", "currency"])
    assert [(c.kind, c.field) for c in narrow] == [("new_required", "po_number")]  # the rest is not used


def test_cli_check_and_diff_spec(tmp_path: Path) -> None:
    """``cloud check`` and ``cloud diff-spec`` exit 1 on problems and report them as text or JSON."""
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(GOOD))
    bad.write_text(json.dumps({**GOOD, "currency": "eur"}))
    runner = CliRunner()
    ok = runner.invoke(cloud, ["check", "--spec", str(SPEC), "--operation", "POST /invoices", str(good)])
    assert ok.exit_code == 0, ok.output
    res = runner.invoke(cloud, ["check", "--spec", str(SPEC), "--operation", "createInvoice", "--json", str(bad)])
    assert res.exit_code == 1 and json.loads(res.output)["results"][str(bad)][0]["field"] == "currency"

    new = edited(tmp_path, lambda s: s["InvoiceLine"]["properties"].pop("tax_rate"))
    diff = runner.invoke(
        cloud,
        [
            "diff-spec",
            str(SPEC),
            str(new),
            "--operation",
            "createInvoice",
            "--sample",
            str(good),
            "--interface",
            "invoices-to-billing",
            "--json",
        ],
    )
    assert diff.exit_code == 1
    assert json.loads(diff.output)["breaking"] == [
        {"kind": "removed", "field": "lines.*.tax_rate", "detail": "property removed"}
    ]
    clean = runner.invoke(
        cloud,
        ["diff-spec", str(SPEC), str(new), "--operation", "createInvoice", "--fields", "customer,lines.*.quantity"],
    )
    assert clean.exit_code == 0 and "0 breaking" in clean.output
