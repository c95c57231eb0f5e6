"""SoapPollSource against the real simulator over HTTP: paging, cursor, resume after SIGKILL, overlap de-dup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.legacy.soap_poll import SoapPollConfig, SoapPollSource
from adapters.legacy.soap_xml import elements, local_path, parse_xml
from bridge.ports import (
    Envelope,
    HostileInput,
    IdentityRule,
    SecurityError,
    SourceContext,
    SourceLedger,
    SystemClock,
    TargetUnavailable,
    record_identity,
)
from bridge.testing import MemorySourceLedger
from samples.legacy_erp.simulator import ErpSimulator
from tests.integration.soap.conftest import INVOICES

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
RECORDS, NUMBER, VERSION = local_path("invoices/invoice"), local_path("invoiceNumber"), local_path("changeVersion")


def config(sim: ErpSimulator, wsdl: Path, **overrides: Any) -> SoapPollConfig:
    values: dict[str, Any] = {
        "wsdl": str(wsdl),
        "endpoint": sim.url,
        "operation": "GetChangedInvoices",
        "records_path": "invoices/invoice",
        "watermark_field": "modifiedAt",
        "page_size": 500,
        "operation_timeout": 10,
    }
    return SoapPollConfig(**{**values, **overrides})


def open_source(cfg: SoapPollConfig, ledger: SourceLedger, tmp_path: Path, interface: str = "inv") -> SoapPollSource:
    source = SoapPollSource(cfg, base_dir=tmp_path, interface=interface)
    source.open(SourceContext(interface, SystemClock(), tmp_path, ledger))
    return source


def identities(envelope: Envelope) -> list[str]:
    """What the runtime will derive per record: business key + change version (IdentityRule.CHANGE)."""
    assert envelope.body is not None
    out = []
    for i, rec in enumerate(elements(RECORDS(parse_xml(envelope.body)))):
        key, version = elements(NUMBER(rec))[0].text, elements(VERSION(rec))[0].text
        out.append(record_identity(envelope, ordinal=i, business_key=key, version=version))
    return out


def test_pages_through_all_changed_records(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """1,234 changed records arrive as pages of 500/500/234, each once, and the watermark ends at the newest."""
    with open_source(config(sim, wsdl), ledger, tmp_path) as source:
        seen: list[str] = []
        sizes = []
        for envelope in source.poll():
            assert envelope.identity_rule is IdentityRule.CHANGE and envelope.media_type == "application/xml"
            assert parse_xml(envelope.body or b"").tag.endswith("}GetChangedInvoicesResponse")
            sizes.append(int(envelope.metadata["soap.records"]))
            seen += identities(envelope)
            source.acknowledge(envelope)
        assert sizes == [500, 500, 234]
        assert len(seen) == len(set(seen)) == INVOICES
        cursor = source.cursor()
    assert cursor.watermark == START + timedelta(seconds=INVOICES - 1) and cursor.page_token is None


def test_cursor_moves_only_on_acknowledge(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """Polling without acknowledging writes no cursor; the next poll re-reads the same batches (same ids)."""
    with open_source(config(sim, wsdl), ledger, tmp_path) as source:
        first = [e.batch_id for e in source.poll()]
        assert ledger.get_cursor("inv", source.cursor_key) is None
        again = [e.batch_id for e in source.poll()]
    assert first == again and len(first) == 3


def test_resume_from_page_token_after_partial_acknowledgement(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """With only page 0 acknowledged, a new source instance continues at page 1 with the stored token."""
    cfg = config(sim, wsdl)
    with open_source(cfg, ledger, tmp_path) as source:
        pages = source.poll()
        page0 = next(pages)
        source.acknowledge(page0)
        pages.close()
    with open_source(cfg, ledger, tmp_path) as source:
        resumed = list(source.poll())
    assert resumed[0].metadata["soap.page"] == "1"
    assert resumed[0].metadata["soap.page_token"] == page0.metadata["soap.next_page_token"] != ""
    assert sum(int(e.metadata["soap.records"]) for e in resumed) == INVOICES - 500


def test_reread_at_the_watermark_yields_known_identities(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """The next poll re-reads the records at the (inclusive) watermark: same identities, so a no-op."""
    with open_source(config(sim, wsdl), ledger, tmp_path) as source:
        known: set[str] = set()
        for envelope in source.poll():
            known.update(identities(envelope))
            source.acknowledge(envelope)
        reread = [i for e in source.poll() for i in identities(e)]
    assert reread and set(reread) <= known


def test_overlap_window_catches_late_commits_without_duplicates(sim: ErpSimulator, wsdl: Path, tmp_path: Path) -> None:
    """A record committed late with an older timestamp is found inside the overlap; re-read ones keep their ids."""
    with_overlap, without = MemorySourceLedger(), MemorySourceLedger()
    sources = {
        "overlap": open_source(config(sim, wsdl, overlap_seconds=120), with_overlap, tmp_path, "a"),
        "none": open_source(config(sim, wsdl, overlap_seconds=0), without, tmp_path, "b"),
    }
    known: dict[str, set[str]] = {}
    for name, source in sources.items():
        known[name] = set()
        for envelope in source.poll():
            known[name].update(identities(envelope))
            source.acknowledge(envelope)
    late_at = START + timedelta(seconds=INVOICES - 1 - 60)
    sim.store.add_late("INV-LATE-1", late_at)
    second = {name: [i for e in src.poll() for i in identities(e)] for name, src in sources.items()}
    late = "change:INV-LATE-1:1"
    assert late in second["overlap"]
    rest = set(second["overlap"]) - {late}
    assert len(rest) == 121 and rest <= known["overlap"]  # 120 s of overlap + the inclusive boundary
    assert late not in second["none"]  # without an overlap window the late commit is lost
    for source in sources.values():
        source.close()


def test_soap12_port_is_polled(sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path) -> None:
    """Binding the SOAP 1.2 port polls with application/soap+xml and reads the same pages."""
    with open_source(config(sim, wsdl, port="ErpSoap12", page_size=1000), ledger, tmp_path) as source:
        counts = [int(e.metadata["soap.records"]) for e in source.poll()]
    assert counts == [1000, INVOICES - 1000]
    assert "application/soap+xml" in sim.stats.last_headers["Content-Type"]


def test_wsse_usernametoken_digest_and_redacted_capture(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """A UsernameToken digest with timestamp is accepted; the captured request masks the secrets."""
    sim.set_knobs(wsse=("bridge", "Tr0ub4dor&3"))
    cfg = config(sim, wsdl, page_size=5000, wsse={"username": "bridge", "password": "Tr0ub4dor&3"})
    with open_source(cfg, ledger, tmp_path) as source:
        envelope = next(iter(source.poll()))
    captured = envelope.metadata["soap.request"]
    assert "PasswordDigest" in captured and "Timestamp" in captured
    assert ">***</wsse:Password>" in captured and ">***</wsse:Nonce>" in captured
    assert "Tr0ub4dor" not in captured


def test_wrong_wsse_password_is_security_error(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """A refused UsernameToken (wsse FailedAuthentication fault) raises SecurityError, not a retry."""
    sim.set_knobs(wsse=("bridge", "right"))
    cfg = config(sim, wsdl, wsse={"username": "bridge", "password": "wrong"})
    with open_source(cfg, ledger, tmp_path) as source, pytest.raises(SecurityError):
        next(iter(source.poll()))
    assert ledger.get_cursor("inv", source.cursor_key) is None


def test_server_fault_during_poll_is_retryable(
    sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path
) -> None:
    """A server-side SOAP fault raises TargetUnavailable so the poll is simply retried next cycle."""
    sim.set_knobs(fault_code="Busy", fault_client=False, fault_count=1)
    with open_source(config(sim, wsdl), ledger, tmp_path) as source:
        with pytest.raises(TargetUnavailable):
            next(iter(source.poll()))
        assert sum(1 for _ in source.poll()) == 3  # the next cycle works


def test_hostile_page_is_refused(sim: ErpSimulator, wsdl: Path, ledger: MemorySourceLedger, tmp_path: Path) -> None:
    """A page carrying an external-entity DOCTYPE raises HostileInput and advances nothing."""
    sim.set_knobs(xxe=True)
    with open_source(config(sim, wsdl), ledger, tmp_path) as source, pytest.raises(HostileInput):
        next(iter(source.poll()))
    assert ledger.get_cursor("inv", source.cursor_key) is None


def _worker(sim: ErpSimulator, wsdl: Path, db: Path, out: Path, pause: float) -> subprocess.Popen[str]:
    script = Path(__file__).parent / "poll_worker.py"
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.Popen(
        [sys.executable, str(script), sim.url, str(wsdl), str(db), str(out), "100", str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_watermark_resume_after_sigkill(sim: ErpSimulator, wsdl: Path, tmp_path: Path) -> None:
    """A poll process killed with SIGKILL mid-scan resumes from its durable cursor: nothing lost, at most the
    one unacknowledged page re-read, and every re-read record has the identity it had before."""
    db, out = tmp_path / "ledger.json", tmp_path / "records.txt"
    proc = _worker(sim, wsdl, db, out, pause=0.15)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if out.exists() and len(out.read_text().splitlines()) >= 400:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = out.read_text().splitlines()
    assert 400 <= len(before) < INVOICES
    cursor = MemorySourceLedger(db).get_cursor("inv", "soap:GetChangedInvoices")
    assert cursor is not None and '"page_token": null' not in cursor  # killed mid-scan
    acked_page = json.loads(cursor)["acked_page"]
    assert acked_page >= 2
    rerun = _worker(sim, wsdl, db, out, pause=0)
    stdout, stderr = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, stderr
    assert stdout.splitlines()[-1] == "DONE"
    lines = out.read_text().splitlines()
    assert len(set(lines)) == INVOICES  # nothing lost
    first = int(stdout.splitlines()[0].split()[1])
    reread = len(lines) - INVOICES
    # Resumed after the last acknowledged page; if the kill fell between the ledger marking the page's batch
    # acknowledged and the cursor write, that page is skipped by its batch state (no re-read at all).
    assert first in (acked_page + 1, acked_page + 2)
    assert reread == 0 if first == acked_page + 2 else reread <= 100


def test_cursor_lives_in_the_real_ledger(sim: ErpSimulator, wsdl: Path, tmp_path: Path) -> None:
    """With the bridge's own SQLite ledger as SourceLedger, the acknowledged cursor survives a reopen."""
    from bridge.ports import SimulatedClock
    from bridge.store.engine import make_engine, upgrade
    from bridge.store.ledger import Ledger

    url = f"sqlite:///{tmp_path / 'bridge.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        with open_source(config(sim, wsdl), Ledger(engine, SimulatedClock()), tmp_path) as source:
            for envelope in source.poll():
                source.acknowledge(envelope)
    finally:
        engine.dispose()
    engine = make_engine(url)
    try:
        ledger = Ledger(engine, SimulatedClock())
        with open_source(config(sim, wsdl), ledger, tmp_path) as source:
            assert source.cursor().watermark == START + timedelta(seconds=INVOICES - 1)
    finally:
        engine.dispose()
