"""A test-only switch that breaks the runtime's guarantees on purpose, so a crash test can prove it sees the breach.

``ESB_BRIDGE_TEST_BREAK_IDEMPOTENCY`` holds one or more of these values, comma-separated:

* ``random-message-ids``: every decoded record gets a random message id instead of UUIDv5(interface,
  identity): re-reading input after a crash records the same records again under new ids, and they are
  delivered twice with different idempotency keys (``tests/integration/runtime/test_crash.py``);
* ``ack-before-commit``: the source is acknowledged once a batch is decoded, BEFORE its last chunk is
  committed, so a crash in between loses those records (the file was moved, the cursor advanced);
* ``no-idempotency-keys``: each attempt of a delivery reaches the sink under a fresh random id, so a target
  de-duplicating by idempotency key (the REST ``Idempotency-Key``, the CloudEvents ``id``) applies a retry
  again.

The fault suite (``tests/faults/test_meta.py``) runs with the last two and expects its checker to report
lost and duplicated records; without that, the suite passing would prove nothing.

It is read from the environment only, once, here; no config file can set it, and nothing else in the runtime
reads it. Unknown values are ignored. A process running with it logs an ERROR at start-up.
"""

from __future__ import annotations

import logging
import os
import uuid

__all__ = ["ACK_BEFORE_COMMIT", "BREAK_IDEMPOTENCY", "sabotaged_delivery_id", "sabotaged_message_id"]

log = logging.getLogger("esb_bridge.runtime.sabotage")

#: the environment variable
BREAK_IDEMPOTENCY = "ESB_BRIDGE_TEST_BREAK_IDEMPOTENCY"
_VALUES = {"random-message-ids", "ack-before-commit", "no-idempotency-keys"}
_ON = {v.strip() for v in os.environ.get(BREAK_IDEMPOTENCY, "").split(",")} & _VALUES
_RANDOM_IDS = "random-message-ids" in _ON
_NO_KEYS = "no-idempotency-keys" in _ON
#: acknowledge a batch before its last chunk is committed (tests only)
ACK_BEFORE_COMMIT = "ack-before-commit" in _ON
if _ON:
    log.error("%s=%s: idempotency and acknowledge order are BROKEN on purpose (tests only)", BREAK_IDEMPOTENCY, _ON)


def sabotaged_message_id(computed: str) -> str:
    """``computed`` unchanged, or a random id when the test-only switch asks for random message ids."""
    return str(uuid.uuid4()) if _RANDOM_IDS else computed


def sabotaged_delivery_id(message_id: str) -> str:
    """The id (idempotency key) a sink sees: the message id, or a fresh random one per attempt under the switch."""
    return str(uuid.uuid4()) if _NO_KEYS else message_id
