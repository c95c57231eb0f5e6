"""Drop source contract: the same behaviour over a local folder and over real OpenSSH sshd."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from bridge.ports import DecodeError, Envelope, RetryableError
from bridge.testing import MemorySourceLedger


def _read(envelope: Envelope) -> bytes:
    with envelope.open() as stream:
        return stream.read()


def _poll_all(source: object) -> list[Envelope]:
    return list(source.poll())  # type: ignore[attr-defined]


def test_stable_rule_never_yields_a_file_being_appended(drop) -> None:
    """A slowly appended file is yielded once, complete, only after it stopped changing."""
    path = drop.folder / "slow.csv"
    chunks = [f"line {i}\n".encode() * 200 for i in range(8)]
    path.write_bytes(b"")

    def writer() -> None:
        for chunk in chunks:
            with path.open("ab") as f:
                f.write(chunk)
            time.sleep(0.25)

    source = drop.source(readiness={"rule": "stable", "min_age": 1.0})
    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[Envelope] = []
    bodies: list[bytes] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (seen and not thread.is_alive()):
        for envelope in source.poll():
            seen.append(envelope)
            bodies.append(_read(envelope))
            source.acknowledge(envelope)
        time.sleep(0.2)
    thread.join()
    assert len(seen) == 1
    assert bodies == [b"".join(chunks)]
    assert seen[0].identity == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert seen[0].size == len(b"".join(chunks))


def test_stable_rule_waits_for_a_second_listing(drop) -> None:
    """Under ``stable`` a new file is not yielded on its first listing, and is on the second."""
    drop.put("a.xml", b"<a/>")
    source = drop.source()
    assert _poll_all(source) == []
    [envelope] = _poll_all(source)
    assert _read(envelope) == b"<a/>"
    assert envelope.identity == hashlib.sha256(b"<a/>").hexdigest()
    assert envelope.batch_id.endswith(envelope.identity)
    assert [(m.batch_id, m.state) for m in drop.ledger.history] == [(envelope.batch_id, "spooled")]


def test_done_file_rule_needs_the_trigger_and_removes_it(drop) -> None:
    """Under ``done_file`` a file waits for ``<name>.ok``; after acknowledge both are gone from the drop."""
    drop.put("inv.xml", b"<inv/>")
    source = drop.source(readiness={"rule": "done_file", "suffix": ".ok"})
    assert _poll_all(source) == []
    drop.put("inv.xml.ok", b"")
    [envelope] = _poll_all(source)
    assert envelope.metadata["name"] == "inv.xml"
    source.acknowledge(envelope)
    assert sorted(p.name for p in drop.folder.iterdir()) == ["archive"]
    assert (drop.folder / "archive" / "inv.xml").read_bytes() == b"<inv/>"


def test_rename_rule_ignores_temporary_names(drop) -> None:
    """Under ``rename`` a temp-named file is ignored and the renamed file is yielded at once."""
    drop.put("orders.csv.part", b"a,b\n")
    drop.put(".orders2.csv", b"a,b\n")
    source = drop.source(readiness={"rule": "rename"})
    assert _poll_all(source) == []
    (drop.folder / "orders.csv.part").rename(drop.folder / "orders.csv")
    [envelope] = _poll_all(source)
    assert envelope.metadata["name"] == "orders.csv"


@pytest.mark.parametrize("action", ["move", "delete", "leave"])
def test_after_processing_actions(drop, action: str) -> None:
    """acknowledge moves to archive/, deletes, or leaves the file, as configured; verified afterwards."""
    drop.put("x.xml", b"<x/>")
    source = drop.source(readiness={"rule": "rename"}, after={"action": action})
    [envelope] = _poll_all(source)
    source.acknowledge(envelope)
    assert drop.ledger.batch_state("drop-test", envelope.batch_id) == "acknowledged"
    assert (drop.folder / "x.xml").exists() is (action == "leave")
    assert (drop.folder / "archive" / "x.xml").exists() is (action == "move")
    assert not envelope.spool_path.exists()  # type: ignore[union-attr]


def test_dated_archive_folders(drop) -> None:
    """``dated: true`` archives under YYYY/MM/DD of the source's clock."""
    drop.put("d.xml", b"<d/>")
    source = drop.source(readiness={"rule": "rename"}, after={"move_to": "done", "dated": True})
    [envelope] = _poll_all(source)
    source.acknowledge(envelope)
    day = envelope.received_at
    assert (drop.folder / "done" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / "d.xml").exists()


