"""Drop sink contract: temp name then rename, idempotent names, conflicts, done files, over folder and sshd."""

from __future__ import annotations

import io
import os
import threading
import uuid

from bridge.ports import Delivery, Encoded, OutcomeStatus, PathName, Role, StreamedEncoded


def _delivery(body: bytes, *, key: str = "INV-1", mid: uuid.UUID | None = None, media: str = "application/xml"):
    return Delivery(
        message_id=mid or uuid.uuid4(),
        interface="invoices-to-erp",
        path=PathName.LEGACY,
        role=Role.AUTHORITATIVE,
        business_key=key,
        attempt=1,
        payload=Encoded(body=body, media_type=media),
        transaction_id="tx-1",
    )


def test_delivery_writes_one_file_named_by_message_id(sink_drop) -> None:
    """A delivery lands as ``<message_id>.xml`` with exactly the body; no temp file remains."""
    sink = sink_drop.make()
    delivery = _delivery(b"<invoice/>")
    outcome = sink.deliver(delivery)
    assert outcome.status is OutcomeStatus.DELIVERED, outcome.detail
    assert outcome.target_id == f"{delivery.message_id}.xml"
    assert [p.name for p in sink_drop.folder.iterdir()] == [f"{delivery.message_id}.xml"]
    assert (sink_drop.folder / outcome.target_id).read_bytes() == b"<invoice/>"


def test_redelivery_is_idempotent(sink_drop) -> None:
    """Delivering the same message twice leaves one file and reports delivered both times."""
    sink = sink_drop.make(done_suffix=".done")
    delivery = _delivery(b"<same/>")
    first, second = sink.deliver(delivery), sink.deliver(delivery)
    assert (first.status, second.status) == (OutcomeStatus.DELIVERED, OutcomeStatus.DELIVERED)
    assert sorted(p.name for p in sink_drop.folder.iterdir()) == [first.target_id, first.target_id + ".done"]


def test_conflict_policies(sink_drop) -> None:
    """An existing file with other bytes: ``fail`` rejects, ``unique`` adds a suffix, ``replace`` overwrites."""
    mid = uuid.uuid4()
    (sink_drop.folder / f"{mid}.xml").write_bytes(b"<other/>")
    rejected = sink_drop.make(conflict="fail").deliver(_delivery(b"<new/>", mid=mid))
    assert rejected.status is OutcomeStatus.REJECTED and "exists" in rejected.detail
    unique = sink_drop.make(conflict="unique").deliver(_delivery(b"<new/>", mid=mid))
    assert unique.target_id == f"{mid}-1.xml"
    assert sink_drop.make(conflict="unique").deliver(_delivery(b"<new/>", mid=mid)).target_id == f"{mid}-1.xml"
    replaced = sink_drop.make(conflict="replace").deliver(_delivery(b"<new/>", mid=mid))
    assert replaced.status is OutcomeStatus.DELIVERED
    assert (sink_drop.folder / f"{mid}.xml").read_bytes() == b"<new/>"


def test_template_with_business_key_and_permissions(sink_drop) -> None:
    """The name template can use the business key (made file-safe, non-ASCII kept) and sets the file mode."""
    sink = sink_drop.make(name_template="{business_key}_{message_id}{ext}", mode="0640")
    delivery = _delivery(b"a;b\n", key="Müller & Söhne/7", media="text/csv")
    outcome = sink.deliver(delivery)
    assert outcome.target_id == f"Müller_Söhne_7_{delivery.message_id}.csv"
    assert (sink_drop.folder / outcome.target_id).stat().st_mode & 0o777 == 0o640


