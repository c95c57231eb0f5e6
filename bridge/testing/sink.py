"""A recording :class:`~bridge.ports.Sink`: every ``deliver`` call kept, duplicates included.

"Nothing is delivered twice" is a claim about where effects land. A test that counts at the sink needs a
sink that records every call rather than every distinct message, so a second call for the same message id
is visible. ``effects`` is what an idempotent target would hold (one entry per message id, first body wins);
``calls`` is everything the runtime asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

from bridge.ports import Delivery, Outcome, Resource

__all__ = ["RecordingSink"]


class RecordingSink(Resource):
    """Records each delivery and answers with ``respond(delivery)`` (default: delivered, target id = message id).

    ``respond`` lets a test script rejections or retryable failures; the call is recorded either way.
    """

    def __init__(self, target: str = "recording", respond: Callable[[Delivery], Outcome] | None = None) -> None:
        self.target = target
        self.respond = respond or (lambda d: Outcome.delivered(target_id=str(d.message_id)))
        self.calls: list[Delivery] = []
        self.effects: dict[UUID, bytes] = {}
        self.entered = 0
        self.exited = 0
        self._lock = threading.Lock()

    def on_enter(self) -> None:
        self.entered += 1

    def close(self) -> None:
        self.exited += 1

    def deliver(self, delivery: Delivery) -> Outcome:
        outcome = self.respond(delivery)
        with self._lock:
            self.calls.append(delivery)
            if outcome.status == "delivered" and not delivery.dry_run:
                self.effects.setdefault(delivery.message_id, delivery.payload.body)
        return outcome

    def calls_for(self, message_id: UUID) -> list[Delivery]:
        """Every call made for ``message_id`` (more than one means it was delivered again)."""
        with self._lock:
            return [d for d in self.calls if d.message_id == message_id]

    def repeated(self) -> list[UUID]:
        """Message ids delivered more than once, in first-call order."""
        with self._lock:
            seen: dict[UUID, int] = {}
            for d in self.calls:
                seen[d.message_id] = seen.get(d.message_id, 0) + 1
        return [mid for mid, n in seen.items() if n > 1]
