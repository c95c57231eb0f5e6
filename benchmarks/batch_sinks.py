"""Per-delivery ``deliver`` vs ``deliver_batch`` for the AMQP CloudEvents, SFTP and folder sinks, in one run.

Each side delivers the same number of fresh messages to the real peer and must leave exactly that many
effects there (events in a bound queue, files in the drop); absolute rates of both sides and their ratio are
printed per sink. AMQP: RabbitMQ at ``--amqp`` (default 127.0.0.1:5672), persistent events with publisher
confirms, a confirm awaited per event vs once per batch. SFTP: a private OpenSSH sshd on a free 127.0.0.1
port (stopped at the end), one file per delivery (temp name, verified size, rename) over one session both
ways. Folder: a local drop folder, each file fsynced before its rename both ways. The ``rest`` bulk endpoint
has its own benchmark (``rest_sink.py``); the ``file`` sink's group commit is ``file_append.py``.

    .venv/bin/python benchmarks/batch_sinks.py [--events 600] [--files 200] [--batch 200]

Not part of the suite.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pika
from sftp_throughput import Sshd

from adapters.cloud.events import AmqpEventSink, AmqpSettings, CloudEventsSinkConfig
from adapters.legacy.folder import FolderSink, FolderSinkConfig
from adapters.legacy.sftp import SftpSinkConfig, SftpUploadSink
from bridge.ports import BatchSink, Delivery, Encoded, PathName, Role

_BODY = b'{"number":"INV-000001","currency":"EUR","total":"1234.50","lines":3}'


def _deliveries(n: int) -> list[Delivery]:
    payload = Encoded(_BODY, "application/json")
    return [
        Delivery(uuid.uuid4(), "bench", PathName.CLOUD, Role.AUTHORITATIVE, f"K-{i}", 1, payload, f"tx-{i}")
        for i in range(n)
    ]


def _run(sink: BatchSink, deliveries: Sequence[Delivery], batch: int) -> float:
    """Seconds to deliver all; ``batch`` 1 calls ``deliver`` per delivery (the runtime's path without batches)."""
    started = time.perf_counter()
    if batch == 1:
        outcomes = [sink.deliver(d) for d in deliveries]
    else:
        outcomes = []
        for start in range(0, len(deliveries), batch):
            outcomes.extend(sink.deliver_batch(deliveries[start : start + batch]))
    took = time.perf_counter() - started
    failed = [o for o in outcomes if o.status != "delivered"]
    if failed:
        raise SystemExit(f"invalid run: {len(failed)} not delivered ({failed[0].detail or failed[0].error})")
    return took


def _report(name: str, n: int, unit: str, one_s: float, batch_s: float, batch: int) -> None:
    one, many = n / one_s, n / batch_s
    print(f"{name}: {n:,} {unit}")
    print(f"  deliver, one at a time:   {one_s:8.2f} s  {one:9,.0f} {unit}/s")
    print(f"  deliver_batch of {batch:<6}   {batch_s:8.2f} s  {many:9,.0f} {unit}/s")
    print(f"  ratio batch / one at a time: {many / one:.1f}x")


def _amqp(url: str, n: int, batch: int) -> None:
    exchange = f"esb-bench-{uuid.uuid4().hex[:8]}"
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    queue = channel.queue_declare(f"{exchange}-q", durable=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="#")
    config = CloudEventsSinkConfig(
        type="com.example.bench", source="/bench", amqp=AmqpSettings(url=url, exchange=exchange, batch_size=batch)
    )
    try:
        timings = []
        for size in (1, batch):
            with AmqpEventSink(config) as sink:
                timings.append(_run(sink, _deliveries(n), size))
            held = channel.queue_purge(queue).method.message_count
            if held != n:
                raise SystemExit(f"invalid run: {held} events in the queue, expected {n}")
        _report("cloudevents over AMQP (persistent, confirms)", n, "events", timings[0], timings[1], batch)
    finally:
        channel.queue_delete(queue)
        channel.exchange_delete(exchange)
        connection.close()


def _files(name: str, n: int, batch: int, make: Callable[[Path], BatchSink], root: Path) -> None:
    timings = []
    for size in (1, batch):
        folder = root / f"{name}-{size}"
        folder.mkdir()
        with make(folder) as sink:
            timings.append(_run(sink, _deliveries(n), size))
        files = [p for p in folder.iterdir() if not p.name.startswith(".")]
        if len(files) != n:
            raise SystemExit(f"invalid run: {len(files)} files in {folder}, expected {n}")
    _report(name, n, "files", timings[0], timings[1], batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/%2F")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still deletes its queue and sshd
    _amqp(args.amqp, args.events, args.batch)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sshd").mkdir()
        with Sshd(root / "sshd") as sshd:
            fields = {k: v for k, v in sshd.source_fields(root).items() if k not in ("readiness", "after")}

            def sftp(folder: Path) -> BatchSink:
                return SftpUploadSink(SftpSinkConfig.model_validate({**fields, "path": str(folder)}))

            _files("sftp upload", args.files, args.batch, sftp, root)

        def folder_sink(folder: Path) -> BatchSink:
            return FolderSink(FolderSinkConfig.model_validate({"kind": "folder", "path": str(folder)}))

        _files("folder drop", args.files, args.batch, folder_sink, root)
    print(json.dumps({"note": "rest bulk: benchmarks/rest_sink.py; file append: benchmarks/file_append.py"}))


if __name__ == "__main__":
    main()
