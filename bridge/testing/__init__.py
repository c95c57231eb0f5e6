"""The test kit of esb-bridge: what an adapter's tests need to prove it keeps the ports' promises.

Shipped with the package so a third-party plugin can run the same checks as ours:

* :class:`MemorySourceLedger`: the SourceLedger port in memory (optionally mirrored to a JSON file for
  crash tests), with the history of batch states;
* :class:`RecordingSink`: the Sink port, recording every call (duplicates included);
* contract suites to subclass in a test module, each with the hook it needs: :class:`SourceContract`
  (fixture ``source_peer``, a :class:`SourcePeer`), :class:`SinkContract` (``sink_peer``, a
  :class:`SinkPeer`), :class:`DecoderContract` (``decoder_case``, a :class:`DecoderCase`) and
  :class:`EncoderContract` / :class:`RoundTripEncoderContract` / :class:`StoredEncoderContract`
  (``encoder_case``, an :class:`EncoderCase`),
  and for a sink that also delivers in batches :class:`BatchSinkContract` (``batch_peer``, a
  :class:`BatchSinkPeer`). The suites need pytest.

The kit is part of the plugin surface and carries its version, :data:`PLUGIN_API` (the same value as
``bridge.ports.PLUGIN_API``; see ``docs/architecture.md`` for what third-party plugins may rely on).
"""

from bridge.ports import PLUGIN_API
from bridge.testing.batch_sink_contract import BatchSinkContract, BatchSinkPeer
from bridge.testing.codec_contract import (
    DecoderCase,
    DecoderContract,
    EncoderCase,
    EncoderContract,
    RoundTripEncoderContract,
    StoredEncoderContract,
    envelope_of,
)
from bridge.testing.ledger import BatchMark, MemorySourceLedger
from bridge.testing.peers import DeadPeer
from bridge.testing.sink import RecordingSink
from bridge.testing.sink_contract import SinkContract, SinkPeer, contract_delivery
from bridge.testing.source_contract import SourceContract, SourcePeer

__all__ = [
    "PLUGIN_API",
    "BatchMark",
    "BatchSinkContract",
    "BatchSinkPeer",
    "DeadPeer",
    "DecoderCase",
    "DecoderContract",
    "EncoderCase",
    "EncoderContract",
    "MemorySourceLedger",
    "RecordingSink",
    "RoundTripEncoderContract",
    "SinkContract",
    "SinkPeer",
    "SourceContract",
    "SourcePeer",
    "StoredEncoderContract",
    "contract_delivery",
    "envelope_of",
]
