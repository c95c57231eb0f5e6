"""The simulator's data and business rules, free of HTTP: records, idempotency, totals, faults, tokens.

Everything is in memory and guarded by one lock, because the ASGI loop and test threads both touch it.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

RESOURCES = {
    "customers": "cus",
    "invoices": "inv",
    "orders": "ord",
    "payments": "pay",
    "subscriptions": "sub",
    "opportunities": "opp",
}
SINGULAR = {
    "customers": "customer",
    "invoices": "invoice",
    "orders": "order",
    "payments": "payment",
    "subscriptions": "subscription",
    "opportunities": "opportunity",
}
CENT = Decimal("0.01")


class SimError(Exception):
    """A business error the API answers with ``status`` and an error body."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            err["field"] = self.field
        return {"error": err}


@dataclass
class FaultRule:
    """A fault injected into matching requests; ``count`` None means every matching request.

    ``status`` answers without processing (429/500/503...), with ``retry_after`` as the header value;
    ``latency`` waits before processing; ``delay_response`` processes first and then waits (a client timeout
    that nevertheless created the record).
    """

    path_prefix: str = "/v1"
    method: str | None = None
    status: int | None = None
    retry_after: str | None = None
    latency: float = 0.0
    delay_response: float = 0.0
    count: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (self.method is None or self.method.upper() == method)


@dataclass
class Config:
    auth_required: bool = False
    token_ttl: float = 3600.0
    idempotency_mode: str = "replay"  # or "conflict": a repeated key answers 409
    check_references: bool = True
    bill_subscriptions: bool = False  # subscription billing: a new subscription's first period is invoiced at once
    page_limit_max: int = 500


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    at: float
    status: int = 0
    idempotency_key: str | None = None
    correlation_id: str | None = None
    traceparent: str | None = None


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_EVEN))


def compute_invoice_totals(body: dict[str, Any]) -> dict[str, str]:
    """The simulator's own tax rule: exact line nets, tax per rate summed over the whole invoice and rounded
    ONCE per invoice (half-even). A legacy system rounding per line (half-up) will differ by cents."""
    net = Decimal(0)
    tax = Decimal(0)
    for line in body.get("lines", []):
        line_net = Decimal(line["quantity"]) * Decimal(line["unit_price"])
        net += line_net
        tax += line_net * Decimal(line.get("tax_rate", "0")) / 100
    subtotal = net.quantize(CENT, ROUND_HALF_EVEN)
    tax_total = tax.quantize(CENT, ROUND_HALF_EVEN)
    return {"subtotal": _money(subtotal), "tax_total": _money(tax_total), "total": _money(subtotal + tax_total)}


