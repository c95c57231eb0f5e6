"""Canonical record -> CSV through a CSV mapping read in reverse (kind ``csv``).

The columns are the mapping's own, in field order (a column fed by several fields takes the first non-empty
value). One record becomes one row, or, with grouping, one row per line (key columns repeated) or a header
row plus line rows laid out as declared. The dialect and the encoding are the mapping's; a character the
encoding cannot represent raises ``EncodeError`` naming it rather than being replaced.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from bridge.ports import EncodeContext, Encoded, EncodeError, Location
from translators._records import encode_errors
from translators.mapping.compiled import CompiledField, CompiledMapping, CompiledObject
from translators.mapping.spec import CsvOptions

__all__ = ["CsvEncoder"]

_Getter = Callable[[Any, Any], str | None]


def _path_value(record: Any, path: tuple[str, ...]) -> Any:
    value = record
    for part in path:
        if value is None:
            return None
        value = getattr(value, part, None)
    return value


def _scalar(f: CompiledField, path: tuple[str, ...], index: int | None, on_line: bool) -> _Getter:
    def get(record: Any, line: Any) -> str | None:
        value = _path_value(line if on_line else record, path)
        if index is not None:
            value = value[index] if value is not None and len(value) > index else None
        return None if value is None else f.text(value)

    return get


def _columns(
    obj: CompiledObject,
    prefix: tuple[str, ...],
    lines_field: str | None,
    on_line: bool,
    head: list[tuple[str, _Getter]],
    line: list[tuple[str, _Getter]],
) -> None:
    out = line if on_line else head
    for f in obj.fields:
        if f.name.startswith("_") or (f.has_const and f.column is None):
            continue
        path = (*prefix, f.name)
        if f.children is not None and f.column is None:
            if f.name == lines_field and not on_line:
                _columns(f.children, (), None, True, head, line)
            elif f.many:  # a one-item list fed by the row itself (e.g. the customer's address)
                _first_item(f, path, on_line, head, line)
            else:
                _columns(f.children, path, None, on_line, head, line)
        elif f.columns:
            for i, column in enumerate(f.columns):
                out.append((column, _scalar(f, path, i, on_line)))
        elif f.column is not None:
            out.append((f.column, _scalar(f, path, None, on_line)))


def _first_item(
    f: CompiledField,
    path: tuple[str, ...],
    on_line: bool,
    head: list[tuple[str, _Getter]],
    line: list[tuple[str, _Getter]],
) -> None:
    assert f.children is not None
    inner_head: list[tuple[str, _Getter]] = []
    inner_line: list[tuple[str, _Getter]] = []
    _columns(f.children, (), None, False, inner_head, inner_line)
    out = line if on_line else head

    def wrap(getter: _Getter) -> _Getter:
        def get(record: Any, line_item: Any) -> str | None:
            items = _path_value(line_item if on_line else record, path)
            return getter(items[0], None) if items else None

        return get

    out.extend((column, wrap(getter)) for column, getter in inner_head)


class CsvEncoder:
    """Encoder kind ``csv`` (implements ``bridge.ports.Encoder``)."""

    def __init__(self, mapping: CompiledMapping, *, header: bool | None = None) -> None:
        if mapping.spec.format != "csv" or mapping.spec.csv is None:
            raise ValueError(f"CsvEncoder needs a CSV mapping, {mapping.name} is {mapping.spec.format}")
        self.mapping = mapping
        self.options: CsvOptions = mapping.spec.csv
        self.header = self.options.header if header is None else header
        group = self.options.group
        self._lines_field = (
            group.lines_field if group is not None and (group.key or group.type_column is not None) else None
        )
        head: list[tuple[str, _Getter]] = []
        line: list[tuple[str, _Getter]] = []
        _columns(mapping.root, (), self._lines_field, False, head, line)
        self._head, self._line = head, line

    def _layout(
        self, names: list[str], getters: list[tuple[str, _Getter]], record: Any, item: Any, fixed: dict[str, str]
    ) -> list[str]:
        by_column: dict[str, list[_Getter]] = {}
        for column, getter in getters:
            by_column.setdefault(column.casefold(), []).append(getter)
        row = []
        for name in names:
            value = fixed.get(name)
            for getter in by_column.get(name.casefold(), []):
                if value is None:
                    value = getter(record, item)
            row.append(value or "")
        return row

    def rows(self, record: Any) -> list[list[str]]:
        """The CSV rows (header row included when configured) for ``record``."""
        group = self.options.group
        items = list(getattr(record, self._lines_field) or ()) if self._lines_field else []
        if group is not None and group.type_column is not None:
            layouts = group.layouts or {}
            head_code, line_code = group.header or "", group.line or ""
            type_name = {code: names[group.type_column] for code, names in layouts.items()}
            rows = [self._layout(list(layouts[head_code]), self._head, record, None, {type_name[head_code]: head_code})]
            rows += [
                self._layout(list(layouts[line_code]), self._line, record, item, {type_name[line_code]: line_code})
                for item in items
            ]
            return rows
        names = list(dict.fromkeys(c for c, _ in self._head + self._line))
        getters = self._head + self._line
        rows = [names] if self.header else []
        for item in items or [None]:
            rows.append(self._layout(names, getters, record, item, {}))
        return rows

    def render(self, record: Any) -> bytes:
        """The encoded CSV bytes for ``record``."""
        options = self.options
        buffer = io.StringIO()
        delimiter = "," if options.delimiter == "sniff" else options.delimiter
        writer = csv.writer(
            buffer, delimiter=delimiter, quotechar=options.quotechar, lineterminator=options.line_terminator
        )
        with encode_errors("CSV"):
            writer.writerows(self.rows(record))
        text = buffer.getvalue()
        try:
            return text.encode(options.encoding)
        except UnicodeEncodeError as exc:
            raise EncodeError(
                f"character {text[exc.start]!r} cannot be written in {options.encoding}",
                location=Location(offset=exc.start),
            ) from exc

    def encode(self, record: Any, context: EncodeContext) -> Encoded:
        """Render ``record``; the suggested file name is derived from the message id."""
        return Encoded(
            self.render(record), f"text/csv; charset={self.options.encoding}", name=f"{context.message_id}.csv"
        )
