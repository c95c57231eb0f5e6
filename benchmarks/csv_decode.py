"""CSV decode benchmark: CsvDecoder vs a minimal csv.reader + pydantic loop, in one run.

Generates N customer rows (default 1,000,000) into a temp file and decodes it both ways, each in a fresh
subprocess: the mapping-driven CsvDecoder (strict per-line decoding, header resolution, converters, locations)
and the minimal loop (``csv.reader`` over a text file, a dict per row, ``Customer.model_validate``). Both
validate every row as the canonical Customer. Prints wall and CPU-time rates, the ratio and peak RSS.

    python benchmarks/csv_decode.py [--count 1000000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _decode_harness import count_decoded, run_rounds, worker

COLUMNS = "customer_no,name,tax_id,currency,credit_limit,status,street,city,zip,country,language"
MAPPING = """
canonical: Customer
format: csv
csv: {delimiter: ",", encoding: utf-8}
fields:
  customer_number: {column: customer_no, required: true}
  name: {column: name, required: true}
  tax_id: tax_id
  currency: currency
  credit_limit: {column: credit_limit, convert: decimal}
  status: status
  language: language
  addresses:
    many: true
    fields:
      lines: {columns: [street]}
      city: city
      postal_code: zip
      country: country
"""


def generate(path: Path, count: int) -> None:
    """Write ``count`` valid customer rows, streaming."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(COLUMNS + "\r\n")
        for i in range(count):
            out.write(
                f'{i:08d},"Customer {i}, Trading GmbH",DE{i:09d},EUR,{i % 100000}.{i % 100:02d},active,'
                f"Hauptstrasse {i % 300},Berlin,{10000 + i % 89999},DE,de\r\n"
            )


def run_decoder(path: Path, mapping: Path) -> int:
    from translators.csv_decoder import CsvDecoder
    from translators.mapping.loader import load_mapping

    return count_decoded(CsvDecoder(load_mapping(mapping)), path)


def run_csvreader(path: Path, mapping: Path) -> int:
    """The minimal loop: csv.reader, a dict per row, validate."""
    import csv

    from bridge.canonical import Customer

    n = 0
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            Customer.model_validate(
                {
                    "customer_number": row[0],
                    "name": row[1],
                    "tax_id": row[2],
                    "currency": row[3],
                    "credit_limit": row[4],
                    "status": row[5],
                    "language": row[10],
                    "addresses": [{"lines": [row[6]], "city": row[7], "postal_code": row[8], "country": row[9]}],
                }
            )
            n += 1
    return n


WORKERS = {"decoder": run_decoder, "csvreader": run_csvreader}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the loops this many times, keep the best")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "FILE", "MAPPING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(WORKERS, args.worker[0], Path(args.worker[1]), Path(args.worker[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path, mapping = Path(tmp) / "customers.csv", Path(tmp) / "mapping.yaml"
        mapping.write_text(MAPPING, encoding="utf-8")
        started = time.perf_counter()
        generate(path, args.count)
        print(
            f"file: {args.count} rows, {path.stat().st_size / 1e6:.0f} MB "
            f"(generated in {time.perf_counter() - started:.1f}s)"
        )
        results = run_rounds(__file__, WORKERS, path, mapping, args.rounds, "rows")
        rates = {k: v["records"] / v["cpu"] for k, v in results.items()}
        print(f"CsvDecoder / csv.reader baseline = {rates['decoder'] / rates['csvreader']:.2f}x (goal >= 0.7x)")


if __name__ == "__main__":
    main()
