"""End-to-end benchmark of the main job: one file of N invoices through ``esb-bridge run --once``.

Why it exists: decode benchmarks (``xml_decode.py``) measure one stage; what a user sees is the whole hot path
(ingest -> ledger -> claim -> encode -> sink -> outcome). This script generates ONE file of N invoices (3 lines
each, about 1.1 KB of XML per invoice, the generator and the 25-field mapping of ``xml_decode.py``) and, in one
run, measures:

* decode only: ``esb-bridge translate FILE --mapping M --to json > /dev/null``;
* ``esb-bridge run --once`` with a ``folder`` drop -> ``xml`` decoder -> ``json`` encoder -> ``file`` sink in
  ``append`` mode (fsync on, the default), cutover ``legacy_only`` (one sink) and ``dual_write`` (two sinks),
  on SQLite (shipped defaults: WAL, ``synchronous=NORMAL``) and on PostgreSQL (``synchronous_commit`` on).

Every timing runs from process start to exit (``Popen`` to ``wait4``). A run is valid only if every sink file
holds exactly N lines (the script fails otherwise). CPU is user+system time of the bridge process and its
reaped children (``wait4`` rusage); for PostgreSQL it adds the CPU of the server backends serving the run's
database, read from ``/proc/<pid>/stat`` (utime+stime) of the pids ``pg_stat_activity`` lists for that
database, sampled every 50 ms (the last < 50 ms of a backend's life is not seen; shared background processes
such as the WAL writer and the checkpointer are not counted). Peak RSS is the bridge's ``ru_maxrss``. Ledger
bytes are the SQLite file plus its WAL, or ``pg_total_relation_size`` summed over every table of the database.

    python benchmarks/e2e.py [--count 20000 --count 200000] [--backend sqlite --backend postgresql]
                             [--mode legacy_only --mode dual_write] [--profile] [--keep DIR]

``--profile`` instead runs ``run --once`` (first backend, first mode, first count) under cProfile and prints
the top 15 functions by own time and by cumulative time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from xml_decode import MAPPING, generate

PG_ADMIN = os.environ.get("ESB_BRIDGE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Measure:
    what: str
    count: int
    seconds: float
    cpu: float
    rss_kb: int
    ledger_bytes: int | None = None

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.count * 1e6


def timed(cmd: list[str], cwd: Path, stdout: Any = subprocess.DEVNULL) -> tuple[float, float, int]:
    """Run ``cmd``; wall seconds from start to exit, CPU seconds (process and children), peak RSS in kB."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{b''.join(err_chunks).decode()[-3000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


INTERFACE = """\
bench-invoices:
  canonical: Invoice
  source: {{kind: folder, path: drop, include: ["*.xml"], readiness: {{rule: rename}}}}
  decoder: {{kind: xml, mapping: maps/invoice.yaml}}
  legacy: {{encoder: {{kind: json}}, sink: {{kind: file, path: out/legacy, mode: append{sink_extra}}}}}
  cloud: {{encoder: {{kind: json}}, sink: {{kind: file, path: out/cloud, mode: append{sink_extra}}}}}
  cutover: {{mode: {mode}}}
"""


class PgCpu:
    """Samples the CPU of the PostgreSQL backends serving one database (see the module docstring)."""

    def __init__(self, db: str) -> None:
        import psycopg

        self._conn = psycopg.connect(PG_ADMIN, autocommit=True)
        self.db = db
        self.ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            pids = [r[0] for r in self._conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db,))]
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.ticks[pid] = max(self.ticks.get(pid, 0), int(fields[11]) + int(fields[12]))
            self._stop.wait(0.05)

    def __enter__(self) -> PgCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()

    @property
    def seconds(self) -> float:
        return sum(self.ticks.values()) / TICK


