"""Hook of the UBL Invoice mapping: an Invoice document whose type code (BT-3) is a credit note is one.

EN 16931-1 defines the functional type of a document by its type code (BT-3, UNTDID 1001), not by the syntax's
root element: an ``Invoice`` with ``InvoiceTypeCode`` 381 is a credit note, with the same positive amounts a
``CreditNote`` carries. The codes below are the credit note codes of EN 16931's UNTDID 1001 list.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CREDIT_NOTE_CODES", "kind_from_type_code"]

#: 81 credit note for goods or services, 83 for financial adjustments, 261 self-billed, 262 consolidated,
#: 296 related to financial adjustments (self-billed), 308 delcredere, 381 credit note, 396 factored,
#: 420 optical character reading (OCR) payment credit note, 458 reversal of debit, 532 forwarder's.
CREDIT_NOTE_CODES: frozenset[str] = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)


def kind_from_type_code(record: dict[str, Any]) -> dict[str, Any]:
    """Set ``kind`` to ``credit_note`` when the document type code is a credit note code."""
    code = record.get("document_type")
    if isinstance(code, str) and code.strip() in CREDIT_NOTE_CODES:
        record["kind"] = "credit_note"
    return record
