"""The upgrade rule of change-feed identity: a change recorded under its content hash is not recorded again.

Before change versions were read, every change-feed record was identified by business key + content hash
(:func:`bridge.ports.hash_identity`). Now a record that declares a version is identified by business key +
version, so the first page re-read after the upgrade would give each already recorded change a new message
id, and deliver it a second time. The rule: a versioned record whose key's newest message has the same content
hash and was recorded under the hash identity is that same change; it keeps the old message's id and identity,
so ``record_chunk`` sees a known message and creates nothing. Any other record (new content, or a key whose
newest message already carries a version identity) keeps its version identity. Applied per chunk, in the
order of the chunk, so two changes of one key on one page are compared with each other too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from bridge.ports import hash_identity
from bridge.store.ledger import Ledger
from bridge.store.records import LatestMessage, NewMessage

__all__ = ["adopt_hash_identities"]

log = logging.getLogger("esb_bridge.runtime.pipeline")


def adopt_hash_identities(ledger: Ledger, interface: str, chunk: Sequence[NewMessage]) -> list[NewMessage]:
    """``chunk`` with each versioned change that was already recorded under its hash identity mapped back to it."""
    versioned = [m.business_key for m in chunk if m.version is not None]
    if not versioned:
        return list(chunk)
    newest = ledger.latest_messages(interface, versioned)
    out: list[NewMessage] = []
    adopted = 0
    for m in chunk:
        before = newest.get(m.business_key)
        if (
            m.version is not None
            and before is not None
            and before.content_hash == m.content_hash
            and before.identity == hash_identity(m.business_key, m.content_hash)
        ):
            m = replace(m, id=before.id, identity=before.identity)
            adopted += 1
        newest[m.business_key] = LatestMessage(m.id, m.identity, m.content_hash, m.version)
        out.append(m)
    if adopted:
        log.info("%s: %d change(s) already recorded under their content hash before versions", interface, adopted)
    return out
