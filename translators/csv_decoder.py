"""CSV -> canonical records: declared or sniffed dialect, strict decoding, header aliases, multi-row grouping.

Bytes are decoded line by line with the declared encoding in strict mode, so a byte the encoding cannot
represent fails the batch with its exact byte offset instead of becoming a silent replacement character.
Rows are grouped into records three ways: one row per record; consecutive rows sharing ``group.key``
columns (the key columns repeat on every line row); or typed rows (``group.type_column``), where a header row
starts a record and line rows append to its ``group.lines_field``.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from bridge.ports import DecodedRecord, DecodeError, Envelope, Location, RecordFailure, RecordInvalid
from translators._records import STRICT, build_record, decoded, location, problem_error, record_context
from translators._rowcode import compile_row_plan
from translators.mapping.compiled import (
    CompiledField,
    CompiledMapping,
    CompiledObject,
    FieldProblem,
    finish_object,
)
from translators.mapping.spec import CsvOptions

__all__ = ["CsvDecoder", "decoded_lines", "row_plan"]

_BOM = "\ufeff"


def decoded_lines(stream: IO[bytes], encoding: str, origin: str | None) -> Iterator[str]:
    """Lines of ``stream`` decoded strictly; a bad byte raises DecodeError with its byte offset and line."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    offset = 0
    for number, raw in enumerate(stream, start=1):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            at = offset + exc.start
            bad = raw[exc.start : exc.start + 4]
            raise DecodeError(
                f"byte {at} (line {number}) is not valid {encoding}: {bad!r}; declare the file's real encoding",
                location=Location(file=origin, line=number, offset=at),
            ) from exc
        if number == 1 and text.startswith(_BOM):
            text = text[1:]
        offset += len(raw)
        yield text


@dataclass
class _Plan:
    scalars: list[tuple[str, int, CompiledField, bool, Any]] = field(default_factory=list)
    """(field name, column index, field, fast path possible, converter)."""
    lists: list[tuple[str, list[int], CompiledField]] = field(default_factory=list)
    groups: list[tuple[CompiledField, _Plan]] = field(default_factory=list)
    row_lists: list[tuple[CompiledField, _Plan]] = field(default_factory=list)
    lines: tuple[CompiledField, _Plan] | None = None
    fn: Callable[[list[str]], dict[str, Any]] | None = None
    """The plan compiled to one function (see :mod:`translators._rowcode`)."""
    record_fn: Callable[[list[str]], dict[str, Any]] | None = None
    """``fn`` plus the record's constants, defaults and required checks, for one-row records."""


def _index(names: list[str]) -> dict[str, int]:
    return {name.strip().casefold(): i for i, name in reversed(list(enumerate(names)))}


def _find(f: CompiledField, column: str, index: dict[str, int]) -> int | None:
    for candidate in (column, *f.aliases):
        found = index.get(candidate.strip().casefold())
        if found is not None:
            return found
    if column.isdigit() and not index:
        return int(column)
    return None


def row_plan(
    obj: CompiledObject,
    names: list[str],
    lines_field: str | None,
    missing: list[str],
    lines_missing: list[str] | None = None,
) -> _Plan:
    """Which column feeds which field, for one header; required columns not found go to ``missing``
    (those of the lines object to ``lines_missing``, by default the same list)."""
    index = _index(names)
    plan = _Plan()
    for f in obj.fields:
        if f.children is not None and f.column is None:
            is_lines = f.name == lines_field
            sub = row_plan(
                f.children, names, None, lines_missing if is_lines and lines_missing is not None else missing
            )
            if is_lines:
                plan.lines = (f, sub)
            elif f.many:
                plan.row_lists.append((f, sub))
            else:
                plan.groups.append((f, sub))
        elif f.columns:
            found = [i for c in f.columns if (i := _find(f, c, index)) is not None]
            if found:
                plan.lists.append((f.name, found, f))
        elif f.column is not None:
            idx = _find(f, f.column, index)
            if idx is None:
                if f.required:
                    missing.append(f.column + (f" (or {', '.join(f.aliases)})" if f.aliases else ""))
            else:
                fast = f.trim and f.codes is None and f.function is None
                plan.scalars.append((f.name, idx, f, fast, f.conv))
    return plan


def extract_row(row: list[str], plan: _Plan) -> dict[str, Any]:
    """The converted values one row gives to one object (no defaults applied yet)."""
    if plan.fn is None:
        plan.fn = compile_row_plan(plan)
    return plan.fn(row)


