"""XML decode benchmark: XmlDecoder vs a minimal lxml iterparse loop vs an xmltodict loop, in one run.

Generates N invoices (default 200,000, about 230 MB, 3 lines each) into a temp file, then decodes the same
file three ways, each in a fresh subprocess (so each peak RSS is its own): the mapping-driven XmlDecoder, a
minimal hand-written ``lxml.etree.iterparse`` + dict + pydantic loop, and an ``xmltodict`` + pydantic loop.
All three validate every record as the canonical Invoice. Prints records/s, the ratios and peak RSS.

``--ubl N`` measures the shipped UBL 2.1 mapping instead (``samples/mappings/ubl-invoice.yaml``, with its hook
and every EN 16931 rule) over N generated UBL invoices, one document per envelope as files arrive; with
``--baseline DIR`` (a git worktree of an earlier commit, e.g. ``git worktree add --detach /tmp/base 0e2b9bc``)
the same documents are also decoded by that commit's bridge and mapping, alternating in the same run, and the
ratio is printed (acceptance: within 10 %).

    python benchmarks/xml_decode.py [--count 200000] [--rounds 1] [--keep FILE]
    python benchmarks/xml_decode.py --ubl 100000 --baseline /tmp/base [--rounds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from _decode_harness import count_decoded, run_rounds, worker

NS = "urn:erp:invoice:1"
MAPPING = f"""
canonical: Invoice
format: xml
namespaces: {{e: "{NS}"}}
record: /e:Invoices/e:Invoice
fields:
  invoice_number: e:No
  issue_date: {{path: e:Date, convert: date}}
  due_date: {{path: e:Due, convert: date}}
  customer_id: e:Cust
  currency: e:Cur
  order_reference: e:Ref
  note: e:Note
  bill_to:
    path: e:BillTo
    fields:
      lines: {{paths: [e:Street]}}
      city: e:City
      postal_code: e:Zip
      country: e:Country
  lines:
    path: e:Line
    many: true
    fields:
      line_id: e:Id
      product_id: e:Sku
      description: e:Text
      quantity: {{path: e:Qty, convert: decimal}}
      unit_code: e:Unit
      unit_price: {{path: e:Price, convert: decimal}}
      line_extension_amount: {{path: e:Net, convert: decimal}}
      tax_rate: {{path: e:Tax, convert: decimal}}
  line_extension_total: {{path: e:Totals/e:Net, convert: decimal}}
  tax_exclusive_amount: {{path: e:Totals/e:Net, convert: decimal}}
  tax_total: {{path: e:Totals/e:Tax, convert: decimal}}
  tax_inclusive_amount: {{path: e:Totals/e:Gross, convert: decimal}}
  payable_amount: {{path: e:Totals/e:Payable, convert: decimal}}
