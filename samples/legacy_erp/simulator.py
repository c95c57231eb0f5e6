"""Legacy ERP SOAP simulator: a real HTTP SOAP 1.1/1.2 server on 127.0.0.1 speaking ``wsdl/erp.wsdl``.

Built on the standard library's threading HTTP server (spyne installs here but its bundled ``six`` raises
ImportWarnings, which the test suite treats as errors). Requests are parsed with the adapter's hardened
parser; WS-Security UsernameToken (digest or text) and HTTP basic auth can be required. Fault knobs
(latency, hangs, HTTP 500s, SOAP faults, oversized and hostile responses) are set from Python or over
``POST /_admin/knobs`` (JSON) so tests, benchmarks and the demo can drive a simulator in another process.

Run: ``python -m samples.legacy_erp.simulator --port 8089 --invoices 1200``; it prints ``READY <url>``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import signal
import ssl
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from lxml import etree

from adapters.legacy.soap_xml import SOAP11_NS, SOAP12_NS, body_child, parse_envelope
from bridge.ports import BridgeError, Clock, SystemClock
from samples.legacy_erp.codec import dispatch, envelope, fault_envelope
from samples.legacy_erp.store import ErpStore, StoreError

__all__ = ["WSDL_DIR", "WSDL_PATH", "ErpSimulator", "Knobs"]

WSDL_DIR = Path(__file__).parent / "wsdl"
WSDL_PATH = WSDL_DIR / "erp.wsdl"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
MAX_REQUEST = 5 * 1024 * 1024


@dataclass
class Knobs:
    """Misbehaviour on demand. Counters (``fail_500``, ``fault_count``) decrement per request they affect."""

    latency: float = 0.0
    hang: float = 0.0
    fail_500: int = 0
    fault_code: str = ""
    fault_client: bool = True
    fault_count: int = 0
    oversize: int = 0
    omit_length: bool = False
    trickle: float = 0.0
    xxe: bool = False
    basic: tuple[str, str] | None = None
    wsse: tuple[str, str] | None = None


@dataclass
class Stats:
    requests: int = 0
    documents: int = 0  # WSDL/XSD GETs
    by_operation: dict[str, int] = field(default_factory=dict)
    last_headers: dict[str, str] = field(default_factory=dict)


class ErpSimulator:
    """The server: ``with ErpSimulator(store) as sim: sim.url`` serves on a free 127.0.0.1 port."""

    def __init__(
        self,
        store: ErpStore | None = None,
        *,
        port: int = 0,
        clock: Clock | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.store = store or ErpStore(clock=self.clock)
        self.knobs = Knobs()
        self.stats = Stats()
        self._port = port
        self._tls = tls  # (certificate chain PEM, private key PEM): serve HTTPS
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._server is not None, "simulator not started"
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/ws/erp"

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="erp-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def set_knobs(self, **values: Any) -> None:
        with self.lock:
            for name, value in values.items():
                if not hasattr(self.knobs, name):
                    raise ValueError(f"unknown knob {name}")
                setattr(self.knobs, name, tuple(value) if isinstance(value, list) else value)

    def wait(self, seconds: float) -> None:
        """Sleep that ends early when the server stops, so a hanging request never blocks shutdown."""
        self._stopping.wait(seconds)


def _check_wsse(header: etree._Element | None, user: str, password: str, now: datetime) -> str | None:
    """None when the UsernameToken is valid, else why not (digest = b64(sha1(nonce + created + password)))."""
    token = header.find(f".//{{{WSSE_NS}}}UsernameToken") if header is not None else None
    if token is None:
        return "no UsernameToken"
    if token.findtext(f"{{{WSSE_NS}}}Username") != user:
        return "unknown user"
    pw = token.find(f"{{{WSSE_NS}}}Password")
    if pw is None:
        return "no password"
    if (pw.get("Type") or "").endswith("#PasswordDigest"):
        nonce = base64.b64decode(token.findtext(f"{{{WSSE_NS}}}Nonce") or "")
        created = token.findtext(f"{{{WSU_NS}}}Created") or ""
        expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()
        if pw.text != expected:
            return "digest mismatch"
        try:
            when = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            return "bad Created"
        if abs(now - when) > timedelta(minutes=5):
            return "Created outside the allowed skew"
    elif pw.text != password:
        return "password mismatch"
    return None


class _Handler(BaseHTTPRequestHandler):
    sim: ErpSimulator
    server_version = "LegacyERP/7.3"
    protocol_version = "HTTP/1.1"  # keep-alive, as the ERP's application server does
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stats, not logs
        return

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True  # a client that refused a response closes its keep-alive connection

    # ------------------------------------------------------------------ GET: WSDL and XSDs

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if not path.startswith("/_admin/"):
            with self.sim.lock:
                self.sim.stats.documents += 1
        if path == "/_admin/stats":
            with self.sim.lock:
                self._send(200, json.dumps(asdict(self.sim.stats)).encode(), "application/json")
            return
        if path in ("/ws/erp", "/ws/erp12") and self.path.endswith("?wsdl"):
            text = WSDL_PATH.read_text(encoding="utf-8").replace("https://erp.prod.example.com", self._base())
            self._send(200, text.encode(), "text/xml; charset=utf-8")
            return
        rel = path.removeprefix("/ws/")
        target = (WSDL_DIR / rel).resolve()
        if rel != path and target.is_file() and WSDL_DIR.resolve() in target.parents and target.suffix == ".xsd":
            self._send(200, target.read_bytes(), "text/xml; charset=utf-8")
            return
        self._send(404, b"not found", "text/plain")

    def _base(self) -> str:
        return self.sim.url.rsplit("/ws/", 1)[0]

    # ------------------------------------------------------------------ POST: admin and SOAP

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST:
            self._send(413, b"request too large", "text/plain")
            return
        data = self.rfile.read(length)
        if self.path == "/_admin/knobs":
            self.sim.set_knobs(**json.loads(data or b"{}"))
            self._send(204, b"", "text/plain")
            return
        if self.path == "/_admin/late-invoice":
            req = json.loads(data)
            self.sim.store.add_late(req["number"], datetime.fromisoformat(req["modified_at"]))
            self._send(204, b"", "text/plain")
            return
        if self.path not in ("/ws/erp", "/ws/erp12"):
            self._send(404, b"not found", "text/plain")
            return
        self._soap(data)

    def _soap(self, data: bytes) -> None:
        sim = self.sim
        with sim.lock:
            knobs = Knobs(**asdict(sim.knobs))
            sim.stats.requests += 1
            sim.stats.last_headers = {k: v for k, v in self.headers.items()}
            if sim.knobs.fail_500 > 0:
                sim.knobs.fail_500 -= 1
            if sim.knobs.fault_count > 0:
                sim.knobs.fault_count -= 1
        if knobs.latency:
            sim.wait(knobs.latency)
        if knobs.hang:
            sim.wait(knobs.hang)
        if knobs.fail_500 > 0:
            self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
            return
        soap_ns = SOAP12_NS if "application/soap+xml" in (self.headers.get("Content-Type") or "") else SOAP11_NS
        if knobs.basic is not None:
            expected = base64.b64encode(f"{knobs.basic[0]}:{knobs.basic[1]}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}":
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="erp"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        try:
            env, soap_ns = parse_envelope(data, origin="request")
        except BridgeError as exc:
            self._fault(soap_ns, "MalformedRequest", exc.message, client=True)
            return
        if knobs.wsse is not None:
            problem = _check_wsse(env.find(f"{{{soap_ns}}}Header"), knobs.wsse[0], knobs.wsse[1], sim.clock.now())
            if problem:
                self._fault(soap_ns, "FailedAuthentication", problem, client=True)
                return
        body = body_child(env, soap_ns)
        if body is None:
            self._fault(soap_ns, "MalformedRequest", "empty soap:Body", client=True)
            return
        op = etree.QName(body).localname
        with sim.lock:
            sim.stats.by_operation[op] = sim.stats.by_operation.get(op, 0) + 1
        if knobs.fault_count > 0 and knobs.fault_code:
            self._fault(soap_ns, knobs.fault_code, "injected fault", client=knobs.fault_client)
            return
        try:
            response = dispatch(sim.store, body, sim.clock.now().astimezone(UTC))
        except StoreError as exc:
            self._fault(soap_ns, exc.code, exc.message, client=exc.client)
            return
        if knobs.xxe:
            self._hostile(soap_ns)
            return
        payload = etree.tostring(envelope(soap_ns, response), xml_declaration=True, encoding="utf-8")
        if knobs.oversize:
            payload = payload.replace(b"<soap:Body>", b"<soap:Body><!--" + b"x" * knobs.oversize + b"-->", 1)
        self._send(200, payload, self._content_type(soap_ns), omit_length=knobs.omit_length, trickle=knobs.trickle)

    def _hostile(self, soap_ns: str) -> None:
        payload = (
            '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
            f'<soap:Envelope xmlns:soap="{soap_ns}"><soap:Body>'
            '<m:GetCustomerResponse xmlns:m="http://erp.example.com/ws/2009/messages" '
            'xmlns:c="http://erp.example.com/ws/2009/common"><m:customer><c:name>&xxe;</c:name>'
            "<c:country>DE</c:country></m:customer></m:GetCustomerResponse></soap:Body></soap:Envelope>"
        ).encode()
        self._send(200, payload, self._content_type(soap_ns))

    @staticmethod
    def _content_type(soap_ns: str) -> str:
        return "application/soap+xml; charset=utf-8" if soap_ns == SOAP12_NS else "text/xml; charset=utf-8"

    def _fault(self, soap_ns: str, code: str, message: str, *, client: bool) -> None:
        payload = etree.tostring(
            fault_envelope(soap_ns, code, message, client=client), xml_declaration=True, encoding="utf-8"
        )
        status = 400 if (soap_ns == SOAP12_NS and client) else 500
        self._send(status, payload, self._content_type(soap_ns))

    def _send(
        self, status: int, payload: bytes, content_type: str, *, omit_length: bool = False, trickle: float = 0.0
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if omit_length:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if trickle:  # ten slices, each after a pause shorter than a read timeout: only a deadline stops it
                step = max(1, len(payload) // 10 + 1)
                for start in range(0, len(payload), step):
                    self.wfile.write(payload[start : start + step])
                    self.wfile.flush()
                    self.sim.wait(trickle)
                return
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a timeout or a refused oversized response): nothing to answer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8089, help="0 picks a free port")
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=0)
    parser.add_argument("--orders", type=int, default=0)
    parser.add_argument("--wsse", help="require a WS-Security UsernameToken: USER:PASSWORD")
    args = parser.parse_args(argv)
    sim = ErpSimulator(port=args.port)
    sim.store.seed(customers=args.customers, invoices=args.invoices, orders=args.orders)
    if args.wsse:
        user, _, password = args.wsse.partition(":")
        sim.set_knobs(wsse=(user, password))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with sim:
        print(f"READY {sim.url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
