"""``jsonl`` decoder and ``json`` encoder: canonical records as JSON, one per line, without a mapping.

The simplest lossless format for canonical data (Decimals as strings, aware datetimes as ISO 8601); used by
the demo, the crash tests and for exchanging canonical records with other tools. The decoder streams line by
line; a bad line is a :class:`RecordFailure` with its line number and the original text. Registered with the
other translators in ``translators.plugins``. The sorted-key form content hashes use is
:func:`bridge.canonical.canonical_json`, not this encoder's output.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import orjson
from pydantic import ValidationError

from bridge.canonical import canonical_json, model_for
from bridge.ports import (
    DecodedRecord,
    DecodeError,
    EncodeContext,
    Encoded,
    Envelope,
    KindConfig,
    Location,
    PluginContext,
    Record,
    RecordFailure,
    RecordInvalid,
)

__all__ = ["JsonEncoder", "JsonEncoderConfig", "JsonLinesConfig", "JsonLinesDecoder"]


class JsonLinesConfig(KindConfig):
    kind: Literal["jsonl"]
    """Selects this plugin: ``jsonl``."""
    encoding: Literal["utf-8", "utf-8-sig"] = "utf-8"
    """Text encoding of the lines (utf-8-sig accepts a byte-order mark)."""


class JsonEncoderConfig(KindConfig):
    kind: Literal["json"]
    """Selects this plugin: ``json``."""
    indent: bool = False
    """Indent the JSON output."""


def validation_message(exc: ValidationError) -> tuple[str, str | None]:
    """A one-line summary of a pydantic error and the dotted field path of the first problem."""
    errs = exc.errors(include_input=False, include_url=False)
    first = errs[0] if errs else None
    field = ".".join(str(p) for p in first["loc"]) if first else None
    text = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<record>'}: {e['msg']}" for e in errs[:5])
    return text, field or None


class JsonLinesDecoder:
    """One canonical record per non-empty line."""

    def __init__(self, config: JsonLinesConfig, context: PluginContext) -> None:
        self.model = model_for(context.canonical)
        self.encoding = config.encoding

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        ordinal = 0
        offset = 0
        with envelope.open() as stream:
            for lineno, raw in enumerate(stream, start=1):
                start = offset
                offset += len(raw)
                if lineno == 1 and self.encoding == "utf-8-sig" and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                if not raw.strip():
                    continue
                loc = Location(file=envelope.origin, line=lineno)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DecodeError(
                        f"invalid UTF-8: {exc.reason}",
                        location=Location(file=envelope.origin, line=lineno, offset=start + exc.start),
                    ) from exc
                try:
                    record = self.model.model_validate_json(text)
                except ValidationError as exc:
                    message, field = validation_message(exc)
                    err = RecordInvalid(message, location=Location(file=envelope.origin, line=lineno, field=field))
                    yield RecordFailure(ordinal, err, text.rstrip("\r\n")[:4000])
                else:
                    yield DecodedRecord(ordinal, record, loc)
                ordinal += 1


class JsonEncoder:
    """The canonical record as JSON: :func:`bridge.canonical.canonical_json` (sorted keys, exact Decimals as
    strings keeping their scale, no float), indented on request.

    It is a :class:`~bridge.ports.StoredEncoder`: unindented, its output IS the stored payload, so the runtime
    hands it the stored bytes and never loads the record (most of a delivery's CPU otherwise). Keys are sorted
    (since 1.4; before, pydantic's field order) so that both ways give the same bytes.
    """

    def __init__(self, config: JsonEncoderConfig, context: PluginContext) -> None:
        self.indent = config.indent

    def encode(self, record: Record, context: EncodeContext) -> Encoded:
        body = canonical_json(record)
        if self.indent:
            body = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        return self._encoded(body, context)

    def encode_stored(self, payload: str, context: EncodeContext) -> Encoded | None:
        """The stored canonical JSON as it is (``None`` when indenting: then the record is re-dumped)."""
        return None if self.indent else self._encoded(payload.encode(), context)

    @staticmethod
    def _encoded(body: bytes, context: EncodeContext) -> Encoded:
        return Encoded(body=body, media_type="application/json", name=f"{context.message_id}.json")