def test_concurrent_reader_never_sees_a_partial_file(sink_drop) -> None:
    """While 1 MB files are uploaded, a reader polling the folder only ever sees complete files."""
    sink = sink_drop.make()
    body = bytes(range(256)) * 4096
    stop = threading.Event()
    partial: list[str] = []
    seen: set[str] = set()

    def reader() -> None:
        while not stop.is_set():
            for path in sink_drop.folder.iterdir():
                if path.name.startswith("."):
                    continue  # temporary names are what readers ignore
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue
                seen.add(path.name)
                if data != body:
                    partial.append(f"{path.name}: {len(data)} bytes")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        outcomes = [sink.deliver(_delivery(body)) for _ in range(12)]
    finally:
        stop.set()
        thread.join()
    assert all(o.status is OutcomeStatus.DELIVERED for o in outcomes)
    assert partial == []
    assert len(seen) >= 1
    assert len([p for p in sink_drop.folder.iterdir()]) == 12


def test_dry_run_writes_nothing(sink_drop) -> None:
    """A dry-run delivery renders the name but writes no file."""
    sink = sink_drop.make()
    delivery = _delivery(b"<x/>")
    delivery = Delivery(**{**delivery.__dict__, "dry_run": True})
    assert sink.deliver(delivery).status is OutcomeStatus.DELIVERED
    assert list(sink_drop.folder.iterdir()) == []


def test_a_streamed_body_is_written_and_compared_piece_by_piece(sink_drop) -> None:
    """A ``StreamedEncoded`` body (a forwarded file) lands byte for byte over folder and sshd; its redelivery
    is recognised by comparing the streams (no second file), and a file with other bytes of the same size is a
    conflict. The sink never reads ``body`` (that would hold the file whole)."""
    data = os.urandom(3 * (1 << 20) + 17)
    payload, opened = _streamed(data, "big.dat")
    mid = uuid.uuid4()
    delivery = Delivery(mid, "invoices-to-erp", PathName.LEGACY, Role.AUTHORITATIVE, "k", 1, payload, "tx-1")
    sink = sink_drop.make(name_template="{name}")
    first = sink.deliver(delivery)
    assert first.status is OutcomeStatus.DELIVERED, first.detail
    assert (sink_drop.folder / "big.dat").read_bytes() == data
    again = sink.deliver(delivery)
    assert again.status is OutcomeStatus.DELIVERED and "already" in again.detail
    assert [p.name for p in sink_drop.folder.iterdir()] == ["big.dat"]
    (sink_drop.folder / "big.dat").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    conflict = sink.deliver(delivery)
    assert conflict.status is OutcomeStatus.REJECTED and "different content" in conflict.detail
    assert len(opened) == 3  # written once, compared twice: each a fresh stream


class _Guarded(StreamedEncoded):
    @property
    def body(self) -> bytes:
        raise AssertionError("a streaming sink read the whole body")


def _streamed(data: bytes, name: str) -> tuple[StreamedEncoded, list[int]]:
    """A streamed body of ``data`` that fails if read whole, and the list that counts its opened streams."""
    opened: list[int] = []

    def opener() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(data)

    return _Guarded(opener, len(data), "application/octet-stream", name), opened


def test_the_file_sink_streams_a_streamed_body(tmp_path) -> None:
    """The ``file`` sink copies a streamed body piece by piece and recognises its redelivery."""
    from adapters.legacy.file_sink import FileSink, FileSinkConfig
    from bridge.ports import PluginContext

    data = os.urandom(2 * (1 << 20) + 5)
    payload, opened = _streamed(data, "big.dat")
    config = FileSinkConfig.model_validate({"kind": "file", "path": str(tmp_path / "out"), "name": "big.dat"})
    delivery = Delivery(uuid.uuid4(), "t", PathName.LEGACY, Role.AUTHORITATIVE, "k", 1, payload, "tx")
    with FileSink(config, PluginContext(base_dir=tmp_path, interface="t", canonical="Customer")) as sink:
        assert sink.deliver(delivery).status is OutcomeStatus.DELIVERED
        assert "already present" in sink.deliver(delivery).detail
    assert (tmp_path / "out" / "big.dat").read_bytes() == data and len(opened) == 2
