"""Comparisons per second: the cutover diff engine (with an interface's rules) vs DeepDiff, same pairs.

200,000 invoice pairs (legacy and cloud projections as separately parsed canonical JSON trees), 1 % of them
with a real difference (tax, quantity, a missing line or a renamed customer). The engine runs with keyed
lines, tolerances, normalisers, ignore globs, critical and sensitive fields. DeepDiff runs on the first
``--deepdiff-pairs`` of the SAME pairs (the full set would take minutes; ``--deepdiff-pairs 0`` = all).

    .venv/bin/python benchmarks/compare.py [--pairs 200000] [--deepdiff-pairs 5000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date
from typing import Any

import orjson
from deepdiff import DeepDiff

from cutover.compare import CompareRules, Differ, status_of
from samples.demo_app.generate import invoice

RULES = CompareRules.model_validate(
    {
        "ignore": ["cloud_id", "**.created_at"],
        "keyed_lists": {"lines": "line_id", "tax_lines": "tax_rate"},
        "tolerance": {
            "tax_lines.*.tax_amount": 0.01,
            "tax_total": 0.01,
            "payable_amount": {"abs": 0.01, "rel": 0.0001},
        },
        "normalise": {"customer_id": ["case", "whitespace"], "lines.*.tax_category": ["code:tax"]},
        "code_tables": {"tax": {"S": "standard", "VAT": "standard"}},
        "critical": ["payable_amount", "tax_total", "lines.*.quantity", "lines.*.line_extension_amount"],
        "sensitive": ["customer_id"],
    }
)


def make_pairs(n: int, seed: int = 7) -> tuple[list[tuple[Any, Any]], int]:
    rng = random.Random(seed)
    bases = [orjson.dumps(invoice(rng, i, date(2026, 1, 5), rng.randint(1, 500))) for i in range(2000)]
    pairs = []
    mismatches = 0
    for i in range(n):
        raw = bases[i % len(bases)]
        legacy, cloud = orjson.loads(raw), orjson.loads(raw)
        if i % 100 == 37:
            mismatches += 1
            kind = (i // 100) % 4
            if kind == 0:
                cloud["tax_total"] = str(float(cloud["tax_total"]) + 0.05)
            elif kind == 1:
                cloud["lines"][0]["quantity"] = "99"
            elif kind == 2:
                cloud["lines"].pop()
            else:
                cloud["customer_id"] = "X-" + cloud["customer_id"]
        pairs.append((legacy, cloud))
    return pairs, mismatches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--deepdiff-pairs", type=int, default=5000)
    args = ap.parse_args()
    pairs, expected = make_pairs(args.pairs)
    differ = Differ(RULES, date(2026, 3, 1))

    t0 = time.perf_counter()
    found = sum(status_of(differ.diff(a, b)) != "match" for a, b in pairs)
    ours = time.perf_counter() - t0
    assert found == expected, (found, expected)

    sample = pairs if args.deepdiff_pairs <= 0 else pairs[: args.deepdiff_pairs]
    t0 = time.perf_counter()
    dd_found = sum(
        bool(DeepDiff(a, b, exclude_regex_paths=[r"\['cloud_id'\]", r"\['created_at'\]"])) for a, b in sample
    )
    theirs = time.perf_counter() - t0

    ours_rate = len(pairs) / ours
    dd_rate = len(sample) / theirs
    print(f"pairs: {len(pairs):,} ({expected:,} with differences, 1 %)")
    print(f"cutover diff engine (rules applied): {ours_rate:,.0f} pairs/s ({ours:.2f} s, {found:,} not matching)")
    print(f"DeepDiff on the first {len(sample):,} pairs: {dd_rate:,.0f} pairs/s ({theirs:.2f} s, {dd_found:,} differ)")
    print(f"ratio: {ours_rate / dd_rate:,.0f}x (goal >= 100x)")


if __name__ == "__main__":
    main()
