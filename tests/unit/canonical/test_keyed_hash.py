"""Keyed content hashes of records of sensitive interfaces: stable per key, not computable without it."""

from __future__ import annotations

import hashlib
import random
from decimal import Decimal

from bridge.canonical import Customer, content_hash, keyed_payload_and_hash, payload_and_hash
from bridge.canonical.content import value_json
from samples.demo_app.generate import customer


def _record(**changes: object) -> Customer:
    return Customer.model_validate({**customer(random.Random(3), 1), **changes})


def test_keyed_hash_is_stable_by_value_and_differs_from_the_plain_one() -> None:
    """Same key, same values: same hash (100.00 and 100 alike); the plain SHA-256 is handed on beside it."""
    key = b"k" * 32
    body, keyed, plain = keyed_payload_and_hash(_record(credit_limit=Decimal("100.00")), key)
    _, again, _ = keyed_payload_and_hash(_record(credit_limit=Decimal("100")), key)
    assert keyed == again and plain == content_hash(_record(credit_limit=Decimal("100.00")))
    assert keyed != plain and (body, plain) == payload_and_hash(_record(credit_limit=Decimal("100.00")))


def test_without_the_key_a_guessed_value_does_not_give_the_stored_hash() -> None:
    """Trying candidate e-mails with plain SHA-256 finds the unkeyed hash, never the keyed one."""
    key = b"k" * 32
    secret = _record(contacts=[{"name": "A", "email": "ap7@example.com"}])
    _, stored, _ = keyed_payload_and_hash(secret, key)
    guesses = {
        hashlib.sha256(value_json(_record(contacts=[{"name": "A", "email": f"ap{n}@example.com"}]))).hexdigest()
        for n in range(20)
    }
    assert content_hash(secret) in guesses and stored not in guesses
    assert keyed_payload_and_hash(secret, b"j" * 32)[1] != stored
