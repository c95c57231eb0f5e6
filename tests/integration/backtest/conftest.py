"""The `recording-live` sink: a recording sink (bridge.testing) standing for a live target; every one built is
kept in ``BUILT`` so a test can say that a backtest built, opened or called none of them."""

from __future__ import annotations

from typing import Literal

import pytest

from bridge.plugins import registry
from bridge.ports import KindConfig, Plugin, PluginContext, PluginRole
from bridge.testing import RecordingSink

BUILT: dict[str, RecordingSink] = {}


class RecordingLiveConfig(KindConfig):
    kind: Literal["recording-live"]
    name: str


def _build(config: RecordingLiveConfig, context: PluginContext) -> RecordingSink:
    sink = RecordingSink(context.target or config.name)
    BUILT[config.name] = sink
    return sink


registry.register(Plugin(PluginRole.SINK, "recording-live", RecordingLiveConfig, _build))


@pytest.fixture(autouse=True)
def _fresh_sinks() -> None:
    BUILT.clear()
