"""A forwarded file is stored and sent with flat memory: the process never holds it whole (issue 17).

``benchmarks/forward_1g.py`` runs in a subprocess at 96 MB (the 1 GB figures are the benchmark's): after a
warm-up file, its peak-RSS mark is reset and the big file is ingested (bytes into the ledger's blob store)
and delivered (streamed into a folder inbox). Holding the file whole anywhere (a ``read_bytes`` of the spool,
the body kept as ``sent``) grows the peak by at least the file's size; streaming grows it by a constant (the
chunks in flight, SQLite's page cache, the worker threads' allocator arenas: on SQLite ~27 MB measured at
64 MB and ~26 MB at 1 GB; on PostgreSQL ~7 MB at 1 GB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SIZE_MB = 96
BOUND_MB = 48  # peak growth allowed: half the file's size


def test_a_96_mb_forward_is_stored_and_sent_with_bounded_memory(store_url: str) -> None:
    """Ingest and delivery of a 96 MB forward: byte for byte in the inbox, peak RSS growth under 48 MB."""
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "forward_1g.py"),
            "--size",
            f"{SIZE_MB}M",
            "--store",
            store_url,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["byte_for_byte"] and figures["acknowledged"] == 1 and figures["blobs_left"] == 0
    assert figures["growth_mb"] < BOUND_MB, figures
