"""CSV decode benchmark: CsvDecoder vs a minimal csv.reader + pydantic loop, in one run.

Generates N customer rows (default 1,000,000) into a temp file and decodes it both ways, each in a fresh
subprocess: the mapping-driven CsvDecoder (strict per-line decoding, header resolution, converters, locations)
and the minimal loop (``csv.reader`` over a text file, a dict per row, ``Customer.model_validate``). Both
validate every row as the canonical Customer. Prints wall and CPU-time rates, the ratio and peak RSS.

    python benchmarks/csv_decode.py [--count 1000000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


def run_decoder(path: Path, mapping: Path) -> int:
    from datetime import UTC, datetime

    from bridge.ports import DecodedRecord, Envelope, IdentityRule
    from translators.csv_decoder import CsvDecoder
    from translators.mapping.loader import load_mapping

    envelope = Envelope(
        interface="bench",
        batch_id="b",
        origin=path.name,
        identity_rule=IdentityRule.FILE,
        identity="x",
        received_at=datetime.now(UTC),
        transaction_id="t",
        spool_path=path,
    )
    n = 0
    for item in CsvDecoder(load_mapping(mapping)).decode(envelope):
        if not isinstance(item, DecodedRecord):
            raise SystemExit(f"unexpected failure: {item.error}")
        n += 1
    return n


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


def worker(name: str, path: Path, mapping: Path) -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    n = WORKERS[name](path, mapping)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"name": name, "records": n, "seconds": elapsed, "cpu": cpu, "peak_rss_kb": _peak_rss_kb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the loops this many times, keep the best")
    parser.add_argument("--worker", nargs=3, metavar=("NAME", "FILE", "MAPPING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), Path(args.worker[2]))
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
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        results: dict[str, dict[str, Any]] = {}
        for round_no in range(args.rounds):
            for name in WORKERS:
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", name, str(path), str(mapping)],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=False,
                )
                if out.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{out.stderr}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(
                    f"round {round_no + 1} {name:>10}: {result['records']} rows, wall {result['seconds']:.1f}s "
                    f"({result['records'] / result['seconds']:,.0f}/s), CPU {result['cpu']:.1f}s "
                    f"({result['records'] / result['cpu']:,.0f}/s), peak RSS {result['peak_rss_kb'] / 1024:.0f} MB"
                )
                best = results.get(name)
                if best is None or result["cpu"] < best["cpu"]:
                    results[name] = result
        print("best of rounds; rates per CPU second (one core each), robust to other load on a shared machine:")
        for name, result in results.items():
            print(
                f"{name:>10}: {result['records'] / result['cpu']:,.0f} rows/CPU-s "
                f"(wall {result['records'] / result['seconds']:,.0f} rows/s)"
            )
        rates = {k: v["records"] / v["cpu"] for k, v in results.items()}
        print(f"CsvDecoder / csv.reader baseline = {rates['decoder'] / rates['csvreader']:.2f}x (goal >= 0.7x)")


if __name__ == "__main__":
    main()
