"""Fixed-width flat files -> canonical records (decoder kind ``fixed_width``).

A discriminator slice names each line's record type; the layout declares a header, detail and trailer type.
Every detail line is one record; header values whose names are canonical fields (``currency``, ``value_date``)
fill the details' gaps, names starting with ``_`` are informational. Before any record is handed on, a first
pass checks the trailer's control totals (detail count and sums), so a truncated or tampered file fails as a
whole instead of being half-delivered: the envelope's ``open()`` gives a fresh stream for the second pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from bridge.ports import DecodedRecord, DecodeError, Envelope, Location, RecordFailure, RecordInvalid
from translators._records import STRICT, build_record, problem_error, record_context
from translators.csv_decoder import decoded_lines
from translators.mapping.compiled import MISSING, CompiledMapping, CompiledObject, FieldProblem, finish_object
from translators.mapping.spec import FixedWidthOptions

__all__ = ["FixedWidthDecoder", "extract_line"]


def extract_line(line: str, obj: CompiledObject) -> dict[str, Any]:
    """The converted values of ``obj``'s fields sliced from ``line`` (no defaults applied yet)."""
    out: dict[str, Any] = {}
    for f in obj.fields:
        if f.start is not None and f.length is not None:
            v = f.value(line[f.start - 1 : f.start - 1 + f.length])
            if v is not MISSING:
                out[f.name] = v
        elif f.children is not None:
            try:
                sub = extract_line(line, f.children)
                if f.present(sub):
                    item = finish_object(sub, f.children)
                    out[f.name] = [item] if f.many else item
            except FieldProblem as exc:
                raise exc.nested(f"{f.name}[0]" if f.many else f.name) from None
    return out


class FixedWidthDecoder:
    """Decoder kind ``fixed_width`` (implements ``bridge.ports.Decoder``)."""

    def __init__(self, mapping: CompiledMapping, *, mode: dict[str, str] | None = None) -> None:
        if mapping.spec.format != "fixed_width" or mapping.spec.fixed_width is None:
            raise ValueError(f"FixedWidthDecoder needs a fixed-width mapping, {mapping.name} is {mapping.spec.format}")
        self.mapping = mapping
        self.options: FixedWidthOptions = mapping.spec.fixed_width
        self.types: dict[str, CompiledObject] = mapping.extra["types"]
        self._context = record_context(mapping, mode if mode is not None else STRICT)
        self._roles = {code: t.role for code, t in self.options.types.items()}

    def fragment_bytes(self, fragment: str) -> bytes:
        """A dead letter's line as this decoder reads it: in the file's own encoding."""
        encoding = "utf-8" if self.options.encoding in ("utf-8", "utf-8-sig") else self.options.encoding
        return fragment.encode(encoding)

    def _lines(self, envelope: Envelope) -> Iterator[tuple[int, str, str]]:
        opts = self.options
        start, end = opts.type_start - 1, opts.type_start - 1 + opts.type_length
        with envelope.open() as stream:
            for number, raw in enumerate(decoded_lines(stream, opts.encoding, envelope.origin), start=1):
                line = raw.rstrip("\r\n")
                if not line.strip():
                    continue
                code = line[start:end]
                if code not in self._roles:
                    raise DecodeError(
                        f"unknown record type {code!r} (known: {', '.join(self._roles)})",
                        location=Location(file=envelope.origin, line=number, column=start + 1),
                    )
                yield number, code, line

    def check_totals(self, envelope: Envelope) -> None:
        """First pass: the trailer's count and sums must match the detail lines; DecodeError otherwise."""
        opts = self.options
        count, sums = 0, {target: Decimal(0) for target in opts.sum_fields.values()}
        trailer: dict[str, Any] | None = None
        trailer_line = 0
        for number, code, line in self._lines(envelope):
            role = self._roles[code]
            if role == "detail":
                count += 1
                for name in sums:
                    value = self._sum_value(line, code, name)
                    if value is not None:
                        sums[name] += Decimal(value)
            elif role == "trailer":
                if trailer is not None:
                    raise DecodeError("a second trailer record", location=Location(file=envelope.origin, line=number))
                trailer, trailer_line = (
                    self._values(line, code, strict=True, origin=envelope.origin, number=number),
                    number,
                )
        if trailer is None:
            if opts.count_field or opts.sum_fields:
                raise DecodeError("file has no trailer record (truncated?)", location=Location(file=envelope.origin))
            return
        where = Location(file=envelope.origin, line=trailer_line)
        if opts.count_field and trailer.get(opts.count_field) is not None and int(trailer[opts.count_field]) != count:
            raise DecodeError(
                f"trailer says {trailer[opts.count_field]} detail records, the file has {count}", location=where
            )
        for trailer_field, detail_field in opts.sum_fields.items():
            declared = trailer.get(trailer_field)
            if declared is not None and Decimal(declared) != sums[detail_field]:
                raise DecodeError(
                    f"trailer {trailer_field} {declared} != sum of {detail_field} {sums[detail_field]}", location=where
                )

    def _sum_value(self, line: str, code: str, name: str) -> Any:
        """One summed field of a detail line; a malformed value counts as absent (the record fails later)."""
        for f in self.types[code].fields:
            if f.name == name and f.start is not None and f.length is not None:
                try:
                    value = f.value(line[f.start - 1 : f.start - 1 + f.length])
                except FieldProblem:
                    return None
                return None if value is MISSING else value
        return None

    def _values(
        self, line: str, code: str, *, strict: bool = False, origin: str | None = None, number: int | None = None
    ) -> dict[str, Any]:
        try:
            return extract_line(line, self.types[code])
        except FieldProblem as exc:
            if strict:
                raise DecodeError(
                    f"trailer field {exc.field}: {exc.message}",
                    location=Location(file=origin, line=number, field=exc.field),
                ) from None
            return {}

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        """Check control totals, then yield one item per detail line."""
        self.check_totals(envelope)
        header: dict[str, Any] = {}
        ordinal = 0
        root = self.mapping.root
        for number, code, line in self._lines(envelope):
            role = self._roles[code]
            if role == "header":
                header = {k: v for k, v in self._values(line, code).items() if not k.startswith("_")}
                continue
            if role != "detail":
                continue
            location = Location(file=envelope.origin, line=number, record=ordinal)
            try:
                try:
                    detail = self.types[code]
                    data = finish_object(finish_object({**header, **extract_line(line, detail)}, detail), root)
                except FieldProblem as exc:
                    raise problem_error(exc, location) from None
                yield DecodedRecord(ordinal, build_record(self.mapping, data, location, self._context), location)
            except RecordInvalid as exc:
                yield RecordFailure(ordinal, exc, line)
            ordinal += 1
