"""Group commit of the ``file`` sink's append mode: N appends one fsync per line vs one fsync per batch.

Usage: ``python benchmarks/file_append.py [--count 100000] [--batch 1000] [--dir DIR]``. Both sides use the
shipped defaults (``fsync: true``, the on-disk id index) on the same file system (DIR, default a temporary
folder under /tmp; it must not be a tmpfs, where fsync costs nothing). The per-line side calls ``deliver``
once per message, as the runtime did before the sink was a BatchSink; the batch side calls
``deliver_batch`` with ``--batch`` deliveries per call. Each side must leave exactly N lines. Prints the
absolute rates of both and their ratio. Not part of the suite.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from adapters.legacy.file_sink import FileSink, FileSinkConfig
from bridge.ports import Delivery, Encoded, PathName, PluginContext, Role

_BODY = b'{"number":"INV-000001","currency":"EUR","total":"1234.50","lines":3}'


def _sink(folder: Path, batch: int) -> FileSink:
    context = PluginContext(base_dir=folder.parent, interface="bench", canonical="Invoice")
    config = FileSinkConfig.model_validate({"kind": "file", "path": str(folder), "mode": "append", "batch_size": batch})
    return FileSink(config, context)


def _deliveries(n: int) -> list[Delivery]:
    payload = Encoded(_BODY, "application/json")
    return [
        Delivery(uuid.uuid4(), "bench", PathName.LEGACY, Role.AUTHORITATIVE, f"INV-{i}", 1, payload, f"tx-{i}")
        for i in range(n)
    ]


def _timed(folder: Path, n: int, batch: int, send: Callable[[FileSink, list[Delivery]], None]) -> float:
    deliveries = _deliveries(n)
    started = time.perf_counter()
    with _sink(folder, batch) as sink:
        send(sink, deliveries)
    took = time.perf_counter() - started
    with (folder / "deliveries.jsonl").open("rb") as f:
        lines = sum(1 for _ in f)
    if lines != n:
        raise SystemExit(f"invalid run: {lines} lines in the output, expected {n}")
    return took


def _per_line(sink: FileSink, deliveries: list[Delivery]) -> None:
    for d in deliveries:
        if sink.deliver(d).status != "delivered":
            raise SystemExit("a delivery failed")


def _batched(size: int) -> Callable[[FileSink, list[Delivery]], None]:
    def send(sink: FileSink, deliveries: list[Delivery]) -> None:
        for start in range(0, len(deliveries), size):
            if any(o.status != "delivered" for o in sink.deliver_batch(deliveries[start : start + size])):
                raise SystemExit("a delivery failed")

    return send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"{args.count:,} appends, fsync on, in {tmp} ({os.statvfs(tmp).f_bsize} B blocks)")
        line_s = _timed(Path(tmp) / "per-line", args.count, 1, _per_line)
        batch_s = _timed(Path(tmp) / "batched", args.count, args.batch, _batched(args.batch))
    line_rate, batch_rate = args.count / line_s, args.count / batch_s
    print(f"per line (deliver, fsync each):     {line_s:8.2f} s  {line_rate:10,.0f} lines/s")
    print(f"batch of {args.batch:<5} (one write+fsync): {batch_s:8.2f} s  {batch_rate:10,.0f} lines/s")
    print(f"ratio batch / per line: {batch_rate / line_rate:.1f}x")


if __name__ == "__main__":
    main()