class SimState:
    """All the simulator's state. Methods are thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.on_change: Callable[[str, dict[str, Any]], None] | None = None
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config = Config()
            self.records: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
            self.by_external: dict[str, dict[str, str]] = {r: {} for r in RESOURCES}
            self.idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
            self.faults: list[FaultRule] = []
            self.requests: list[LoggedRequest] = []
            self.events_received: list[dict[str, Any]] = []
            self.ingested: dict[str, list[dict[str, Any]]] = {}
            self.clients: dict[str, str] = {"bridge": "s3cret"}
            self.api_keys: set[str] = {"key-123"}
            self.tokens: dict[str, float] = {}
            self.tokens_issued = 0
            self.creates = 0
            self._seq = 0
            self._last_ts = datetime(2000, 1, 1, tzinfo=UTC)

    # ------------------------------------------------------------------ knobs

    def add_fault(self, rule: FaultRule) -> None:
        with self.lock:
            self.faults.append(rule)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_faults(self, method: str, path: str) -> list[FaultRule]:
        """The faults that apply to this request (every delay, the first status rule), consuming one use of each."""
        hit: list[FaultRule] = []
        with self.lock:
            answered = False
            for rule in list(self.faults):
                if rule.matches(method, path):
                    if rule.status:
                        if answered:
                            continue  # one injected answer per request: later status rules wait their turn
                        answered = True
                    hit.append(rule)
                    if rule.count is not None:
                        rule.count -= 1
                        if rule.count <= 0:
                            self.faults.remove(rule)
        return hit

    def log(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.requests.append(entry)

    # ------------------------------------------------------------------ auth

    def issue_token(self, client_id: str, client_secret: str) -> tuple[str, float]:
        with self.lock:
            if self.clients.get(client_id) != client_secret:
                raise SimError(401, "invalid_client", "unknown client or wrong secret")
            token = secrets.token_urlsafe(24)
            self.tokens[token] = time.monotonic() + self.config.token_ttl
            self.tokens_issued += 1
            return token, self.config.token_ttl

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def authorized(self, authorization: str | None, api_key: str | None) -> bool:
        with self.lock:
            if not self.config.auth_required:
                return True
            if api_key and api_key in self.api_keys:
                return True
            if authorization and authorization.startswith("Bearer "):
                expiry = self.tokens.get(authorization[7:])
                return expiry is not None and expiry > time.monotonic()
            return False

    # ------------------------------------------------------------------ records

    def _stamp(self) -> str:
        now = datetime.now(UTC)
        if now <= self._last_ts:
            now = self._last_ts + timedelta(microseconds=1)
        self._last_ts = now
        return now.isoformat(timespec="microseconds")

    def find(self, resource: str, key: str) -> dict[str, Any] | None:
        with self.lock:
            table = self.records[resource]
            if key in table:
                return table[key]
            found = self.by_external[resource].get(key)
            return table[found] if found else None

    def create(self, resource: str, body: dict[str, Any], idem_key: str | None) -> tuple[int, dict[str, Any], bool]:
        """Create a record honouring the idempotency key: (status, body, replayed)."""
        fingerprint = json.dumps(body, sort_keys=True)
        with self.lock:
            scoped = f"{resource}:{idem_key}" if idem_key else None
            if scoped and scoped in self.idempotency:
                first_fp, status, first = self.idempotency[scoped]
                if self.config.idempotency_mode == "conflict" or first_fp != fingerprint:
                    code = "idempotency_key_reused"
                    return (
                        409,
                        {"error": {"code": code, "message": "Idempotency-Key already used"}, "id": first.get("id")},
                        True,
                    )
                return status, first, True
            record = self._build(resource, body)
            self.records[resource][record["id"]] = record
            self.by_external[resource][record["external_id"]] = record["id"]
            self.creates += 1
            if scoped:
                self.idempotency[scoped] = (fingerprint, 201, record)
            self._changed(resource, "created", record)
            if resource == "subscriptions" and self.config.bill_subscriptions:
                self._bill_first_period(record)
            return 201, record, False

    def ingest(self, collection: str, key: str, body: Any, idem_key: str | None) -> tuple[int, dict[str, Any], bool]:
        """Store a raw JSON document under (collection, key) in arrival order, honouring the idempotency key."""
        with self.lock:
            scoped = f"ingest:{idem_key}" if idem_key else None
            if scoped and scoped in self.idempotency:
                _, status, first = self.idempotency[scoped]
                return status, first, True
            self._seq += 1
            entry = {
                "id": f"ing_{self._seq:06d}",
                "collection": collection,
                "key": key,
                "body": body,
                "received_at": self._stamp(),
            }
            self.ingested.setdefault(f"{collection}/{key}", []).append(entry)
            self.creates += 1
            if scoped:
                self.idempotency[scoped] = ("", 201, entry)
            return 201, entry, False

    def _reference(self, resource: str, key: str, field: str) -> dict[str, Any]:
        found = self.find(resource, key)
        if found is None and self.config.check_references:
            raise SimError(422, "unknown_reference", f"no {SINGULAR[resource]} {key!r}", field)
        return found or {"id": key}

    def _build(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.find(resource, body["external_id"]) is not None:
            raise SimError(409, "already_exists", f"{SINGULAR[resource]} {body['external_id']!r} exists", "external_id")
        self._seq += 1
        stamp = self._stamp()
        record: dict[str, Any] = {
            "id": f"{RESOURCES[resource]}_{self._seq:06d}",
            **body,
            "version": 1,
            "created_at": stamp,
            "updated_at": stamp,
        }
        if resource == "invoices":
            record["customer"] = self._reference("customers", body["customer"], "customer")["id"]
            record.setdefault("kind", "invoice")
            if record["kind"] == "credit_note" and "credits_invoice" in body:
                credited = self._reference("invoices", body["credits_invoice"], "credits_invoice")
                record["credits_invoice"] = credited["id"]
            record.update(compute_invoice_totals(body))
            record.update(status="open", amount_paid="0.00")
        elif resource == "orders":
            record["customer"] = self._reference("customers", body["customer"], "customer")["id"]
            total = sum((Decimal(x["quantity"]) * Decimal(x["unit_price"]) for x in body["lines"]), Decimal(0))
            record.update(status=body.get("status", "open"), total=_money(total))
        elif resource == "payments":
            invoice = self._reference("invoices", body["invoice"], "invoice")
            record["invoice"] = invoice["id"]
            if "total" in invoice:
                paid = Decimal(invoice["amount_paid"]) + Decimal(body["amount"])
                self._update(
                    invoice,
                    amount_paid=_money(paid),
                    status="paid" if paid >= Decimal(invoice["total"]) else "partially_paid",
                )
        elif resource == "subscriptions":
            record["customer"] = self._reference("customers", body["customer"], "customer")["id"]
            items = body.get("items") or [{"quantity": body.get("quantity", 1), "unit_price": body["unit_price"]}]
            per_period = sum((Decimal(i.get("quantity", 1)) * Decimal(i["unit_price"]) for i in items), Decimal(0))
            monthly = per_period / 12 if body.get("interval") == "year" else per_period
            qty = sum(int(i.get("quantity", 1)) for i in items)
            record.update(status=body.get("status", "active"), quantity=qty, mrr=_money(monthly))
        return record

    def _bill_first_period(self, subscription: dict[str, Any]) -> None:
        """Subscription billing: invoice the first period of a new subscription (an ``invoice.created`` event),
        numbered ``<subscription external id>-001``, one line per item, tax at the item's rate."""
        plan = subscription["plan"]
        items = subscription.get("items") or [
            {"product": plan, "quantity": subscription["quantity"], "unit_price": subscription["unit_price"]}
        ]
        lines = [
            {
                "pos": n,
                "product": i.get("product", subscription["plan"]),
                "description": f"{subscription['plan']} ({subscription.get('interval', 'month')})",
                "quantity": str(i.get("quantity", 1)),
                "unit_price": str(i["unit_price"]),
                "amount": _money(Decimal(i.get("quantity", 1)) * Decimal(i["unit_price"])),
                "tax_rate": str(i.get("tax_rate", "0")),
            }
            for n, i in enumerate(items, 1)
        ]
        body = {
            "external_id": f"{subscription['external_id']}-001",
            "customer": subscription["customer"],
            "subscription": subscription["id"],
            "currency": subscription["currency"],
            "issue_date": subscription.get("start_date"),
            "lines": lines,
        }
        invoice = self._build("invoices", body)
        self.records["invoices"][invoice["id"]] = invoice
        self.by_external["invoices"][invoice["external_id"]] = invoice["id"]
        self._changed("invoices", "created", invoice)

    def close_won(self, key: str) -> dict[str, Any]:
        """A CRM user marks an opportunity closed-won (an ``opportunity.closed_won`` event)."""
        with self.lock:
            record = self.find("opportunities", key)
            if record is None:
                raise SimError(404, "not_found", f"no opportunity {key!r}")
            record.update(stage="closed_won", version=record["version"] + 1, updated_at=self._stamp())
            self._changed("opportunities", "closed_won", record)
            return dict(record)

    def _update(self, record: dict[str, Any], **changes: Any) -> None:
        record.update(changes, version=record["version"] + 1, updated_at=self._stamp())
        resource = next(r for r, p in RESOURCES.items() if record["id"].startswith(p + "_"))
        self._changed(resource, "updated", record)

    def touch(self, resource: str, key: str, **changes: Any) -> dict[str, Any]:
        """Change a record as a cloud user would (bumps version and updated_at, emits a webhook)."""
        with self.lock:
            record = self.find(resource, key)
            if record is None:
                raise SimError(404, "not_found", f"no {SINGULAR[resource]} {key!r}")
            self._update(record, **changes)
            return dict(record)

    def _changed(self, resource: str, action: str, record: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change(f"{SINGULAR[resource]}.{action}", dict(record))

    # ------------------------------------------------------------------ lists

    @staticmethod
    def encode_cursor(record: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(f"{record['updated_at']}|{record['id']}".encode()).decode()

    @staticmethod
    def decode_cursor(token: str) -> list[str]:
        return base64.urlsafe_b64decode(token.encode()).decode().split("|", 1)

    def changed_since(self, resource: str, since: str | None, external_id: str | None = None) -> list[dict[str, Any]]:
        """Records with ``updated_at >= since``, ordered by (updated_at, id): the order every page style uses."""
        with self.lock:
            rows = [dict(r) for r in self.records[resource].values()]
        if since:
            bound = datetime.fromisoformat(since.replace("Z", "+00:00"))
            rows = [r for r in rows if datetime.fromisoformat(r["updated_at"]) >= bound]
        if external_id:
            rows = [r for r in rows if r.get("external_id") == external_id]
        return sorted(rows, key=lambda r: (r["updated_at"], r["id"]))
