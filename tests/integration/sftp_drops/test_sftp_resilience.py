"""SFTP source under failure: connection killed mid-download, bridge SIGKILLed between download and move."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from adapters.legacy.sftp import SftpDropSource
from bridge.ports import ConnectionFailed, RetryableError, SourceContext, SystemClock
from bridge.testing import MemorySourceLedger


def _big_file(path: Path, size: int) -> str:
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with path.open("wb") as f:
        for i in range(size >> 20):
            chunk = block[:-8] + i.to_bytes(8, "big")
            f.write(chunk)
            digest.update(chunk)
    then = time.time() - 60
    os.utime(path, (then, then))
    return digest.hexdigest()


def test_connection_killed_mid_download_then_processed_once(sshd, tmp_path: Path) -> None:
    """Killing the SSH session mid-download fails the poll retryably, records nothing, and the next poll
    reconnects and yields the file exactly once with the right SHA-256."""
    drop = tmp_path / "in"
    drop.mkdir()
    expected = _big_file(drop / "big.dat", 96 << 20)
    spool = tmp_path / "spool"
    ledger = MemorySourceLedger()
    source = SftpDropSource(sshd.source_config(path=str(drop), readiness={"rule": "rename"}))
    source.open(SourceContext("kill-test", SystemClock(), spool, ledger))
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = list(spool.glob("*.part"))
            if parts and parts[0].exists() and parts[0].stat().st_size > (8 << 20):
                for pid in sshd.session_pids():
                    os.kill(pid, signal.SIGKILL)  # a per-connection child of the sshd this test session started
                    killed.append(pid)
                return
            time.sleep(0.002)

    thread = threading.Thread(target=killer)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(RetryableError) as info:
            list(source.poll())
    finally:
        thread.join()
    assert time.monotonic() - started < 8, "a cut connection must fail the poll promptly"
    assert killed, "the download finished before the connection could be cut"
    assert isinstance(info.value, ConnectionFailed | RetryableError)
    assert ledger.history == []
    assert list(spool.iterdir()) == []
    [envelope] = list(source.poll())
    assert envelope.identity == expected
    assert envelope.spool_path.stat().st_size == 96 << 20
    source.acknowledge(envelope)
    assert list(source.poll()) == []
    assert [mark.state for mark in ledger.history] == ["spooled", "acknowledged"]
    source.close()


CHILD = """
import json, os, signal, sys
from pathlib import Path
from adapters.legacy.sftp import SftpDropSource, SftpSourceConfig
from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger
config = SftpSourceConfig.model_validate(json.loads(sys.argv[2]))
source = SftpDropSource(config)
source.open(SourceContext("crash-test", SystemClock(), Path(sys.argv[3]), MemorySourceLedger(Path(sys.argv[4]))))
for envelope in source.poll():
    print(json.dumps({"batch_id": envelope.batch_id, "identity": envelope.identity}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # the bridge dies after download, before acknowledge (no move)
"""


def test_sigkill_between_download_and_move_loses_nothing_duplicates_nothing(sshd, tmp_path: Path) -> None:
    """A bridge SIGKILLed after download and before the move: the file stays, the restarted source yields the
    same batch (same identity, so the same message ids), and after acknowledge it is never yielded again."""
    drop = tmp_path / "in"
    drop.mkdir()
    (drop / "orders.csv").write_bytes(b"id,amount\n1,10.00\n")
    ledger_file = tmp_path / "ledger.json"
    config = sshd.source_config(path=str(drop), readiness={"rule": "rename"})
    fields = json.loads(config.model_dump_json())
    fields["key_passphrase"] = None
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(Path(__file__).parent),
            json.dumps(fields),
            str(tmp_path / "spool"),
            str(ledger_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    before = json.loads(child.stdout.strip().splitlines()[-1])
    assert (drop / "orders.csv").exists()
    ledger = MemorySourceLedger(ledger_file)
    assert ledger.batch_state("crash-test", before["batch_id"]) == "spooled"

    source = SftpDropSource(config)
    source.open(SourceContext("crash-test", SystemClock(), tmp_path / "spool", ledger))
    [again] = list(source.poll())
    assert (again.batch_id, again.identity) == (before["batch_id"], before["identity"])
    source.acknowledge(again)
    assert (drop / "archive" / "orders.csv").exists()
    assert list(source.poll()) == []
    assert [mark.state for mark in ledger.history] == ["spooled", "spooled", "acknowledged"]
    source.close()


def test_unreachable_server_is_retryable(tmp_path: Path, sshd) -> None:
    """A closed port is a retryable ConnectionFailed from poll, not a crash."""
    from tests.integration.sftp_drops.conftest import free_port

    config = sshd.source_config(path=str(tmp_path), port=free_port(), connect_timeout=2)
    source = SftpDropSource(config)
    source.open(SourceContext("down", SystemClock(), tmp_path / "spool", MemorySourceLedger(tmp_path / "l.json")))
    with pytest.raises(ConnectionFailed):
        list(source.poll())


RSS_CHILD = """
import json, sys
from pathlib import Path
from adapters.legacy.sftp import SftpDropSource, SftpSourceConfig
from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger

source = SftpDropSource(SftpSourceConfig.model_validate(json.loads(sys.argv[1])))
ledger = MemorySourceLedger(Path(sys.argv[2]) / "ledger.json")
source.open(SourceContext("rss", SystemClock(), Path(sys.argv[2]), ledger))
counted = records = 0
for envelope in source.poll():
    with envelope.open() as stream:      # a counting decoder: streams the spooled file
        while chunk := stream.read(1 << 16):
            counted += len(chunk)
            records += chunk.count(b"\\n")
    source.acknowledge(envelope)
source.close()
# VmHWM is this process image's peak RSS (ru_maxrss would carry the forking parent's high-water mark)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"bytes": counted, "records": records, "peak_rss_mb": hwm / 1024}))
"""


@pytest.mark.slow
def test_200_mb_file_streams_with_bounded_memory(sshd, tmp_path: Path) -> None:
    """A 200 MB file goes through the source into a counting decoder with the process's peak RSS under 100 MB."""
    drop = tmp_path / "in"
    drop.mkdir()
    line = b"4711;2026-01-05;EUR;1234.56;" + b"x" * 35 + b"\n"  # 64 bytes
    block = line * (1 << 14)  # 1 MiB
    with (drop / "big.csv").open("wb") as f:
        for _ in range(200):
            f.write(block)
    config = sshd.source_config(path=str(drop), readiness={"rule": "rename"}, after={"action": "delete"})
    fields = json.loads(config.model_dump_json())
    fields["key_passphrase"] = None
    spool = tmp_path / "spool"
    spool.mkdir()
    child = subprocess.run(
        [sys.executable, "-c", RSS_CHILD, json.dumps(fields), str(spool), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["bytes"] == 200 << 20
    assert result["records"] == 200 << 14
    assert result["peak_rss_mb"] < 100, result
    assert not (drop / "big.csv").exists()