def pg_create(db: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + db


def pg_drop(db: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def pg_bytes(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'"
        ).fetchone()
    return int(row[0]) if row else 0


def prepare(
    root: Path, source: Path, mapping: Path, backend: str, mode: str, fsync: bool = True
) -> tuple[Path, str | None]:
    """A fresh config folder with the drop holding the input; returns it and the PostgreSQL db name if any."""
    if root.exists():
        shutil.rmtree(root)
    (root / "interfaces").mkdir(parents=True)
    (root / "drop").mkdir()
    try:
        os.link(source, root / "drop" / source.name)
    except OSError:
        shutil.copy(source, root / "drop" / source.name)
    (root / "maps").mkdir()
    shutil.copy(mapping, root / "maps" / "invoice.yaml")
    db = None
    if backend == "sqlite":
        store = "sqlite:///ledger.db"
    else:
        db = f"bench_{uuid.uuid4().hex[:10]}"
        store = pg_create(db)
    (root / "bridge.yaml").write_text(f"store: {store}\ninclude: [interfaces/*.yaml]\n")
    (root / "interfaces" / "bench.yaml").write_text(
        INTERFACE.format(mode=mode, sink_extra="" if fsync else ", fsync: false")
    )
    return root, db


def lines_in(path: Path) -> int:
    """Lines in the sink's files; hidden files (the file sink's ``.<name>.ids.sqlite`` append index) are not
    sink output (``Path.glob("*")`` matches them, and the index's binary pages count as lines)."""
    total = 0
    for f in sorted(p for p in path.glob("*") if not p.name.startswith(".")) if path.exists() else []:
        with f.open("rb") as fh:
            total += sum(1 for _ in fh)
    return total


def run_once(root: Path, count: int, backend: str, mode: str, db: str | None) -> Measure:
    cmd = [str(BIN / "esb-bridge"), "--config", str(root / "bridge.yaml"), "run", "--once"]
    if db is None:
        wall, cpu, rss = timed(cmd, root)
        ledger = sum((root / n).stat().st_size for n in ("ledger.db", "ledger.db-wal") if (root / n).exists())
    else:
        with PgCpu(db) as pg:
            wall, cpu, rss = timed(cmd, root)
        cpu += pg.seconds
        ledger = pg_bytes(PG_ADMIN.rsplit("/", 1)[0] + "/" + db)
    sinks = ["legacy"] if mode == "legacy_only" else ["legacy", "cloud"]
    for s in sinks:
        n = lines_in(root / "out" / s)
        if n != count:
            sys.exit(f"INVALID: {backend}/{mode}: sink {s} holds {n} lines, expected {count}")
    return Measure(f"run --once {mode} ({backend})", count, wall, cpu, rss, ledger)


def decode_only(source: Path, mapping: Path, count: int, work: Path) -> Measure:
    cmd = [str(BIN / "esb-bridge"), "translate", str(source), "--mapping", str(mapping), "--to", "json"]
    with open(os.devnull, "wb") as null:
        wall, cpu, rss = timed(cmd, work, stdout=null)
    return Measure("decode only (translate --to json)", count, wall, cpu, rss)


def header(count: int, input_bytes: int) -> None:
    print(f"\n## {count:,} invoices, input {input_bytes / 1e6:.1f} MB ({input_bytes / count:.0f} B/invoice)\n")
    print("| what | s | rec/s | x decode | CPU us/rec | x decode | peak RSS MB | ledger MB | ledger/input |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def row(m: Measure, base: Measure, input_bytes: int) -> None:
    """One table row, printed as soon as it is measured (a long run shows its figures as it goes)."""
    ledger = "" if m.ledger_bytes is None else f"{m.ledger_bytes / 1e6:.1f}"
    ratio = "" if m.ledger_bytes is None else f"{m.ledger_bytes / input_bytes:.2f}x"
    print(
        f"| {m.what} | {m.seconds:.1f} | {m.rate:,.0f} | {m.rate / base.rate:.3f}x | {m.cpu_us:,.0f} | "
        f"{m.cpu_us / base.cpu_us:.2f}x | {m.rss_kb / 1024:.0f} | {ledger} | {ratio} |",
        flush=True,
    )


def profile(root: Path, top: int = 40) -> None:
    """Where ``run --once`` spends its time: py-spy over every thread (the delivery workers are threads, which
    cProfile would not see), top functions by own and by inclusive samples; cProfile if py-spy is missing."""
    spy = BIN / "py-spy"
    bridge = [str(BIN / "esb-bridge"), "--config", str(root / "bridge.yaml"), "run", "--once"]
    if not spy.exists():
        import pstats

        out = root / "run.prof"
        timed([sys.executable, "-m", "cProfile", "-o", str(out), *bridge], root)
        stats = pstats.Stats(str(out))
        for key in ("tottime", "cumulative"):
            print(f"\n### cProfile (main thread only), top {top} by {key}\n")
            stats.sort_stats(key).print_stats(top)
        return
    out = root / "run.collapsed"
    timed(
        [str(spy), "record", "--format", "raw", "--rate", "100", "--subprocesses", "-o", str(out), "--", *bridge], root
    )
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        stack = ";".join(f for f in stack.split(";") if not f.startswith(("process ", "thread ")))
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0] + ")" if " (" in f else f for f in stack.split(";")
        ]
        if not frames or frames == [""]:
            continue
        count = int(n)
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for f in set(frames):
            incl[f] = incl.get(f, 0) + count
    for title, table in (("own", own), ("inclusive", incl)):
        print(f"\n### py-spy, all threads, {total} samples: top {top} by {title} samples\n")
        print("| % | samples | function (file) |\n| --- | --- | --- |")
        for name, n in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"| {100 * n / total:.1f} | {n} | {name} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, action="append", help="invoices in the file (repeatable; default 20000)")
    ap.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    ap.add_argument("--mode", action="append", choices=["legacy_only", "dual_write"])
    ap.add_argument("--profile", action="store_true", help="cProfile one run --once instead of measuring")
    ap.add_argument(
        "--no-fsync", action="store_true", help="file sinks with fsync: false (not the shipped default; says so)"
    )
    ap.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temp dir, removed)")
    args = ap.parse_args()
    counts = args.count or [20000]
    backends = args.backend or ["sqlite", "postgresql"]
    modes = args.mode or ["legacy_only", "dual_write"]
    work = args.keep or Path(tempfile.mkdtemp(prefix="e2e-"))
    work.mkdir(parents=True, exist_ok=True)
    mapping = work / "invoice.yaml"
    mapping.write_text(MAPPING)
    try:
        for count in counts:
            source = work / f"invoices-{count}.xml"
            if not source.exists():
                generate(source, count)
            size = source.stat().st_size
            if args.profile:
                root, db = prepare(work / "profile", source, mapping, backends[0], modes[0], not args.no_fsync)
                try:
                    profile(root)
                finally:
                    if db:
                        pg_drop(db)
                return
            header(count, size)
            if args.no_fsync:
                print("(file sinks with fsync: false, NOT the shipped default)\n")
            base = decode_only(source, mapping, count, work)
            row(base, base, size)
            for backend in backends:
                for mode in modes:
                    root, db = prepare(work / f"{backend}-{mode}", source, mapping, backend, mode, not args.no_fsync)
                    try:
                        row(run_once(root, count, backend, mode, db), base, size)
                    finally:
                        if db:
                            pg_drop(db)
                        shutil.rmtree(root, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
