"""The test kit of esb-bridge: what an adapter's tests need to prove it keeps the ports' promises.

Shipped with the package so a third-party plugin can run the same checks as ours:

* :class:`MemorySourceLedger`: the SourceLedger port in memory (optionally mirrored to a JSON file for
  crash tests), with the history of batch states;
* :class:`RecordingSink`: the Sink port, recording every call (duplicates included);
* contract suites to subclass in a test module, each with the hook it needs: :class:`SourceContract`
  (fixture ``source_peer``, a :class:`SourcePeer`), :class:`SinkContract` (``sink_peer``, a
  :class:`SinkPeer`), :class:`DecoderContract` (``decoder_case``, a :class:`DecoderCase`) and
  :class:`EncoderContract` (``encoder_case``, an :class:`EncoderCase`). The suites need pytest.
"""

from bridge.testing.codec_contract import DecoderCase, DecoderContract, EncoderCase, EncoderContract, envelope_of
from bridge.testing.ledger import BatchMark, MemorySourceLedger
from bridge.testing.peers import DeadPeer
from bridge.testing.sink import RecordingSink
from bridge.testing.sink_contract import SinkContract, SinkPeer, contract_delivery
from bridge.testing.source_contract import SourceContract, SourcePeer

__all__ = [
    "BatchMark",
    "DeadPeer",
    "DecoderCase",
    "DecoderContract",
    "EncoderCase",
    "EncoderContract",
    "MemorySourceLedger",
    "RecordingSink",
    "SinkContract",
    "SinkPeer",
    "SourceContract",
    "SourcePeer",
    "contract_delivery",
    "envelope_of",
]
