"""Pairing for legacy paths the bridge does not call itself (``forward``, ``observe``).

An observation source (the old ESB's output folder, the target's change feed) supplies what the legacy side
produced; each observation is paired with the bridge's message by (interface, business key, version) where
both sides carry a version (change feeds read it through the mapping's ``version`` path) — the newest message
of that key when either side carries none. Inside the settle window an unpaired side just
waits; once the window has passed it becomes an **orphan** (a ``pairing`` comparison row saying which side
is missing). A pair completed after its orphan row was written is recorded as **late**, never lost. The
ledger (:mod:`bridge.store.observations`) keeps the observations and runs each round in one transaction.
"""

from __future__ import annotations

from datetime import timedelta

from bridge.store.ledger import Ledger
from bridge.store.observations import NewObservation, ObservedBody, PairingStats, observation_message_id

__all__ = ["COMPARED_MODES", "Pairer", "PairingStats", "observation_message_id"]

COMPARED_MODES = ("legacy_primary", "dual_write", "cloud_primary")


class Pairer:
    """Pairs one interface's observations with its messages; writes pairing rows into ``comparisons``."""

    def __init__(self, ledger: Ledger, interface: str, side: str = "legacy") -> None:
        self.ledger = ledger
        self.interface = interface
        self.side = side

    def record(
        self, identity: str, business_key: str, version: str | None, body: bytes, media_type: str | None, origin: str
    ) -> bool:
        """Store one observation (idempotent per identity); returns True when it was new."""
        return self.ledger.record_observation(
            self.observation(identity, business_key, version, body, media_type, origin)
        )

    def observation(
        self, identity: str, business_key: str, version: str | None, body: bytes, media_type: str | None, origin: str
    ) -> NewObservation:
        """One observation of this interface's side, to be stored with :meth:`record_many`."""
        return NewObservation(self.interface, self.side, identity, business_key, version, body, media_type, origin)

    def record_many(self, observations: list[NewObservation]) -> int:
        """Store observations in one transaction (idempotent per identity); how many were new."""
        return self.ledger.record_observations(observations)

    def run(self, settle: timedelta) -> PairingStats:
        return self.ledger.pair_observations(self.interface, self.side, settle=settle, modes=COMPARED_MODES)

    def observation_body(self, message_id: str) -> ObservedBody | None:
        return self.ledger.observed_body(self.interface, self.side, message_id)

    def observation_bodies(self, message_ids: list[str]) -> dict[str, ObservedBody]:
        """The paired observation of each message (absent: not paired yet), in a few queries."""
        return self.ledger.observed_bodies(self.interface, self.side, message_ids)
