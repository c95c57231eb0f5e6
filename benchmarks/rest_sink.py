"""Records/s delivered by RestSink to the cloud simulator, against a bare httpx loop posting the same bodies.

One run, printed as absolute rates for both sides and their ratio (RestSink / bare httpx), for single
deliveries and for the bulk endpoint, with 1, 8 and 32 threads. The simulator runs in its own process under
uvicorn (so its CPU does not share this process's GIL), on a free 127.0.0.1 port, and is stopped at the end.

    .venv/bin/python benchmarks/rest_sink.py [--records 2000] [--batch 100]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from adapters.cloud.rest import BulkConfig, RestSink, RestSinkConfig
from bridge.ports import Delivery, Encoded, OutcomeStatus, PathName, Role

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(key: str) -> bytes:
    return json.dumps(
        {
            "external_id": key,
            "customer": "BENCH",
            "currency": "EUR",
            "issue_date": "2026-01-05",
            "lines": [
                {"line_no": n, "description": f"item {n}", "quantity": "2", "unit_price": "9.99", "tax_rate": "19"}
                for n in range(1, 4)
            ],
        }
    ).encode()


def deliveries(tag: str, n: int) -> list[Delivery]:
    return [
        Delivery(
            uuid.uuid4(),
            "bench",
            PathName.CLOUD,
            Role.AUTHORITATIVE,
            f"{tag}-{i}",
            1,
            Encoded(body(f"{tag}-{i}"), "application/json"),
            "txn-bench",
        )
        for i in range(n)
    ]


def timed(work: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    done = work()
    return time.perf_counter() - start, done


def run_sink_single(url: str, batch: Sequence[Delivery], threads: int) -> int:
    with (
        RestSink(RestSinkConfig(url=url + "/v1/invoices", max_connections=threads)) as sink,
        ThreadPoolExecutor(threads) as pool,
    ):
        return sum(o.status is OutcomeStatus.DELIVERED for o in pool.map(sink.deliver, batch))


def run_bare_single(url: str, batch: Sequence[Delivery], threads: int) -> int:
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(limits=limits, timeout=30) as client, ThreadPoolExecutor(threads) as pool:

        def post(d: Delivery) -> bool:
            r = client.post(
                url + "/v1/invoices",
                content=d.payload.body,
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": str(d.message_id),
                    "X-Correlation-ID": d.transaction_id,
                },
            )
            return r.status_code == 201

        return sum(pool.map(post, batch))


def chunks(batch: Sequence[Delivery], size: int) -> list[Sequence[Delivery]]:
    return [batch[i : i + size] for i in range(0, len(batch), size)]


def run_sink_bulk(url: str, batch: Sequence[Delivery], threads: int, size: int) -> int:
    cfg = RestSinkConfig(
        url=url + "/v1/invoices",
        max_connections=threads,
        bulk=BulkConfig(url=url + "/v1/invoices/bulk", batch_size=size),
    )
    with RestSink(cfg) as sink, ThreadPoolExecutor(threads) as pool:
        results = pool.map(sink.deliver_batch, chunks(batch, size))
        return sum(o.status is OutcomeStatus.DELIVERED for chunk in results for o in chunk)


def run_bare_bulk(url: str, batch: Sequence[Delivery], threads: int, size: int) -> int:
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(limits=limits, timeout=60) as client, ThreadPoolExecutor(threads) as pool:

        def post(chunk: Sequence[Delivery]) -> int:
            items = [{"idempotency_key": str(d.message_id), "body": json.loads(d.payload.body)} for d in chunk]
            r = client.post(url + "/v1/invoices/bulk", json={"items": items})
            return sum(1 for x in r.json()["results"] if x["status"] == 201)

        return sum(pool.map(post, chunks(batch, size)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "samples.cloud_sim", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(url + "/_sim/state", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("simulator did not start") from None
                time.sleep(0.1)
        httpx.post(url + "/v1/customers", json={"external_id": "BENCH", "name": "Bench"}).raise_for_status()
        # Warm the server up (imports, lazily compiled schema validators, allocator) before measuring both sides.
        run_bare_single(url, deliveries("warm", 1000), 8)
        print(
            f"RestSink vs bare httpx -> cloud simulator (uvicorn, separate process), {args.records} records, "
            f"bulk batch {args.batch}, {os.cpu_count()} CPUs"
        )
        print(f"{'mode':7} {'threads':>7} {'RestSink rec/s':>15} {'bare httpx rec/s':>17} {'ratio':>6}")
        for mode in ("single", "bulk"):
            for threads in (1, 8, 32):
                tag = f"{mode}{threads}"
                sink_batch = deliveries(f"S-{tag}", args.records)
                bare_batch = deliveries(f"B-{tag}", args.records)
                if mode == "single":
                    sink_run = lambda: run_sink_single(url, sink_batch, threads)  # noqa: B023, E731
                    bare_run = lambda: run_bare_single(url, bare_batch, threads)  # noqa: B023, E731
                else:
                    sink_run = lambda: run_sink_bulk(url, sink_batch, threads, args.batch)  # noqa: B023, E731
                    bare_run = lambda: run_bare_bulk(url, bare_batch, threads, args.batch)  # noqa: B023, E731
                t_bare, n_bare = timed(bare_run)
                t_sink, n_sink = timed(sink_run)
                assert n_sink == n_bare == args.records, (n_sink, n_bare)
                r_sink, r_bare = n_sink / t_sink, n_bare / t_bare
                print(f"{mode:7} {threads:>7} {r_sink:>15.0f} {r_bare:>17.0f} {r_sink / r_bare:>6.2f}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
