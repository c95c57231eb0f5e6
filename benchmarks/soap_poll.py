"""Benchmark: SoapPollSource records/s against the legacy ERP simulator, and zeep's per-call overhead.

The simulator runs in its own process (as a real peer would), on 127.0.0.1. Two measurements in one run:

1. ``SoapPollSource`` paging through N changed invoices with pages of 500 (poll + acknowledge each page),
   against a raw baseline that POSTs the same page requests with httpx and parses them with the same
   hardened parser. Printed as records/s for both and their ratio.
2. Per-call cost of one small operation (``GetCustomer``) through ``SoapConnection.call`` (zeep builds and
   validates the envelope, WS-Security off) against a raw httpx POST of the byte-identical envelope.
   Printed as calls/s and ms/call for both and the ratio zeep/raw.

Run: ``.venv/bin/python benchmarks/soap_poll.py [--records 20000] [--page-size 500] [--calls 300]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from adapters.legacy.soap_client import SoapConnection, SoapEndpointConfig
from adapters.legacy.soap_poll import SoapPollConfig, SoapPollSource
from adapters.legacy.soap_xml import body_child, parse_envelope
from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger

ROOT = Path(__file__).resolve().parents[1]

WSDL = ROOT / "samples" / "legacy_erp" / "wsdl" / "erp.wsdl"
M = "http://erp.example.com/ws/2009/messages"


def start_simulator(records: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "samples.legacy_erp.simulator", "--port", "0", "--invoices", str(records)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.split()[1]


def poll_source(url: str, records: int, page_size: int, tmp: Path) -> tuple[float, float]:
    """Wall and client-CPU seconds for SoapPollSource to page through every record (poll + acknowledge)."""
    config = SoapPollConfig(
        wsdl=str(WSDL),
        endpoint=url,
        operation="GetChangedInvoices",
        page_size=page_size,
        records_path="invoices/invoice",
        watermark_field="modifiedAt",
        operation_timeout=60,
    )
    source = SoapPollSource(config, base_dir=ROOT, interface="bench")
    source.open(SourceContext("bench", SystemClock(), tmp, MemorySourceLedger()))
    started, cpu = time.perf_counter(), time.process_time()
    seen = 0
    for envelope in source.poll():
        seen += int(envelope.metadata["soap.records"])
        source.acknowledge(envelope)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    source.close()
    assert seen == records, (seen, records)
    return elapsed, cpu


def poll_raw(url: str, records: int, page_size: int) -> tuple[float, float]:
    """Wall and client-CPU seconds for the raw baseline: the same page requests as hand-built envelopes,
    httpx, and the same hardened parser."""

    def page_request(token: str | None) -> bytes:
        tok = f"<m:pageToken>{token}</m:pageToken>" if token else ""
        return (
            f'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>'
            f'<m:GetChangedInvoices xmlns:m="{M}"><m:since>1970-01-01T00:00:00+00:00</m:since>{tok}'
            f"<m:pageSize>{page_size}</m:pageSize></m:GetChangedInvoices></soap-env:Body></soap-env:Envelope>"
        ).encode()

    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"http://erp.example.com/ws/2009/GetChangedInvoices"',
    }
    raw_seen, token = 0, None
    started, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(timeout=60) as client:
        while True:
            response = client.post(url, content=page_request(token), headers=headers)
            env, ns = parse_envelope(response.content)
            body = body_child(env, ns)
            assert body is not None
            raw_seen += len(body.findall(f"{{{M}}}invoices/{{{M}}}invoice"))
            token = body.findtext(f"{{{M}}}nextPageToken")
            if not token:
                break
    raw_elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert raw_seen == records, (raw_seen, records)
    return raw_elapsed, cpu


def bench_calls(url: str, calls: int, rounds: int) -> tuple[float, float, float, float]:
    """Median seconds per call for zeep and for raw httpx, measured in alternating rounds (load on the
    machine then hits both sides alike)."""
    conn = SoapConnection(
        SoapEndpointConfig(kind="soap", wsdl=str(WSDL), endpoint=url, operation_timeout=10),
        base_dir=ROOT,
        clock=SystemClock(),
    )
    conn.open()
    args: dict[str, Any] = {"customerId": "CUST-00001"}
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://erp.example.com/ws/2009/GetCustomer"'}
    zeep_times: list[float] = []
    raw_times: list[float] = []
    zeep_cpu: list[float] = []
    raw_cpu: list[float] = []
    with httpx.Client(timeout=10) as client:
        for _ in range(20):  # warm-up: connection pools, zeep's lazy structures
            conn.call("GetCustomer", args)
        assert conn._transport is not None
        envelope_bytes = conn._transport.wire.request  # the byte-identical envelope zeep sends
        for _ in range(20):
            client.post(url, content=envelope_bytes, headers=headers)
        for _ in range(rounds):
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                assert conn.call("GetCustomer", args).body is not None
            zeep_times.append((time.perf_counter() - started) / calls)
            zeep_cpu.append((time.process_time() - cpu) / calls)
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                env, ns = parse_envelope(client.post(url, content=envelope_bytes, headers=headers).content)
                assert body_child(env, ns) is not None
            raw_times.append((time.perf_counter() - started) / calls)
            raw_cpu.append((time.process_time() - cpu) / calls)
    conn.close()
    med = statistics.median
    return med(zeep_times), med(raw_times), med(zeep_cpu), med(raw_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--calls", type=int, default=100, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    proc, url = start_simulator(args.records)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source_s, raw_s = [], []
            for _ in range(max(1, args.rounds // 2)):
                source_s.append(poll_source(url, args.records, args.page_size, Path(tmp)))
                raw_s.append(poll_raw(url, args.records, args.page_size))
        poll_rate = args.records / statistics.median(w for w, _ in source_s)
        raw_rate = args.records / statistics.median(w for w, _ in raw_s)
        poll_cpu = statistics.median(c for _, c in source_s) / args.records
        raw_poll_cpu = statistics.median(c for _, c in raw_s) / args.records
        zeep_call, raw_call, zeep_cpu, raw_cpu = bench_calls(url, args.calls, args.rounds)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load = os.getloadavg()[0]
    print(f"when: {datetime.now(UTC).isoformat(timespec='seconds')}  simulator: {url}  load(1m): {load:.2f}")
    print(
        f"poll  SoapPollSource     {poll_rate:10.0f} records/s  ({args.records} records, pages of "
        f"{args.page_size}, median of {len(source_s)} interleaved runs)"
    )
    print(f"poll  raw httpx + parse  {raw_rate:10.0f} records/s")
    print(f"poll  ratio source/raw   {poll_rate / raw_rate:10.2f}  (wall; the simulator's page building dominates)")
    print(
        f"poll  client CPU         {poll_cpu * 1e6:10.1f} us/record source  {raw_poll_cpu * 1e6:.1f} us/record raw"
        f"  ratio {poll_cpu / raw_poll_cpu:.2f}"
    )
    print(
        f"call  zeep               {1 / zeep_call:10.0f} calls/s  {zeep_call * 1000:8.3f} ms/call"
        f"  (median of {args.rounds} rounds x {args.calls} calls, interleaved)"
    )
    print(f"call  raw httpx POST     {1 / raw_call:10.0f} calls/s  {raw_call * 1000:8.3f} ms/call")
    extra = (zeep_call - raw_call) * 1000
    print(f"call  zeep overhead      {zeep_call / raw_call:10.2f}x  (+{extra:.3f} ms/call, wall)")
    print(
        f"call  client CPU         {zeep_cpu * 1000:10.3f} ms/call zeep  {raw_cpu * 1000:.3f} ms/call raw"
        f"  ratio {zeep_cpu / raw_cpu:.2f}"
    )


if __name__ == "__main__":
    main()
