"""SoapPollSource cursor rules: written only on acknowledge, idempotent, never moved back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.legacy.soap_poll import PollCursor, SoapPollConfig, SoapPollSource
from bridge.ports import Envelope, IdentityRule, Rejected, SimulatedClock, SourceContext

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def source(erp_wsdl: Path, ledger, tmp_path: Path) -> Iterator[SoapPollSource]:  # type: ignore[no-untyped-def]
    config = SoapPollConfig(
        wsdl=str(erp_wsdl),
        endpoint="http://127.0.0.1:9/x",
        operation="GetChangedInvoices",
        records_path="invoices/invoice",
        watermark_field="modifiedAt",
    )
    src = SoapPollSource(config, base_dir=erp_wsdl.parent, interface="inv")
    src.open(SourceContext("inv", SimulatedClock(), tmp_path, ledger))
    yield src
    src.close()


def _page(page: int, candidate: str, next_token: str, scan: str = "s1") -> Envelope:
    return Envelope(
        interface="inv",
        batch_id=f"b{page}",
        origin="o",
        identity_rule=IdentityRule.CHANGE,
        identity=f"h{page}",
        received_at=T0,
        transaction_id="t",
        body=b"<r/>",
        metadata={
            "soap.scan": scan,
            "soap.page": str(page),
            "soap.since": T0.isoformat(),
            "soap.next_page_token": next_token,
            "soap.watermark_candidate": candidate,
        },
    )


def test_no_cursor_until_acknowledged(source: SoapPollSource, ledger) -> None:  # type: ignore[no-untyped-def]
    """Before any acknowledgement the cursor is the initial watermark and nothing was written."""
    assert source.cursor() == PollCursor(watermark=datetime(1970, 1, 1, tzinfo=UTC))
    assert ledger.cursor_writes == 0


def test_acknowledging_pages_moves_token_then_watermark(source: SoapPollSource) -> None:
    """A mid-scan ack stores the next page token; the last page's ack clears it; the watermark is the max seen."""
    source.acknowledge(_page(0, "2026-01-05T08:10:00+00:00", "tok1"))
    mid = source.cursor()
    assert (mid.page_token, mid.acked_page, mid.since) == ("tok1", 0, T0)
    source.acknowledge(_page(1, "2026-01-05T08:20:00+00:00", ""))
    done = source.cursor()
    assert done.page_token is None and done.since is None
    assert done.watermark == datetime(2026, 1, 5, 8, 20, tzinfo=UTC)


def test_repeat_or_late_acknowledgement_never_moves_back(source: SoapPollSource) -> None:
    """Acknowledging an earlier page again keeps the later position (idempotent, monotonic)."""
    source.acknowledge(_page(0, "2026-01-05T08:10:00+00:00", "tok1"))
    source.acknowledge(_page(1, "2026-01-05T08:20:00+00:00", "tok2"))
    source.acknowledge(_page(0, "2026-01-05T08:10:00+00:00", "tok1"))
    cursor = source.cursor()
    assert (cursor.page_token, cursor.acked_page) == ("tok2", 1)
    assert cursor.watermark == datetime(2026, 1, 5, 8, 20, tzinfo=UTC)


def test_empty_page_keeps_watermark(source: SoapPollSource) -> None:
    """A page without records (no candidate) leaves the watermark where it was."""
    source.acknowledge(_page(0, "2026-01-05T08:10:00+00:00", ""))
    source.acknowledge(_page(0, "", "", scan="s2"))
    assert source.cursor().watermark == datetime(2026, 1, 5, 8, 10, tzinfo=UTC)


def test_fail_moves_past_a_kept_page_only(source: SoapPollSource, ledger) -> None:  # type: ignore[no-untyped-def]
    """A failed page the runtime kept (batch ``failed``, bytes in its dead letter) is moved past; one that
    is not kept leaves the cursor where it was."""
    page = _page(0, "2026-01-05T08:10:00+00:00", "tok1")
    source.fail(page, Rejected("bad page"))
    assert source.cursor().page_token is None
    ledger.mark_batch("inv", "b0", "failed")
    source.fail(page, Rejected("bad page"))
    assert source.cursor().page_token == "tok1"


def test_cursor_round_trips_through_json() -> None:
    """The cursor's JSON form restores every field."""
    cursor = PollCursor(watermark=T0, scan="s", since=T0, page_token="p", acked_page=3)
    assert PollCursor.loads(cursor.dumps()) == cursor


def test_overlap_is_on_and_naive_timestamps_are_refused_by_default(erp_wsdl: Path) -> None:
    """Issue 17: ``overlap_seconds`` defaults above 0, and a change time without an offset is a located
    DecodeError unless ``naive_timezone`` names the zone it is read in (it was taken as UTC)."""
    from zoneinfo import ZoneInfo

    import pydantic

    from adapters.legacy.soap_poll import _parse_time
    from bridge.ports import DecodeError, Location

    base = {"wsdl": str(erp_wsdl), "operation": "GetChangedInvoices", "records_path": "a/b", "watermark_field": "t"}
    assert SoapPollConfig(**base).overlap_seconds > 0
    where = Location(file="erp", record=3, field="a/b/t")
    with pytest.raises(DecodeError, match="no time zone") as err:
        _parse_time("2026-01-05T08:00:00", where=where, zone=None)
    assert err.value.location == where
    berlin = _parse_time("2026-01-05T08:00:00", where=where, zone=ZoneInfo("Europe/Berlin"))
    assert berlin == datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    assert SoapPollConfig(**base, naive_timezone="Europe/Berlin").naive_timezone == "Europe/Berlin"
    with pytest.raises(pydantic.ValidationError, match="not a known IANA time zone"):
        SoapPollConfig(**base, naive_timezone="Mars/Olympus")
