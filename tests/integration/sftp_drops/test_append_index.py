"""The ``file`` sink's append mode recognises repeats through an on-disk id index, not a set of every id."""

from __future__ import annotations

import json
import os
import tracemalloc
import uuid
from pathlib import Path

import pytest

from adapters.legacy.file_sink import FileSink, FileSinkConfig
from bridge.ports import Delivery, Encoded, OutcomeStatus, PathName, PluginContext, Role

LINES = 100_000


def _sink(folder: Path) -> FileSink:
    context = PluginContext(base_dir=folder.parent, interface="t", canonical="Customer")
    config = FileSinkConfig.model_validate({"kind": "file", "path": str(folder), "mode": "append", "fsync": False})
    return FileSink(config, context)


def _delivery(mid: uuid.UUID) -> Delivery:
    return Delivery(
        mid, "t", PathName.LEGACY, Role.AUTHORITATIVE, "k", 1, Encoded(b"{}", "application/json"), "tx", False
    )


def _fill(path: Path, ids: list[uuid.UUID]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for mid in ids:
            f.write(json.dumps({"message_id": str(mid), "body": "{}"}) + "\n")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Opening on a file of 100,000 lines and checking a repeat allocates far less than a set of its ids."""
    out = tmp_path / "out"
    ids = [uuid.uuid4() for _ in range(LINES)]
    _fill(out / "deliveries.jsonl", ids)
    tracemalloc.start()
    try:
        with _sink(out) as sink:
            assert sink.deliver(_delivery(ids[-1])).detail == "already present"
            assert sink.deliver(_delivery(uuid.uuid4())).status is OutcomeStatus.DELIVERED
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"peak Python allocation {peak / 1e6:.1f} MB for {LINES} ids"  # a set of them: > 10 MB
    assert len(_lines(out / "deliveries.jsonl")) == LINES + 1


def test_line_written_before_a_kill_is_still_recognised(tmp_path: Path) -> None:
    """A line the index never heard of (the writer was killed after the write) counts as present."""
    out = tmp_path / "out"
    first, second = uuid.uuid4(), uuid.uuid4()
    with _sink(out) as sink:
        sink.deliver(_delivery(first))
    with (out / "deliveries.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"message_id": str(second), "body": "{}"}) + "\n")
    with _sink(out) as sink:
        assert sink.deliver(_delivery(second)).detail == "already present"
        assert sink.deliver(_delivery(first)).detail == "already present"
    assert len(_lines(out / "deliveries.jsonl")) == 2


def test_torn_last_line_does_not_swallow_the_next(tmp_path: Path) -> None:
    """After a torn last line, the next delivery starts on a line of its own and stays readable."""
    out = tmp_path / "out"
    kept, new = uuid.uuid4(), uuid.uuid4()
    _fill(out / "deliveries.jsonl", [kept])
    with (out / "deliveries.jsonl").open("a", encoding="utf-8") as f:
        f.write('{"message_id": "torn')
    with _sink(out) as sink:
        assert sink.deliver(_delivery(new)).status is OutcomeStatus.DELIVERED
    lines = _lines(out / "deliveries.jsonl")
    assert json.loads(lines[-1])["message_id"] == str(new)
    assert lines[1] == '{"message_id": "torn'


def test_damaged_or_stale_index_is_rebuilt_from_the_file(tmp_path: Path) -> None:
    """An unreadable index, or one covering more than a replaced file holds, is derived again from the file."""
    out = tmp_path / "out"
    a, b = uuid.uuid4(), uuid.uuid4()
    with _sink(out) as sink:
        sink.deliver(_delivery(a))
        sink.deliver(_delivery(b))
    index = out / ".deliveries.jsonl.ids.sqlite"
    assert index.is_file()
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"not a database" * 100)
    with _sink(out) as sink:
        assert sink.deliver(_delivery(a)).detail == "already present"
    _fill(out / "deliveries.jsonl", [b])  # replaced by a shorter file that no longer holds a
    with _sink(out) as sink:
        assert sink.deliver(_delivery(b)).detail == "already present"
        assert sink.deliver(_delivery(a)).status is OutcomeStatus.DELIVERED
    assert [json.loads(x)["message_id"] for x in _lines(out / "deliveries.jsonl")] == [str(b), str(a)]


_KILLED_WRITER = """
import os, sys, uuid
from pathlib import Path
from adapters.legacy import append_index
from tests.integration.sftp_drops.test_append_index import _delivery, _sink

def killed(self, message_ids, covered):  # the process dies after the write and fsync, before the index update
    os._exit(9)

append_index.AppendIndex.add = killed
ids = [uuid.UUID(x) for x in sys.argv[2:]]
with _sink(Path(sys.argv[1])) as sink:
    sink.deliver_batch([_delivery(mid) for mid in ids])
"""


def test_batch_killed_before_the_index_update_is_not_appended_again(tmp_path: Path) -> None:
    """A writer killed between a batch's write and its index update: on redelivery of the whole batch (the
    ledger never heard of it) no line is appended twice, and the batch's new neighbour still lands."""
    import subprocess
    import sys

    out = tmp_path / "out"
    ids = [uuid.uuid4() for _ in range(50)]
    run = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(out), *map(str, ids)], cwd=Path(__file__).parents[3], check=False
    )
    assert run.returncode == 9
    assert len(_lines(out / "deliveries.jsonl")) == 50, "the killed writer's batch is not in the file"
    newcomer = uuid.uuid4()
    with _sink(out) as sink:
        outcomes = sink.deliver_batch([_delivery(mid) for mid in [*ids, newcomer]])
    assert [o.detail for o in outcomes] == ["already present"] * 50 + ["appended to deliveries.jsonl"]
    assert [json.loads(x)["message_id"] for x in _lines(out / "deliveries.jsonl")] == [*map(str, ids), str(newcomer)]


def test_one_write_and_one_fsync_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``fsync: true`` a batch of 200 new lines costs one ``write`` and one ``fsync``; repeats cost none."""
    from adapters.legacy import file_sink

    calls: list[str] = []
    real_write, real_fsync = os.write, os.fsync

    def write(fd: int, data: bytes) -> int:
        calls.append("write")
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(file_sink.os, "write", write)
    monkeypatch.setattr(file_sink.os, "fsync", fsync)
    out = tmp_path / "out"
    context = PluginContext(base_dir=tmp_path, interface="t", canonical="Customer")
    config = FileSinkConfig.model_validate({"kind": "file", "path": str(out), "mode": "append"})
    batch = [_delivery(uuid.uuid4()) for _ in range(200)]
    with FileSink(config, context) as sink:
        assert sink.max_batch == 1000
        assert all(o.status is OutcomeStatus.DELIVERED for o in sink.deliver_batch(batch))
        assert calls == ["write", "fsync"]
        assert all(o.detail == "already present" for o in sink.deliver_batch(batch))
    assert calls == ["write", "fsync"]
    assert len(_lines(out / "deliveries.jsonl")) == 200
