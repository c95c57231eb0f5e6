"""``Resource``: ``with`` calls ``on_enter`` then ``close``, once each, and never swallows an exception."""

from __future__ import annotations

import pytest

from bridge.ports import Resource


class Recorder(Resource):
    def __init__(self, fail_on_enter: bool = False) -> None:
        self.calls: list[str] = []
        self.fail_on_enter = fail_on_enter

    def on_enter(self) -> None:
        self.calls.append("enter")
        if self.fail_on_enter:
            raise OSError("cannot open")

    def close(self) -> None:
        self.calls.append("close")


def test_with_enters_then_closes_and_returns_the_object() -> None:
    r = Recorder()
    with r as entered:
        assert entered is r and r.calls == ["enter"]
    assert r.calls == ["enter", "close"]


def test_an_error_in_the_body_closes_and_propagates() -> None:
    r = Recorder()
    with pytest.raises(ValueError, match="boom"), r:
        raise ValueError("boom")
    assert r.calls == ["enter", "close"]


def test_a_failed_entry_is_not_closed() -> None:
    r = Recorder(fail_on_enter=True)
    with pytest.raises(OSError, match="cannot open"), r:
        pass
    assert r.calls == ["enter"]
