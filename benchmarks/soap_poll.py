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
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.legacy.soap_client import SoapConnection, SoapEndpointConfig  # noqa: E402
from adapters.legacy.soap_poll import SoapPollConfig, SoapPollSource  # noqa: E402
from adapters.legacy.soap_xml import body_child, parse_envelope  # noqa: E402
from bridge.ports import SourceContext, SystemClock  # noqa: E402

WSDL = ROOT / "samples" / "legacy_erp" / "wsdl" / "erp.wsdl"
M = "http://erp.example.com/ws/2009/messages"


class MemoryLedger:
    def __init__(self) -> None:
        self.cursors: dict[tuple[str, str], str] = {}

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        return None

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        return None

    def get_cursor(self, interface: str, key: str) -> str | None:
        return self.cursors.get((interface, key))

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        self.cursors[(interface, key)] = value


def start_simulator(records: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "samples.legacy_erp.simulator", "--port", "0", "--invoices", str(records)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"simulator did not start: {line!r}")
    return proc, line.split()[1]


def bench_poll(url: str, records: int, page_size: int, tmp: Path) -> tuple[float, float]:
    config = SoapPollConfig(wsdl=str(WSDL), endpoint=url, operation="GetChangedInvoices", page_size=page_size,
                            records_path="invoices/invoice", watermark_field="modifiedAt", operation_timeout=60)
    source = SoapPollSource(config, base_dir=ROOT, interface="bench")
    source.open(SourceContext("bench", SystemClock(), tmp, MemoryLedger()))
    started = time.perf_counter()
    seen = 0
    for envelope in source.poll():
        seen += int(envelope.metadata["soap.records"])
        source.acknowledge(envelope)
    elapsed = time.perf_counter() - started
    source.close()
    assert seen == records, (seen, records)

    # raw baseline: same page requests, hand-built envelopes, httpx + the same hardened parser
    def page_request(token: str | None) -> bytes:
        tok = f"<m:pageToken>{token}</m:pageToken>" if token else ""
        return (f'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body>'
                f'<m:GetChangedInvoices xmlns:m="{M}"><m:since>1970-01-01T00:00:00+00:00</m:since>{tok}'
                f"<m:pageSize>{page_size}</m:pageSize></m:GetChangedInvoices></soap-env:Body></soap-env:Envelope>"
                ).encode()

    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://erp.example.com/ws/2009/GetChangedInvoices"'}
    raw_seen, token = 0, None
    started = time.perf_counter()
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
    raw_elapsed = time.perf_counter() - started
    assert raw_seen == records, (raw_seen, records)
    return records / elapsed, records / raw_elapsed


def bench_calls(url: str, calls: int) -> tuple[float, float]:
    conn = SoapConnection(SoapEndpointConfig(kind="soap", wsdl=str(WSDL), endpoint=url, operation_timeout=10),
                          base_dir=ROOT, clock=SystemClock())
    conn.open()
    args: dict[str, Any] = {"customerId": "CUST-00001"}
    for _ in range(20):  # warm-up: connection pool, zeep's lazy structures
        conn.call("GetCustomer", args)
    started = time.perf_counter()
    for _ in range(calls):
        exchange = conn.call("GetCustomer", args)
        assert exchange.body is not None
    zeep_elapsed = time.perf_counter() - started
    assert conn._transport is not None
    envelope_bytes = conn._transport.wire.request  # the byte-identical envelope zeep sent
    conn.close()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"http://erp.example.com/ws/2009/GetCustomer"'}
    with httpx.Client(timeout=10) as client:
        for _ in range(20):
            client.post(url, content=envelope_bytes, headers=headers)
        started = time.perf_counter()
        for _ in range(calls):
            response = client.post(url, content=envelope_bytes, headers=headers)
            env, ns = parse_envelope(response.content)
            assert body_child(env, ns) is not None
        raw_elapsed = time.perf_counter() - started
    return zeep_elapsed / calls, raw_elapsed / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    proc, url = start_simulator(args.records)
    try:
        tmp = Path("/tmp")
        poll_rate, raw_rate = bench_poll(url, args.records, args.page_size, tmp)
        zeep_call, raw_call = bench_calls(url, args.calls)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"when: {datetime.now(UTC).isoformat(timespec='seconds')}  simulator: {url}")
    print(f"poll  SoapPollSource     {poll_rate:10.0f} records/s  ({args.records} records, pages of {args.page_size})")
    print(f"poll  raw httpx + parse  {raw_rate:10.0f} records/s")
    print(f"poll  ratio source/raw   {poll_rate / raw_rate:10.2f}")
    print(f"call  zeep               {1 / zeep_call:10.0f} calls/s  {zeep_call * 1000:8.3f} ms/call"
          f"  ({args.calls} calls)")
    print(f"call  raw httpx POST     {1 / raw_call:10.0f} calls/s  {raw_call * 1000:8.3f} ms/call")
    print(f"call  zeep overhead      {zeep_call / raw_call:10.2f}x  (+{(zeep_call - raw_call) * 1000:.3f} ms/call)")


if __name__ == "__main__":
    main()
