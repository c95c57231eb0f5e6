"""What the decode benchmarks share: one subprocess per loop and round, CPU-time rates, peak RSS.

Each loop runs in a fresh subprocess (``--worker NAME FILE MAPPING``) so one loop's memory high-water mark and
warm caches never flatter another; loops alternate across rounds and the best round (least CPU) counts, which
keeps the comparison fair on a shared, loaded machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Loop = Callable[[Path, Path], int]


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM), in KiB."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


def count_decoded(decoder: Any, path: Path) -> int:
    """Run a bridge decoder over ``path`` (as a spooled file envelope); every record must decode."""
    from bridge.ports import DecodedRecord, Envelope, IdentityRule

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
    for item in decoder.decode(envelope):
        if not isinstance(item, DecodedRecord):
            raise SystemExit(f"unexpected failure: {item.error}")
        n += 1
    return n


def worker(loops: dict[str, Loop], name: str, path: Path, mapping: Path) -> None:
    """The subprocess side: run one loop and print its figures as one JSON line."""
    started, cpu_started = time.perf_counter(), time.process_time()
    n = loops[name](path, mapping)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"name": name, "records": n, "seconds": elapsed, "cpu": cpu, "peak_rss_kb": peak_rss_kb()}))


def run_rounds(
    script: str,
    names: Iterable[str],
    path: Path,
    mapping: Path,
    rounds: int,
    unit: str,
    *,
    variants: dict[str, tuple[str, Path]] | None = None,
) -> dict[str, Any]:
    """Run every loop ``rounds`` times in alternation; print each run; return the best run per loop.

    ``variants`` maps a reported name to (loop name, source tree): that run imports the bridge from another
    checkout (a git worktree of an earlier commit) with its own mapping, so two versions are measured in the
    same run, alternating, on the same file.
    """
    own_root = Path(script).resolve().parents[1]
    runs: dict[str, tuple[str, Path, Path]] = {name: (name, own_root, mapping) for name in names}
    for label, (loop, tree) in (variants or {}).items():
        runs[label] = (loop, tree.resolve(), tree.resolve() / mapping.relative_to(own_root))
    results: dict[str, dict[str, Any]] = {}
    for round_no in range(rounds):
        for name, (loop, root, loop_mapping) in runs.items():
            env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
            out = subprocess.run(
                [sys.executable, script, "--worker", loop, str(path), str(loop_mapping)],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if out.returncode != 0:
                raise SystemExit(f"{name} failed:\n{out.stderr}")
            result = json.loads(out.stdout.strip().splitlines()[-1]) | {"name": name}
            print(
                f"round {round_no + 1} {name:>10}: {result['records']} {unit}, wall {result['seconds']:.1f}s "
                f"({result['records'] / result['seconds']:,.0f}/s), CPU {result['cpu']:.1f}s "
                f"({result['records'] / result['cpu']:,.0f}/s), peak RSS {result['peak_rss_kb'] / 1024:.0f} MB"
            )
            best = results.get(name)
            if best is None or result["cpu"] < best["cpu"]:
                results[name] = result
    print("best of rounds; rates per CPU second (one core each), robust to other load on a shared machine:")
    for name, result in results.items():
        print(
            f"{name:>10}: {result['records'] / result['cpu']:,.0f} {unit}/CPU-s "
            f"(wall {result['records'] / result['seconds']:,.0f} {unit}/s)"
        )
    return results
