"""Backtest benchmark: N archived documents through ``esb-bridge backtest``, beside ``run --once`` on the same inputs.

Why it exists: a backtest promises the engine's end-to-end speed on a month of archive (issue 21: 100k
documents, goal >= 0.8x of ``run --once``). This script generates, in one run, a month of archive for one
``customers`` interface: N customers (canonical JSON lines, ``--per-file`` per input file, the files' times
spread over 30 days) and the old ESB's output, one JSON document per customer (one in 200 dropped, one in 50
with a truncated name), then times from process start to exit:

* ``esb-bridge backtest customers --inputs ... --legacy-outputs ...``: 30 day slices, the cloud path dry, the
  legacy outputs paired through ``project: canonical-json`` and compared;
* ``esb-bridge run --once`` over copies of the same files, with the same interface as a live shadow:
  a ``folder`` drop, the legacy path ``observe`` over a copy of the outputs, the cloud path ``dry_run``,
  compared in the same pass.

Wall time depends on what else the machine runs; CPU time (user + system of the process) much less, so both
ratios are printed. Both runs do the same work (decode, ledger, dry-run delivery, observe, pair, compare) on
SQLite; a run is valid only when both compared every document that has an output (the script fails otherwise).

    python benchmarks/backtest.py [--docs 100000] [--per-file 1000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from samples.demo_app.generate import customer

START = datetime(2026, 1, 5, 8, tzinfo=UTC)

CONFIG = """
store: sqlite:///live.db
spool_dir: spool
backtest_dir: backtests
interfaces:
  customers:
    canonical: Customer
    source: {kind: folder, path: drop, include: ["*.jsonl"], readiness: {rule: rename}, max_files_per_poll: 100000}
    decoder: {kind: jsonl}
    chunk_size: 1000
    legacy:
      kind: observe
      observe: {kind: folder, path: observed, include: ["*.json"], readiness: {rule: rename},
                max_files_per_poll: 1000000}
      project: {kind: canonical-json}
    cloud:
      encoder: {kind: json}
      sink: {kind: file, path: out/cloud}
      project: {kind: canonical-json}
      limits: {batch: 500, max_batch: 5000}
    cutover: {mode: legacy_primary, shadow: dry_run, gate: {min_compared: 1000, min_days: 7, min_match: 0.95}}
    compare: {settle: 10m}
"""


def generate(root: Path, docs: int, per_file: int) -> int:
    """The archive under ``root/archive``; returns how many documents have a legacy output."""
    rng = random.Random(21)
    inputs, outputs = root / "archive" / "inputs", root / "archive" / "legacy-out"
    inputs.mkdir(parents=True)
    outputs.mkdir(parents=True)
    files = (docs + per_file - 1) // per_file
    step = timedelta(days=30) / files
    n = out = 0
    for i in range(files):
        when = START + step * i
        rows = []
        for _ in range(min(per_file, docs - n)):
            n += 1
            rows.append(customer(rng, n, when))
        path = inputs / f"customers-{i:05d}.jsonl"
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
        os.utime(path, (when.timestamp(),) * 2)
        later = (when + timedelta(minutes=2)).timestamp()
        for r in rows:
            no = int(r["customer_number"][2:])
            if no % 200 == 7:
                continue  # the old ESB dropped it: an orphan
            if no % 50 == 3:
                r["name"] = r["name"][:8]
            doc = outputs / f"{r['customer_number']}.json"
            doc.write_text(json.dumps(r), encoding="utf-8")
            os.utime(doc, (later, later))
            out += 1
    return out


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``cmd``: wall seconds from start to exit, and CPU seconds (user + system) of the process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:5])} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime


def compared(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM comparisons WHERE level = 'payload'").fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--per-file", type=int, default=1000)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    t0 = time.perf_counter()
    paired = generate(root, args.docs, args.per_file)
    print(
        f"generated {args.docs} documents in {args.docs // args.per_file} file(s), {paired} legacy outputs "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    (root / "bridge.yaml").write_text(CONFIG, encoding="utf-8")
    exe = [sys.executable, "-m", "bridge"]
    back = timed(
        [
            *exe,
            "--config",
            "bridge.yaml",
            "backtest",
            "customers",
            "--inputs",
            "archive/inputs",
            "--legacy-outputs",
            "archive/legacy-out",
            "--id",
            "bench",
            "--json",
        ],
        root,
    )
    shutil.copytree(root / "archive" / "inputs", root / "drop")
    shutil.copytree(root / "archive" / "legacy-out", root / "observed")
    once = timed([*exe, "--config", "bridge.yaml", "run", "--once", "--json"], root)
    got = compared(root / "backtests" / "bench.db"), compared(root / "live.db")
    if got != (paired, paired):
        sys.exit(f"invalid run: compared (backtest, run --once) = {got}, expected {paired} each")
    (bw, bc), (ow, oc) = back, once
    print(f"{'run':<22}{'docs':>9}{'wall s':>9}{'docs/s':>9}{'CPU s':>9}{'docs/CPU s':>12}")
    for what, (w, c) in (("backtest", back), ("run --once (shadow)", once)):
        print(f"{what:<22}{args.docs:>9}{w:>9.1f}{args.docs / w:>9.0f}{c:>9.1f}{args.docs / c:>12.0f}")
    print(f"ratio backtest / run --once: {ow / bw:.2f}x by wall time, {oc / bc:.2f}x by CPU time (goal >= 0.8x)")
    if args.keep is None:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
