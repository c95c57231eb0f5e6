"""A test-only switch that breaks the runtime's idempotency on purpose, so a crash test can prove it sees a duplicate.

``ESB_BRIDGE_TEST_BREAK_IDEMPOTENCY=random-message-ids`` makes every decoded record get a random message id
instead of UUIDv5(interface, identity): re-reading input after a crash then records the same records again
under new ids and they are delivered twice, with different idempotency keys. ``tests/integration/runtime/
test_crash.py`` runs its crash scenario with the switch and expects its sink-side count to report the
duplicate; without that, a crash test passing would prove nothing.

It is read from the environment only, once, here; no config file can set it, and nothing else in the runtime
reads it. Any other value is ignored. A process running with it logs an ERROR at start-up.
"""

from __future__ import annotations

import logging
import os
import uuid

__all__ = ["BREAK_IDEMPOTENCY", "sabotaged_message_id"]

log = logging.getLogger("esb_bridge.runtime.sabotage")

#: the environment variable (and its one accepted value)
BREAK_IDEMPOTENCY = "ESB_BRIDGE_TEST_BREAK_IDEMPOTENCY"
_ACTIVE = os.environ.get(BREAK_IDEMPOTENCY) == "random-message-ids"
if _ACTIVE:
    log.error(
        "%s=random-message-ids: message ids are random, redelivery is NOT idempotent (tests only)", BREAK_IDEMPOTENCY
    )


def sabotaged_message_id(computed: str) -> str:
    """``computed`` unchanged, or a random id when the test-only switch is on."""
    return str(uuid.uuid4()) if _ACTIVE else computed