def test_failed_file_goes_to_error_folder_with_sidecar(drop) -> None:
    """fail() moves the file to error/ with a JSON sidecar saying why, and it is not read again."""
    drop.put("bad.xml", b"<oops")
    source = drop.source(readiness={"rule": "rename"})
    [envelope] = _poll_all(source)
    source.fail(envelope, DecodeError("not well-formed: unclosed tag"))
    assert not (drop.folder / "bad.xml").exists()
    assert (drop.folder / "error" / "bad.xml").read_bytes() == b"<oops"
    sidecar = json.loads((drop.folder / "error" / "bad.xml.error.json").read_text())
    assert sidecar["error"]["type"] == "DecodeError"
    assert "unclosed tag" in sidecar["error"]["message"]
    assert sidecar["sha256"] == envelope.identity
    assert drop.ledger.batch_state("drop-test", envelope.batch_id) == "failed"
    assert _poll_all(drop.source(readiness={"rule": "rename"})) == []
    drop.put("bad.xml", b"<oops", age=600)  # dropped again later: a new batch; the runtime dedupes message ids
    again = _poll_all(drop.source(readiness={"rule": "rename"}))
    assert [e.identity for e in again] == [envelope.identity]
    assert again[0].batch_id != envelope.batch_id


def test_acknowledged_file_is_a_no_op_after_restart(drop) -> None:
    """A left file that was acknowledged is never yielded again, by a new source instance either."""
    drop.put("keep.csv", b"k\n")
    first = drop.source(readiness={"rule": "rename"}, after={"action": "leave"})
    [envelope] = _poll_all(first)
    first.acknowledge(envelope)
    assert _poll_all(first) == []
    restarted = drop.source(readiness={"rule": "rename"}, after={"action": "leave"})
    assert _poll_all(restarted) == []


def test_failed_move_is_reported_then_retried_and_never_reread(drop, caplog) -> None:
    """If the archive move fails, acknowledge raises a retryable error; later polls log it as an ERROR, skip
    the file (without blocking others) and retry the move until it succeeds."""
    drop.put("m.xml", b"<m/>")
    (drop.folder / "archive").write_bytes(b"not a folder")  # makes the move fail
    source = drop.source(readiness={"rule": "rename"})
    [envelope] = _poll_all(source)
    with pytest.raises(RetryableError, match="after-processing"):
        source.acknowledge(envelope)
    assert drop.ledger.batch_state("drop-test", envelope.batch_id) == "acknowledged"
    drop.put("other.xml", b"<o/>")
    restarted = drop.source(readiness={"rule": "rename"})
    caplog.clear()
    assert [e.metadata["name"] for e in _poll_all(restarted)] == ["other.xml"]
    assert any(r.levelname == "ERROR" and "m.xml failed" in r.getMessage() for r in caplog.records)
    (drop.folder / "archive").unlink()
    assert [e.metadata["name"] for e in _poll_all(restarted)] == ["other.xml"]  # not acknowledged yet
    assert (drop.folder / "archive" / "m.xml").read_bytes() == b"<m/>"
    assert not (drop.folder / "m.xml").exists()


def test_yielded_but_unacknowledged_file_comes_back_with_the_same_identity(drop) -> None:
    """A crash between download and acknowledge loses nothing: the next source yields the same batch again."""
    drop.put("c.xml", b"<c/>")
    [first] = _poll_all(drop.source(readiness={"rule": "rename"}))
    [again] = _poll_all(drop.source(readiness={"rule": "rename"}))
    assert (again.batch_id, again.identity) == (first.batch_id, first.identity)


def test_shared_drop_is_left_untouched(drop) -> None:
    """A shared drop (after: leave) keeps the file byte-for-byte and with its mtime after acknowledge."""
    path = drop.put("shared.xml", b"<s/>")
    before = path.stat()
    source = drop.source(readiness={"rule": "rename"}, shared=True, after={"action": "leave"})
    [envelope] = _poll_all(source)
    source.acknowledge(envelope)
    after = path.stat()
    assert path.read_bytes() == b"<s/>"
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (before.st_mtime_ns, before.st_size, before.st_ino)
    assert sorted(p.name for p in drop.folder.iterdir()) == ["shared.xml"]


def test_two_hundred_files_in_one_poll(drop) -> None:
    """200 ready files are all yielded by one poll, oldest first, each with its own identity."""
    for i in range(200):
        drop.put(f"f{i:03}.csv", f"row {i}\n".encode(), age=1000 - i)
    source = drop.source(readiness={"rule": "rename"}, max_files_per_poll=500)
    envelopes = _poll_all(source)
    assert [e.metadata["name"] for e in envelopes] == [f"f{i:03}.csv" for i in range(200)]
    assert len({e.identity for e in envelopes}) == 200
    for envelope in envelopes:
        source.acknowledge(envelope)
    assert len(list((drop.folder / "archive").iterdir())) == 200


def test_max_files_per_poll_limits_a_poll(drop) -> None:
    """``max_files_per_poll`` caps one poll; the rest comes in the next."""
    for i in range(5):
        drop.put(f"g{i}.csv", b"x", age=100 - i)
    source = drop.source(readiness={"rule": "rename"}, max_files_per_poll=3)
    first = _poll_all(source)
    for envelope in first:
        source.acknowledge(envelope)
    assert len(first) == 3
    assert len(_poll_all(source)) == 2