"""


def generate(path: Path, count: int) -> None:
    """Write ``count`` valid invoices with 3 lines each, streaming."""
    q2 = Decimal("0.01")
    with path.open("w", encoding="utf-8") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Invoices xmlns="{NS}">\n')
        for i in range(count):
            lines, net = [], Decimal(0)
            for j in range(1, 4):
                qty, price = Decimal(j + i % 5), Decimal(f"{(i % 97) + j}.{(i * j) % 100:02d}")
                amount = (qty * price).quantize(q2)
                net += amount
                lines.append(
                    f"<Line><Id>{j}</Id><Sku>SKU-{(i * 7 + j) % 10000:05d}</Sku><Text>Article {j} of order {i}, blue, "
                    "delivered in the standard carton"
                    f"</Text><Qty>{qty}</Qty><Unit>EA</Unit><Price>{price}</Price><Net>{amount}</Net><Tax>19</Tax>"
                    "</Line>"
                )
            tax = (net * Decimal("0.19")).quantize(q2, rounding=ROUND_HALF_UP)
            out.write(
                f"<Invoice><No>INV-{i:08d}</No><Date>2024-03-15</Date><Due>2024-04-14</Due><Cust>C{i % 50000:06d}"
                f"</Cust><Cur>EUR</Cur><Ref>PO-{i:07d}</Ref><Note>Thank you for your order. Payable within 30 days "
                "net, 2 % discount within 10 days; please quote the invoice number with every payment."
                "</Note><Contact>accounts.payable@customer.example, +49 30 1234567</Contact>"
                "<BillTo><Street>Hauptstrasse 1</Street><City>Berlin</City><Zip>10115</Zip>"
                f"<Country>DE</Country></BillTo>{''.join(lines)}<Totals><Net>{net}</Net><Tax>{tax}</Tax>"
                f"<Gross>{net + tax}</Gross><Payable>{net + tax}</Payable></Totals></Invoice>\n"
            )
        out.write("</Invoices>\n")


#: Separates the generated UBL documents in one file; each becomes one envelope (a UBL file holds one document).
UBL_SEPARATOR = b"\n<!-- next document -->\n"
_UBL_NS = (
    'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)


def generate_ubl(path: Path, count: int) -> None:
    """Write ``count`` Peppol BIS 3 shaped UBL 2.1 invoices (3 lines at 19 % and 7 %), separated, streaming.

    Shaped so that the mapping before issue 14 decodes them too (buyer PartyIdentification, a street line, a
    DocumentCurrencyCode, units from its closed table): both versions do the same work on the same bytes.
    """
    q2 = Decimal("0.01")
    with path.open("wb") as out:
        for i in range(count):
            lines, groups = [], {Decimal(19): [Decimal(0), Decimal(0)], Decimal(7): [Decimal(0), Decimal(0)]}
            for j in range(1, 4):
                rate = Decimal(19 if j != 2 else 7)
                qty, price = Decimal(j + i % 5), Decimal(f"{(i % 97) + j}.{(i * j) % 100:02d}")
                amount = (qty * price).quantize(q2)
                groups[rate][0] += amount
                groups[rate][1] += (amount * rate / 100).quantize(q2, rounding=ROUND_HALF_UP)
                lines.append(
                    f'<cac:InvoiceLine><cbc:ID>{j}</cbc:ID><cbc:InvoicedQuantity unitCode="EA">{qty}'
                    f'</cbc:InvoicedQuantity><cbc:LineExtensionAmount currencyID="EUR">{amount}'
                    f"</cbc:LineExtensionAmount><cac:OrderLineReference><cbc:LineID>{j}</cbc:LineID>"
                    f"</cac:OrderLineReference><cac:Item><cbc:Description>Article {j} of order {i}, blue, delivered"
                    f" in the standard carton</cbc:Description><cbc:Name>Article {j}</cbc:Name>"
                    f"<cac:SellersItemIdentification><cbc:ID>SKU-{(i * 7 + j) % 10000:05d}</cbc:ID>"
                    f"</cac:SellersItemIdentification><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{rate}"
                    "</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>"
                    f'</cac:Item><cac:Price><cbc:PriceAmount currencyID="EUR">{price}</cbc:PriceAmount></cac:Price>'
                    "</cac:InvoiceLine>"
                )
            net = groups[Decimal(19)][0] + groups[Decimal(7)][0]
            tax = groups[Decimal(19)][1] + groups[Decimal(7)][1]
            subtotals = "".join(
                f'<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">{g[0]}</cbc:TaxableAmount>'
                f'<cbc:TaxAmount currencyID="EUR">{g[1]}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>S</cbc:ID>'
                f"<cbc:Percent>{rate}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>"
                "</cac:TaxCategory></cac:TaxSubtotal>"
                for rate, g in groups.items()
            )
            party = (
                '<cac:Party><cbc:EndpointID schemeID="0088">{gln}</cbc:EndpointID><cac:PartyIdentification>'
                "<cbc:ID>{pid}</cbc:ID></cac:PartyIdentification><cac:PartyName><cbc:Name>{name}</cbc:Name>"
                "</cac:PartyName><cac:PostalAddress><cbc:StreetName>{street}</cbc:StreetName><cbc:CityName>"
                "{city}</cbc:CityName><cbc:PostalZone>{zip}</cbc:PostalZone><cac:Country><cbc:IdentificationCode>"
                "DE</cbc:IdentificationCode></cac:Country></cac:PostalAddress><cac:PartyLegalEntity>"
                "<cbc:RegistrationName>{name}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>"
            )
            seller = party.format(
                gln="4000001000005",
                pid="S-0001",
                name="Seller GmbH",
                street="Hauptstrasse 1",
                city="Berlin",
                zip="10115",
            )
            buyer = party.format(
                gln=f"40000{i % 50000:08d}",
                pid=f"C{i % 50000:06d}",
                name=f"Buyer {i % 50000}",
                street="Marktplatz 5",
                city="Hamburg",
                zip="20095",
            )
            doc = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice {_UBL_NS}>'
                "<cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
                "</cbc:CustomizationID><cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>"
                f"<cbc:ID>INV-{i:08d}</cbc:ID><cbc:IssueDate>2024-03-15</cbc:IssueDate><cbc:DueDate>2024-04-14"
                "</cbc:DueDate><cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode><cbc:Note>Thank you for your order."
                " Payable within 30 days net.</cbc:Note><cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
                f"<cbc:BuyerReference>REF-{i % 1000:04d}</cbc:BuyerReference><cac:OrderReference><cbc:ID>PO-{i:07d}"
                f"</cbc:ID></cac:OrderReference><cac:AccountingSupplierParty>{seller}</cac:AccountingSupplierParty>"
                f"<cac:AccountingCustomerParty>{buyer}</cac:AccountingCustomerParty>"
                f'<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{tax}</cbc:TaxAmount>{subtotals}</cac:TaxTotal>'
                f'<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>'
                f'<cbc:TaxExclusiveAmount currencyID="EUR">{net}</cbc:TaxExclusiveAmount>'
                f'<cbc:TaxInclusiveAmount currencyID="EUR">{net + tax}</cbc:TaxInclusiveAmount>'
                f'<cbc:PayableAmount currencyID="EUR">{net + tax}</cbc:PayableAmount></cac:LegalMonetaryTotal>'
                f"{''.join(lines)}</Invoice>"
            )
            out.write(doc.encode("utf-8") + UBL_SEPARATOR)


def run_ubl(path: Path, mapping: Path) -> int:
    """The shipped UBL mapping over each generated document as its own envelope (one file, one invoice)."""
    from datetime import UTC, datetime

    from bridge.ports import DecodedRecord, Envelope, IdentityRule
    from translators.mapping.loader import load_mapping
    from translators.xml_decoder import XmlDecoder

    decoder = XmlDecoder(load_mapping(mapping))
    when = datetime.now(UTC)
    n = 0
    for k, body in enumerate(path.read_bytes().split(UBL_SEPARATOR)):
        if not body:
            continue
        envelope = Envelope(
            interface="bench",
            batch_id=f"b{k}",
            origin=f"inv-{k}.xml",
            identity_rule=IdentityRule.FILE,
            identity=str(k),
            received_at=when,
            transaction_id="t",
            body=body,
        )
        for item in decoder.decode(envelope):
            if not isinstance(item, DecodedRecord):
                raise SystemExit(f"unexpected failure: {item.error}")
            n += 1
    return n


def run_decoder(path: Path, mapping: Path) -> int:
    from translators.mapping.loader import load_mapping
    from translators.xml_decoder import XmlDecoder

    return count_decoded(XmlDecoder(load_mapping(mapping)), path)


def run_iterparse(path: Path, mapping: Path) -> int:
    """The minimal hand-written loop: iterparse, findtext into a dict, validate, clear."""
    from lxml import etree

    from bridge.canonical import Invoice

    ns = "{" + NS + "}"
    n = 0
    for _, el in etree.iterparse(str(path), tag=ns + "Invoice"):
        bill = el.find(ns + "BillTo")
        totals = el.find(ns + "Totals")
        data = {
            "invoice_number": el.findtext(ns + "No"),
            "issue_date": el.findtext(ns + "Date"),
            "due_date": el.findtext(ns + "Due"),
            "customer_id": el.findtext(ns + "Cust"),
            "currency": el.findtext(ns + "Cur"),
            "order_reference": el.findtext(ns + "Ref"),
            "note": el.findtext(ns + "Note"),
            "bill_to": {
                "lines": [bill.findtext(ns + "Street")],
                "city": bill.findtext(ns + "City"),
                "postal_code": bill.findtext(ns + "Zip"),
                "country": bill.findtext(ns + "Country"),
            },
            "lines": [
                {
                    "line_id": line.findtext(ns + "Id"),
                    "product_id": line.findtext(ns + "Sku"),
                    "description": line.findtext(ns + "Text"),
                    "quantity": line.findtext(ns + "Qty"),
                    "unit_code": line.findtext(ns + "Unit"),
                    "unit_price": line.findtext(ns + "Price"),
                    "line_extension_amount": line.findtext(ns + "Net"),
                    "tax_rate": line.findtext(ns + "Tax"),
                }
                for line in el.iterfind(ns + "Line")
            ],
            "line_extension_total": totals.findtext(ns + "Net"),
            "tax_exclusive_amount": totals.findtext(ns + "Net"),
            "tax_total": totals.findtext(ns + "Tax"),
            "tax_inclusive_amount": totals.findtext(ns + "Gross"),
            "payable_amount": totals.findtext(ns + "Payable"),
        }
        Invoice.model_validate(data)
        n += 1
        el.clear()
        while el.getprevious() is not None:
            del el.getparent()[0]
    return n


def run_xmltodict(path: Path, mapping: Path) -> int:
    """The xmltodict loop: streaming parse at depth 2, dict-poking, validate."""
    import xmltodict

    from bridge.canonical import Invoice

    n = 0

    def handle(_path: Any, doc: Any) -> bool:
        nonlocal n
        bill, totals = doc["BillTo"], doc["Totals"]
        lines = doc["Line"] if isinstance(doc["Line"], list) else [doc["Line"]]
        Invoice.model_validate(
            {
                "invoice_number": doc["No"],
                "issue_date": doc["Date"],
                "due_date": doc["Due"],
                "customer_id": doc["Cust"],
                "currency": doc["Cur"],
                "order_reference": doc["Ref"],
                "note": doc["Note"],
                "bill_to": {
                    "lines": [bill["Street"]],
                    "city": bill["City"],
                    "postal_code": bill["Zip"],
                    "country": bill["Country"],
                },
                "lines": [
                    {
                        "line_id": x["Id"],
                        "product_id": x["Sku"],
                        "description": x["Text"],
                        "quantity": x["Qty"],
                        "unit_code": x["Unit"],
                        "unit_price": x["Price"],
                        "line_extension_amount": x["Net"],
                        "tax_rate": x["Tax"],
                    }
                    for x in lines
                ],
                "line_extension_total": totals["Net"],
                "tax_exclusive_amount": totals["Net"],
                "tax_total": totals["Tax"],
                "tax_inclusive_amount": totals["Gross"],
                "payable_amount": totals["Payable"],
            }
        )
        n += 1
        return True

    with path.open("rb") as fh:
        xmltodict.parse(fh, item_depth=2, item_callback=handle)
    return n


WORKERS = {"decoder": run_decoder, "iterparse": run_iterparse, "xmltodict": run_xmltodict, "ubl": run_ubl}
SHIPPED_UBL = Path(__file__).resolve().parents[1] / "samples" / "mappings" / "ubl-invoice.yaml"


def main_ubl(count: int, baseline: Path | None, rounds: int, keep: Path | None) -> None:
    """The shipped UBL 2.1 mapping over ``count`` generated invoices, and the baseline checkout's if given."""
    with tempfile.TemporaryDirectory() as tmp:
        path = keep or Path(tmp) / "ubl-invoices.xml"
        started = time.perf_counter()
        if not (keep and path.exists()):
            generate_ubl(path, count)
        size = path.stat().st_size
        print(f"file: {count} UBL invoices, {size / 1e6:.0f} MB (generated in {time.perf_counter() - started:.1f}s)")
        variants = {"ubl@base": ("ubl", baseline)} if baseline else None
        results = run_rounds(__file__, ["ubl"], path, SHIPPED_UBL, rounds, "records", variants=variants)
        if "ubl@base" in results:
            rate, base = (results[k]["records"] / results[k]["cpu"] for k in ("ubl", "ubl@base"))
            print(f"UBL mapping: this tree {rate:,.0f}/CPU-s, baseline {base:,.0f}/CPU-s, ratio {rate / base:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--keep", type=Path, help="write the generated file here and keep it")
    parser.add_argument("--only", choices=sorted(WORKERS), action="append")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the loops this many times, keep the best")
    parser.add_argument("--ubl", type=int, metavar="N", help="run the shipped UBL 2.1 mapping over N invoices")
    parser.add_argument("--baseline", type=Path, help="with --ubl: a checkout of an earlier commit to compare")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "FILE", "MAPPING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(WORKERS, args.worker[0], Path(args.worker[1]), Path(args.worker[2]))
        return
    if args.ubl:
        main_ubl(args.ubl, args.baseline, args.rounds, args.keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "invoices.xml"
        mapping = Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        started = time.perf_counter()
        if not (args.keep and path.exists()):
            generate(path, args.count)
        size = path.stat().st_size
        print(f"file: {args.count} invoices, {size / 1e6:.0f} MB (generated in {time.perf_counter() - started:.1f}s)")
        results = run_rounds(
            __file__, args.only or ["decoder", "iterparse", "xmltodict"], path, mapping, args.rounds, "records"
        )
        rates = {k: v["records"] / v["cpu"] for k, v in results.items()}
        if "decoder" in rates and "iterparse" in rates:
            print(f"XmlDecoder / iterparse baseline = {rates['decoder'] / rates['iterparse']:.2f}x (goal >= 0.8x)")
        if "decoder" in rates and "xmltodict" in rates:
            print(f"XmlDecoder / xmltodict loop     = {rates['decoder'] / rates['xmltodict']:.2f}x (goal >= 2x)")
        if "decoder" in results:
            print(f"XmlDecoder peak RSS = {results['decoder']['peak_rss_kb'] / 1024:.0f} MB (goal < 100 MB)")


if __name__ == "__main__":
    main()
