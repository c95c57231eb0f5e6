"""The hardened HTTP side of the SOAP adapter: a zeep transport with limits, and a clocked UsernameToken.

``LimitedTransport`` streams every response and refuses it past ``max_bytes`` or past the whole-call
deadline (requests' read timeout is per socket read, so a trickling server would never time out), refuses
remote WSDL/XSD loads unless a cache is configured, and keeps this thread's last request/response bytes for
the redacted capture. Errors leave it as bridge errors (``raise ... from exc``). No parsing happens here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import requests
import urllib3.exceptions
import zeep
from pydantic import SecretStr
from zeep.wsse.username import UsernameToken
from zeep.wsse.utils import WSU

from bridge.ports import (
    Clock,
    ConfigError,
    ConnectionFailed,
    HostileInput,
    Location,
    SecurityError,
    TimeoutExpired,
)

__all__ = ["ClockedUsernameToken", "LimitedTransport", "Wire"]


class ClockedUsernameToken:
    """zeep's UsernameToken, rebuilt per call so nonce, Created and the Timestamp are fresh (and from a Clock)."""

    def __init__(
        self, username: str, password: SecretStr, *, digest: bool, timestamp: bool, ttl_seconds: int, clock: Clock
    ) -> None:
        self._username = username
        self._password = password
        self._digest = digest
        self._timestamp = timestamp
        self._ttl = ttl_seconds
        self._clock = clock

    def apply(self, envelope: Any, headers: Any) -> Any:
        now = self._clock.now().replace(microsecond=0)
        stamp = None
        if self._timestamp:
            expires = now + timedelta(seconds=self._ttl)
            stamp = WSU.Timestamp(WSU.Created(_zulu(now)), WSU.Expires(_zulu(expires)))
        token = UsernameToken(  # type: ignore[no-untyped-call]
            self._username,
            self._password.get_secret_value(),
            use_digest=self._digest,
            created=now,
            timestamp_token=stamp,
            zulu_timestamp=True,
        )
        return token.apply(envelope, headers)  # type: ignore[no-untyped-call]

    def verify(self, envelope: Any) -> Any:
        return envelope


def _zulu(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass
class Wire:
    request: bytes = b""
    response: bytes = b""
    status: int = 0
    headers: Mapping[str, str] | None = None


class LimitedTransport(zeep.Transport):
    """zeep transport that streams responses, refusing past ``max_bytes`` and past the operation deadline.

    requests' read timeout is per socket read, so a server trickling bytes would never time out; the loop
    below also checks the whole call against ``operation_timeout``. Errors leave as bridge errors.
    """

    def __init__(
        self, *, connect_timeout: float, operation_timeout: float, max_bytes: int, clock: Clock, cache: Any = None
    ) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            cache=cache, timeout=connect_timeout, operation_timeout=operation_timeout
        )
        self.allow_remote_load = cache is not None
        # Passed on every request: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE in requests.
        self.verify: bool | str = True
        self.connect_timeout = connect_timeout
        self.max_bytes = max_bytes
        self.clock = clock
        self._local = threading.local()

    def _load_remote_data(self, url: str) -> bytes:
        """WSDL/XSD documents come from local files; a remote one only through the cache (fetched once)."""
        if not self.allow_remote_load or urlparse(url).scheme == "file":
            raise ConfigError(
                f"the WSDL refers to {url}: remote WSDL/XSD documents are not fetched; keep a local "
                "copy next to the WSDL or configure wsdl_cache"
            )
        data: bytes = super()._load_remote_data(url)  # type: ignore[no-untyped-call]
        if len(data) > self.max_bytes:
            raise HostileInput(f"{url} exceeds the {self.max_bytes}-byte limit")
        return data

    def reset_wire(self) -> None:
        self._local.wire = Wire()

    @property
    def wire(self) -> Wire:
        """The request and response bytes of this thread's last call (for capture)."""
        wire = getattr(self._local, "wire", None)
        if wire is None:
            wire = self._local.wire = Wire()
        return wire

    def post(self, address: str, message: bytes | str, headers: Mapping[str, str]) -> requests.Response:
        data = message.encode("utf-8") if isinstance(message, str) else message
        self._local.wire = wire = Wire(request=data)
        start = self.clock.now()
        deadline = start + timedelta(seconds=self.operation_timeout)
        where = Location(file=address)
        try:
            response = self.session.post(
                address,
                data=data,
                headers=headers,
                stream=True,
                verify=self.verify,
                timeout=(self.connect_timeout, self.operation_timeout),
            )
        except requests.exceptions.SSLError as exc:
            raise SecurityError(f"TLS verification of {address} failed: {exc}", location=where) from exc
        except requests.exceptions.Timeout as exc:
            raise TimeoutExpired(f"no answer from {address} within {self.operation_timeout}s", location=where) from exc
        except requests.exceptions.RequestException as exc:
            raise ConnectionFailed(f"cannot reach {address}: {exc}", location=where) from exc
        wire.status, wire.headers = response.status_code, dict(response.headers)
        try:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise HostileInput(
                    f"response of {declared} bytes exceeds the {self.max_bytes}-byte limit", location=where
                )
            chunks: list[bytes] = []
            total = 0
            for chunk in _chunks(response):
                total += len(chunk)
                if total > self.max_bytes:
                    raise HostileInput(
                        f"response exceeds the {self.max_bytes}-byte limit",
                        location=where,
                        detail={"read_bytes": total},
                    )
                if self.clock.now() > deadline:
                    raise TimeoutExpired(
                        f"response from {address} not complete within {self.operation_timeout}s", location=where
                    )
                chunks.append(chunk)
        except requests.exceptions.RequestException as exc:
            if _is_read_timeout(exc):
                raise TimeoutExpired(
                    f"{address} stopped answering for {self.operation_timeout}s", location=where
                ) from exc
            raise ConnectionFailed(f"connection to {address} broke: {exc}", location=where) from exc
        finally:
            response.close()
        response._content = wire.response = b"".join(chunks)
        return response


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Body chunks as they arrive: ``read1`` returns whatever is there, so a trickling server cannot keep one
    read (and the deadline check after it) waiting until the whole body is in."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # not urllib3 2.x: requests' own iterator (fills each chunk)
        yield from response.iter_content(64 * 1024)
        return
    try:
        while True:
            chunk = raw.read1(64 * 1024, decode_content=True)
            if not chunk:
                return
            yield chunk
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(str(exc)) from exc
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError) as exc:
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from exc


def _is_read_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError, TimeoutError)):
            return True
        args = getattr(seen, "args", ())
        if args and isinstance(args[0], BaseException):
            seen = args[0]
            continue
        seen = seen.__cause__ or seen.__context__
    return False