def test_names_with_spaces_and_non_ascii(drop) -> None:
    """File names with spaces and non-ASCII characters are read, archived and reported intact."""
    name = "Rechnung März 2026 №7 – ÉTÉ.xml"
    drop.put(name, "<r>ü</r>".encode())
    source = drop.source(readiness={"rule": "rename"}, include=["*.xml"])
    [envelope] = _poll_all(source)
    assert envelope.metadata["name"] == name
    assert _read(envelope) == "<r>ü</r>".encode()
    source.acknowledge(envelope)
    assert (drop.folder / "archive" / name).exists()


def test_include_exclude_and_recursion(drop) -> None:
    """Only included, not excluded files are listed; sub-folders only with recursive, never archive/ or error/."""
    drop.put("a.xml", b"1")
    drop.put("a.tmp.xml", b"2")
    drop.put("b.csv", b"3")
    drop.put("sub/c.xml", b"4")
    drop.put("archive/old.xml", b"5")
    flat = drop.source(readiness={"rule": "rename"}, include=["*.xml"], exclude=["*.tmp.xml"])
    assert [e.metadata["name"] for e in _poll_all(flat)] == ["a.xml"]
    deep = drop.source(readiness={"rule": "rename"}, include=["*.xml"], exclude=["*.tmp.xml"], recursive=True)
    assert sorted(e.metadata["name"] for e in _poll_all(deep)) == ["a.xml", "c.xml"]


def test_file_changed_during_download_is_not_processed(drop, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file whose size or mtime changed after it was listed is not processed in this poll; later it is."""
    from adapters.legacy import drop_poller

    path = drop.put("grow.csv", b"a" * 3_000_000)
    source = drop.source(readiness={"rule": "rename"})
    monkeypatch.setattr(drop_poller, "CHUNK_SIZE", 1 << 16)
    appended = False
    original = drop_poller.DropPoller._download

    def download(self: object, fs: object, candidate: object) -> object:
        nonlocal appended
        if not appended:
            appended = True
            with path.open("ab") as f:
                f.write(b"more")
            later = time.time() + 5
            import os

            os.utime(path, (later, later))
        return original(self, fs, candidate)  # type: ignore[arg-type]

    monkeypatch.setattr(drop_poller.DropPoller, "_download", download)
    assert _poll_all(source) == []
    assert list(Path(drop.spool).glob("*")) == []
    [envelope] = _poll_all(source)
    assert envelope.size == 3_000_004


def test_bridge_ledger_records_states_and_skips_acknowledged_after_restart(drop, store_url: str) -> None:
    """With the bridge's own ledger (SQLite and PostgreSQL) a file goes spooled -> acknowledged and a restarted
    source neither re-reads the left file nor re-yields a moved one whose archive move failed."""
    from bridge.ports import SystemClock
    from bridge.store.engine import make_engine, upgrade
    from bridge.store.ledger import Ledger

    engine = make_engine(store_url)
    try:
        upgrade(engine)
        ledger = Ledger(engine, SystemClock())
        drop.put("left.xml", b"<l/>")
        source = drop.source(ledger, readiness={"rule": "rename"}, after={"action": "leave"})
        [envelope] = _poll_all(source)
        assert ledger.batch_state("drop-test", envelope.batch_id) == "spooled"
        source.acknowledge(envelope)
        assert ledger.batch_state("drop-test", envelope.batch_id) == "acknowledged"
        assert _poll_all(drop.source(ledger, readiness={"rule": "rename"}, after={"action": "leave"})) == []

        drop.put("moved.xml", b"<m/>")
        (drop.folder / "archive").write_bytes(b"blocks the move")
        mover = drop.source(ledger, readiness={"rule": "rename"}, include=["moved.xml"])
        [moved] = _poll_all(mover)
        with pytest.raises(RetryableError):
            mover.acknowledge(moved)
        (drop.folder / "archive").unlink()
        assert _poll_all(drop.source(ledger, readiness={"rule": "rename"}, include=["moved.xml"])) == []
        assert (drop.folder / "archive" / "moved.xml").exists()
    finally:
        engine.dispose()


def test_missing_drop_folder_is_retryable(drop) -> None:
    """A drop folder that does not exist (an unmounted share, a typo) fails the poll retryably."""
    source = drop.source(path=str(drop.folder / "not-there"))
    with pytest.raises(RetryableError, match="cannot list drop folder"):
        _poll_all(source)


def test_folder_watchdog_wakes_the_poller(tmp_path: Path) -> None:
    """A new file in a watched folder wakes ``wait_for_change``; an idle folder times out."""
    from adapters.legacy.folder import FolderDropSource, FolderSourceConfig
    from bridge.ports import SourceContext, SystemClock

    folder = tmp_path / "watched"
    folder.mkdir()
    ledger = MemorySourceLedger()
    with FolderDropSource(FolderSourceConfig.model_validate({"kind": "folder", "path": str(folder)})) as source:
        source.open(SourceContext("watch", SystemClock(), tmp_path / "spool", ledger))
        assert source.wait_for_change(0.2) is False
        (folder / "new.xml").write_bytes(b"<n/>")
        assert source.wait_for_change(5) is True
