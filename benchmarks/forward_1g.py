"""A forwarded file of 1 GB through the ledger's blob store: peak RSS and throughput (issue 17).

Usage: ``python benchmarks/forward_1g.py [--size 1G] [--store URL] [--json]``. One interface: a folder drop ->
``jsonl`` decoder -> a ``forward`` legacy path into a folder inbox, on SQLite in a temporary folder unless
``--store`` names another ledger (an empty PostgreSQL schema, say). The drop holds a few customer records and
then whitespace-only padding lines of 64 KiB (random tabs, spaces, vertical tabs, form feeds, carriage returns:
the decoder skips them, zstd gets about 2.3 bits of entropy per byte, so the ledger really stores a few hundred
MB), so the decoder's cost stays small and the figures are those of the forward path itself.

A warm-up file of 1 MiB goes first (imports, caches, connections); then the process's peak-RSS mark is reset
(``/proc/self/clear_refs``) and the big file is ingested (``Runner.poll``: spooled by the drop, decoded, its
bytes stored in the blob store and committed, the source acknowledged) and delivered (``Runner.run_once``:
streamed from the blob store into the inbox). Printed: MB/s of each phase, the resident set before and the
peak (VmHWM) during the big file, the bytes the blob chunks held, and whether the inbox file is byte for byte
the dropped one (SHA-256); the exit status is 1 when it is not. Goal: peak RSS under 150 MB at 1 GB.
``tests/integration/runtime/test_forward_memory.py`` runs it at 64 MB with a bound on the growth.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_LINE = 64 * 1024
_WHITESPACE = b" \t\x0b\x0c\r"
_TABLE = bytes(_WHITESPACE[i % len(_WHITESPACE)] for i in range(256))


def _status(field: str) -> int:
    """A /proc/self/status figure in KiB (VmRSS, VmHWM)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def write_drop(path: Path, size: int, seed: int = 7) -> str:
    """A JSON-lines drop of ``size`` bytes (20 customers, then padding lines), written in pieces; its SHA-256."""
    from samples.demo_app.generate import customer

    rng = random.Random(seed)
    digest = hashlib.sha256()
    part = path.with_suffix(".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with part.open("wb") as out:
        head = b"".join(json.dumps(customer(rng, i)).encode() + b"\n" for i in range(1, 21))
        out.write(head)
        digest.update(head)
        left = size - len(head)
        while left > 0:
            n = min(_LINE, left)
            line = os.urandom(n - 1).translate(_TABLE) + b"\n" if n > 1 else b"\n"
            out.write(line)
            digest.update(line)
            left -= n
    part.rename(path)
    return digest.hexdigest()


def _config(folder: Path, store: str) -> Path:
    cfg = folder / "bridge.yaml"
    cfg.write_text(
        f"""
store: "{store}"
spool_dir: spool
interfaces:
  bench:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    legacy:
      kind: forward
      sink: {{kind: folder, path: inbox, name_template: '{{name}}', conflict: replace}}
    cutover: {{mode: legacy_only}}
""",
        encoding="utf-8",
    )
    return cfg


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for piece in iter(lambda: fh.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def _one(runner: Any, folder: Path, name: str, size: int) -> dict[str, Any]:
    sha = write_drop(folder / "drop" / name, size)
    _reset_peak()
    rss_before = _status("VmRSS")
    t0 = time.perf_counter()
    stats = runner.poll("bench")
    t1 = time.perf_counter()
    peak_ingest = _status("VmHWM")
    stored = runner.ledger.blob_bytes()
    _reset_peak()
    runner.run_once()
    t2 = time.perf_counter()
    peak_deliver = _status("VmHWM")
    peak = max(peak_ingest, peak_deliver)
    out = folder / "inbox" / name
    same = out.exists() and _sha256(out) == sha
    mb = size / 1e6
    return {
        "size_mb": round(mb, 1),
        "acknowledged": stats.acknowledged,
        "ingest_s": round(t1 - t0, 2),
        "ingest_mb_s": round(mb / (t1 - t0), 1),
        "deliver_s": round(t2 - t1, 2),
        "deliver_mb_s": round(mb / (t2 - t1), 1),
        "stored_mb": round(stored / 1e6, 1),
        "rss_before_mb": round(rss_before / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "peak_ingest_mb": round(peak_ingest / 1024, 1),
        "peak_deliver_mb": round(peak_deliver / 1024, 1),
        "growth_mb": round((peak - rss_before) / 1024, 1),
        "byte_for_byte": same,
        "blobs_left": runner.ledger.blob_bytes(),
    }


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="size of the forwarded file (bytes, or with K/M/G)")
    parser.add_argument("--store", default=None, help="ledger URL (default: SQLite in the temporary folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args(argv)

    from bridge.config import load_config
    from bridge.ports import SystemClock
    from bridge.runtime.runner import Runner

    with tempfile.TemporaryDirectory(prefix="forward-1g-") as tmp:
        folder = Path(tmp)
        store = args.store or f"sqlite:///{folder / 'ledger.db'}"
        with Runner(load_config(_config(folder, store)), SystemClock()) as runner:
            warm = _one(runner, folder, "warmup.jsonl", 1 << 20)
            big = _one(runner, folder, "big.jsonl", _size(args.size))
    result = {"warmup": warm, **big, "backend": store.split(":", 1)[0]}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")
    return 0 if big["byte_for_byte"] and warm["byte_for_byte"] and big["blobs_left"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