def _fragment(rows: Iterable[list[str]], options: CsvOptions, delimiter: str, header: list[str] | None = None) -> str:
    """A failed record as a small CSV document the same decoder reads again (a dead letter's replay).

    It keeps the file's shape: one empty line per ``skip_lines`` preamble line and the header row, so a
    replay after a mapping fix finds its columns (a bare data row would fail on "header lacks column").
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quotechar=options.quotechar, lineterminator="\n")
    buffer.write("\n" * options.skip_lines)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


class CsvDecoder:
    """Decoder kind ``csv`` (implements ``bridge.ports.Decoder``)."""

    def __init__(self, mapping: CompiledMapping, *, mode: dict[str, str] | None = None) -> None:
        if mapping.spec.format != "csv" or mapping.spec.csv is None:
            raise ValueError(f"CsvDecoder needs a CSV mapping, {mapping.name} is {mapping.spec.format}")
        self.mapping = mapping
        self.options: CsvOptions = mapping.spec.csv
        self._context = record_context(mapping, mode if mode is not None else STRICT)

    def fragment_bytes(self, fragment: str) -> bytes:
        """A dead letter's fragment as this decoder reads it: in the file's own encoding (cp1252 stays cp1252)."""
        encoding = "utf-8" if self.options.encoding in ("utf-8", "utf-8-sig") else self.options.encoding
        return fragment.encode(encoding)

    def _dialect(self, lines: Iterator[str], origin: str) -> tuple[str, Iterator[str]]:
        delimiter = self.options.delimiter
        if delimiter != "sniff":
            return delimiter, lines
        sample = list(itertools.islice(lines, 20))
        try:
            sniffed = csv.Sniffer().sniff("".join(sample), delimiters=";,\t|")
        except csv.Error as exc:
            raise DecodeError(f"cannot detect the CSV delimiter: {exc}", location=Location(file=origin)) from exc
        return sniffed.delimiter, itertools.chain(sample, lines)

    def _locate_decode_error(self, envelope: Envelope) -> DecodeError:
        with envelope.open() as stream:
            try:
                for _ in decoded_lines(stream, self.options.encoding, envelope.origin):
                    pass
            except DecodeError as located:
                return located
        return DecodeError(f"file is not valid {self.options.encoding}", location=Location(file=envelope.origin))

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        """Yield one item per record (row or row group); raise DecodeError for encoding or header problems."""
        try:
            yield from self._decode(envelope)
        except UnicodeDecodeError as exc:
            raise self._locate_decode_error(envelope) from exc

    def _decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        options, origin = self.options, envelope.origin
        with envelope.open() as stream:
            # C-speed strict decoding; on a bad byte, a second pass line by line finds its exact offset
            codec = "utf-8-sig" if options.encoding in ("utf-8", "utf-8-sig") else options.encoding
            lines: Iterator[str] = iter(io.TextIOWrapper(stream, encoding=codec, errors="strict", newline=""))
            for _ in range(options.skip_lines):
                next(lines, None)
            delimiter, lines = self._dialect(lines, origin)
            reader = csv.reader(lines, delimiter=delimiter, quotechar=options.quotechar, strict=True)
            base = options.skip_lines
            try:
                yield from self._records(reader, base, origin, delimiter)
            except csv.Error as exc:
                raise DecodeError(
                    f"malformed CSV: {exc}", location=Location(file=origin, line=base + reader.line_num)
                ) from exc

    def _records(self, reader: Any, base: int, origin: str, delimiter: str) -> Iterator[DecodedRecord | RecordFailure]:
        options, group = self.options, self.options.group
        root = self.mapping.root
        missing: list[str] = []
        plans: dict[str, _Plan] = {}
        head_row: list[str] | None = None  # typed-row layouts have none; otherwise it travels with failed fragments
        lines_field = group.lines_field if group is not None and (group.key or group.type_column is not None) else None
        if group is not None and group.type_column is not None:
            for code, layout in (group.layouts or {}).items():
                # top-level required fields live in the header layout, line fields in the line layout
                scratch: list[str] = []
                head = code == group.header
                plans[code] = row_plan(
                    root, list(layout), lines_field, missing if head else scratch, scratch if head else missing
                )
        else:
            header = next(reader, None) if options.header else []
            if header is None:
                return
            plans[""] = row_plan(root, header, lines_field, missing)
            head_row = header or None
        if missing:
            raise DecodeError(
                f"CSV header lacks required column(s): {'; '.join(dict.fromkeys(missing))}",
                location=Location(file=origin, line=base + 1),
            )
        if lines_field is None:
            yield from self._single_rows(reader, base, origin, delimiter, plans[""], head_row)
            return
        for ordinal, (rows, line) in enumerate(self._groups(reader, base, plans, origin)):
            location = Location(file=origin, line=line, record=ordinal)
            try:
                data = self._build(rows, plans)
                yield DecodedRecord(ordinal, build_record(self.mapping, data, location, self._context), location)
            except FieldProblem as exc:
                failed = _fragment(rows, options, delimiter, head_row)
                yield RecordFailure(ordinal, problem_error(exc, location), failed)
            except RecordInvalid as exc:
                yield RecordFailure(ordinal, exc, _fragment(rows, options, delimiter, head_row))

    def _single_rows(
        self, reader: Any, base: int, origin: str, delimiter: str, plan: _Plan, header: list[str] | None
    ) -> Iterator[DecodedRecord | RecordFailure]:
        """The hot path: one row, one record."""
        root, mapping, context = self.mapping.root, self.mapping, self._context
        if plan.record_fn is None:
            plan.record_fn = compile_row_plan(plan, finish=root)
        extract = plan.record_fn
        ordinal = 0
        for row in reader:
            if not row:
                continue
            where = location(origin, base + reader.line_num, record=ordinal)
            try:
                data = extract(row)
                yield decoded(ordinal, build_record(mapping, data, where, context), where)
            except FieldProblem as exc:
                failed = _fragment([row], self.options, delimiter, header)
                yield RecordFailure(ordinal, problem_error(exc, where), failed)
            except RecordInvalid as exc:
                yield RecordFailure(ordinal, exc, _fragment([row], self.options, delimiter, header))
            ordinal += 1

    def _groups(
        self, reader: Any, base: int, plans: dict[str, _Plan], origin: str
    ) -> Iterator[tuple[list[list[str]], int]]:
        group = self.options.group
        current: list[list[str]] = []
        start = 0
        assert group is not None
        if group.type_column is not None:
            col, header_code = group.type_column, group.header
            for row in reader:
                if not row:
                    continue
                code = row[col].strip() if col < len(row) else ""
                if code not in plans:
                    raise DecodeError(
                        f"row type {code!r} has no layout (known: {', '.join(plans)})",
                        location=Location(file=origin, line=base + reader.line_num),
                    )
                if code == header_code and current:
                    yield current, start
                    current = []
                if not current:
                    if code != header_code:
                        raise DecodeError(
                            f"line row of type {code!r} before any header row of type {header_code!r}",
                            location=Location(file=origin, line=base + reader.line_num),
                        )
                    start = base + reader.line_num
                current.append(row)
            if current:
                yield current, start
            return
        key_idx = self._key_indexes(plans[""], group.key or ())
        last_key: tuple[str, ...] | None = None
        for row in reader:
            if not row:
                continue
            key = tuple(row[i].strip() if i < len(row) else "" for i in key_idx)
            if key != last_key and current:
                yield current, start
                current = []
            if not current:
                start = base + reader.line_num
            last_key = key
            current.append(row)
        if current:
            yield current, start

    def _key_indexes(self, plan: _Plan, key: tuple[str, ...]) -> list[int]:
        by_name = {f.column.casefold(): idx for _, idx, f, _, _ in plan.scalars if f.column}
        by_field = {name: idx for name, idx, *_ in plan.scalars}
        out = []
        for k in key:
            idx = by_field.get(k, by_name.get(k.casefold()))
            if idx is None:
                raise DecodeError(f"group key {k!r} is neither a mapped top-level field nor its column")
            out.append(idx)
        return out

    def _build(self, rows: list[list[str]], plans: dict[str, _Plan]) -> dict[str, Any]:
        group = self.options.group
        root = self.mapping.root
        if group is not None and group.type_column is not None:
            col = group.type_column
            head_plan = plans[rows[0][col].strip()]
            data = extract_row(rows[0], head_plan)
            line_rows = [(plans[r[col].strip()], r) for r in rows[1:]]
        else:
            head_plan = plans[""]
            data = extract_row(rows[0], head_plan)
            line_rows = [(head_plan, r) for r in rows] if head_plan.lines else []
        lines_target = head_plan.lines
        if lines_target is not None:
            lf, _ = lines_target
            assert lf.children is not None
            items = []
            for i, (plan, row) in enumerate(line_rows):
                if plan.lines is None:
                    continue
                try:
                    line_data = extract_row(row, plan.lines[1])
                    if not line_data:
                        continue  # a record without lines still has one row, with empty line columns
                    items.append(finish_object(line_data, lf.children))
                except FieldProblem as exc:
                    raise exc.nested(f"{lf.name}[{i}]") from None
            data[lf.name] = items
        return finish_object(data, root)
