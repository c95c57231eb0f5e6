"""The one error tree of esb-bridge.

Every failure the bridge can meet is one of these types; third-party errors (paramiko, zeep, lxml, httpx,
SQLAlchemy) are translated at the adapter boundary with ``raise ... from exc`` so the cause is kept.
Whether the runtime retries is decided by the *type*, never by parsing a message::

    BridgeError
    ├── RetryableError              transient: the runtime retries with backoff
    │   ├── ConnectionFailed        peer unreachable or connection dropped
    │   ├── TimeoutExpired          connect/read/operation timeout
    │   ├── TargetUnavailable       5xx, 408, 429, broker or endpoint not ready
    │   ├── DependencyPending       a referenced entity has no xref yet (delivery parked)
    │   └── LeaseLost               another node took over this work
    └── PermanentError              retrying cannot help: dead letter
        ├── ConfigError             configuration is invalid (all problems listed)
        ├── SecurityError           host key mismatch, bad signature, auth refused
        ├── DecodeError             a whole file/page cannot be read (not well-formed, wrong encoding)
        │   └── HostileInput        XXE, DTD, entity expansion, oversized input
        ├── RecordInvalid           one record failed conversion or validation
        ├── EncodeError             a canonical record cannot be rendered for a target
        ├── ContractViolation       an outgoing body breaks the target's declared contract
        └── Rejected                the target refused the message (4xx, SOAP client fault)
            └── AmbiguousOutcome    the target's answer cannot show it holds THIS message (409 on a retry)

Every error can carry a :class:`Location` (file, line, XPath, field, byte offset) and the interface and
message it concerns, so a dead letter always says *where* and *what*.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "AmbiguousOutcome",
    "BridgeError",
    "ConfigError",
    "ConfigProblem",
    "ConnectionFailed",
    "ContractViolation",
    "DecodeError",
    "DependencyPending",
    "EncodeError",
    "HostileInput",
    "LeaseLost",
    "Location",
    "PermanentError",
    "RecordInvalid",
    "Rejected",
    "RetryableError",
    "SecurityError",
    "TargetUnavailable",
    "TimeoutExpired",
    "error_from_dict",
]


@dataclass(frozen=True)
class Location:
    """Where in the input a problem sits; every part is optional because sources differ.

    ``record`` is the record's 0-based ordinal in its batch (part of the message identity); the text form
    counts from 1 as a person does (``record 13`` is the 13th record), lines stay line numbers.
    """

    file: str | None = None
    line: int | None = None
    column: int | None = None
    xpath: str | None = None
    field: str | None = None
    offset: int | None = None
    record: int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file + (f":{self.line}" if self.line is not None else ""))
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        if self.offset is not None:
            parts.append(f"byte {self.offset}")
        if self.record is not None:
            parts.append(f"record {self.record + 1}")
        if self.xpath:
            parts.append(self.xpath)
        if self.field:
            parts.append(f"field {self.field}")
        return ", ".join(parts) or "unknown location"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict without the empty parts (stored with dead letters)."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def merge(self, other: Location | None) -> Location:
        """Fill this location's gaps from ``other`` (e.g. a decoder's field plus the source's file)."""
        if other is None:
            return self
        values = {k: (v if v is not None else getattr(other, k)) for k, v in self.__dict__.items()}
        return Location(**values)


class BridgeError(Exception):
    """Base of every esb-bridge error. ``retryable`` is fixed per subclass."""

    retryable: ClassVar[bool] = False
    code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        interface: str | None = None,
        message_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.interface = interface
        self.message_id = message_id
        self.detail: dict[str, Any] = dict(detail or {})

    def concerning(
        self, *, interface: str | None = None, message_id: str | None = None, location: Location | None = None
    ) -> BridgeError:
        """Attach context known only higher up (the runtime knows the interface, the source the file)."""
        if interface and not self.interface:
            self.interface = interface
        if message_id and not self.message_id:
            self.message_id = message_id
        if location is not None:
            self.location = location.merge(self.location) if self.location else location
        return self

    def __str__(self) -> str:
        where = f" [{self.location}]" if self.location else ""
        about = f" ({self.interface}{'/' + self.message_id if self.message_id else ''})" if self.interface else ""
        return f"{self.message}{where}{about}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form kept in the ledger (dead letters, attempts)."""
        return {
            "type": type(self).__name__,
            "code": self.code,
            "retryable": self.retryable,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "interface": self.interface,
            "message_id": self.message_id,
            "detail": self.detail,
        }


