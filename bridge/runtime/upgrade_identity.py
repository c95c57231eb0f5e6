"""The upgrade rules of change-feed identity: a change recorded under an older identity is not recorded again.

Two upgrades meet here. Versions (below), and values (issue 17): content hashes used to be taken over the
canonical JSON with the decimals' spellings (``100.00``), now over the values (``100``), so a record without
a version has a new hash identity; a key whose newest message carries the old hash of the same content
(:func:`bridge.canonical.legacy_content_hash` of its payload) is that same change and keeps its id.

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

from bridge.canonical import legacy_content_hash
from bridge.ports import hash_identity
from bridge.store.ledger import Ledger
from bridge.store.records import LatestMessage, NewMessage

__all__ = ["adopt_hash_identities"]

log = logging.getLogger("esb_bridge.runtime.pipeline")


def _adopts(m: NewMessage, before: LatestMessage | None) -> bool:
    """True when ``before`` (the key's newest message) is the change ``m`` under an older identity."""
    if before is None:
        return False
    hashes = {m.content_hash, m.unkeyed_hash, legacy_content_hash(m.payload)}  # keyed, unkeyed, by spelling
    if before.content_hash not in hashes or before.identity != hash_identity(m.business_key, before.content_hash):
        return False
    return m.version is not None or before.identity != m.identity


def adopt_hash_identities(ledger: Ledger, interface: str, chunk: Sequence[NewMessage]) -> list[NewMessage]:
    """``chunk`` with each change already recorded under an older hash identity mapped back to it."""
    candidates = [
        m.business_key for m in chunk if m.version is not None or m.content_hash != legacy_content_hash(m.payload)
    ]
    if not candidates:
        return list(chunk)
    newest = ledger.latest_messages(interface, candidates)
    out: list[NewMessage] = []
    adopted = 0
    for m in chunk:
        before = newest.get(m.business_key)
        if _adopts(m, before):
            assert before is not None
            m = replace(m, id=before.id, identity=before.identity)
            adopted += 1
        newest[m.business_key] = LatestMessage(m.id, m.identity, m.content_hash, m.version)
        out.append(m)
    if adopted:
        log.info("%s: %d change(s) already recorded under their content hash before versions", interface, adopted)
    return out