class RetryableError(BridgeError):
    """A transient failure: the same attempt may succeed later."""

    retryable = True
    code = "retryable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ConnectionFailed(RetryableError):
    """The peer could not be reached or the connection dropped."""

    code = "connection_failed"


class TimeoutExpired(RetryableError):
    """A connect, read or operation timeout expired."""

    code = "timeout"


class TargetUnavailable(RetryableError):
    """The target answered but is not able to take the message now (5xx, 408, 429)."""

    code = "target_unavailable"


class DependencyPending(RetryableError):
    """A referenced entity has no cross-reference yet; the delivery is parked and retried."""

    code = "dependency_pending"


class LeaseLost(RetryableError):
    """Another node holds the lease for this work now."""

    code = "lease_lost"


class PermanentError(BridgeError):
    """Retrying cannot help; the message goes to the dead-letter queue."""

    code = "permanent"


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a configuration file: the YAML path, its line and what was expected."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file or '<config>'}:{self.line}" if self.line is not None else (self.file or "<config>")
        return f"{where}: {self.path}: {self.message}"


class ConfigError(PermanentError):
    """Configuration is invalid; ``problems`` lists every problem found, not just the first."""

    code = "config"

    def __init__(self, message: str, problems: list[ConfigProblem] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.problems: list[ConfigProblem] = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        return self.message + "\n" + "\n".join(f"  {p}" for p in self.problems)


class SecurityError(PermanentError):
    """A security check refused the peer or the input (host key, signature, authentication)."""

    code = "security"


class DecodeError(PermanentError):
    """A whole batch (file, page) cannot be read; the batch fails with this location."""

    code = "decode"


class HostileInput(DecodeError):
    """Input that tries to exploit the parser (DTD, entities, external references, size bombs)."""

    code = "hostile_input"


class RecordInvalid(PermanentError):
    """One record failed conversion or validation; the rest of its batch goes on."""

    code = "record_invalid"


class EncodeError(PermanentError):
    """A canonical record cannot be rendered in the target's format."""

    code = "encode"


class ContractViolation(PermanentError):
    """An outgoing body breaks the target's declared contract (OpenAPI, XSD, WSDL)."""

    code = "contract"


class Rejected(PermanentError):
    """The target refused the message for good (4xx, SOAP client fault, business error)."""

    code = "rejected"


class AmbiguousOutcome(Rejected):
    """The target's answer does not prove it holds this very message, so the bridge will not guess.

    The case: a retried attempt answered 409. The first attempt may have created the entity (a lost
    response), or another message may own it (a business conflict). Counting it delivered could record
    another entity's id as an xref; counting it rejected could hide a success. It goes to the dead-letter
    queue with the rule to configure (a replay header, body field, error code or read-back match).
    """

    code = "ambiguous"


_BY_NAME: dict[str, type[BridgeError]] = {
    cls.__name__: cls
    for cls in (
        BridgeError,
        RetryableError,
        ConnectionFailed,
        TimeoutExpired,
        TargetUnavailable,
        DependencyPending,
        LeaseLost,
        PermanentError,
        ConfigError,
        SecurityError,
        DecodeError,
        HostileInput,
        RecordInvalid,
        EncodeError,
        ContractViolation,
        Rejected,
        AmbiguousOutcome,
    )
}


def error_from_dict(data: Mapping[str, Any]) -> BridgeError:
    """Rebuild an error stored with :meth:`BridgeError.to_dict` (for reports and replays)."""
    cls = _BY_NAME.get(str(data.get("type")), PermanentError)
    loc = data.get("location")
    return cls(
        str(data.get("message", "")),
        location=Location(**loc) if isinstance(loc, dict) else None,
        interface=data.get("interface"),
        message_id=data.get("message_id"),
        detail=data.get("detail") or {},
    )
