"""A mapping compiled for use: paths parsed, converters built, code tables loaded, lookups precomputed.

Decoders of every format share :class:`CompiledField` and :func:`finish_object` (constants, defaults and
required fields); encoders read the same objects in reverse. Per-record problems are :class:`FieldProblem`
carrying the dotted field path, turned into ``RecordInvalid`` by the decoders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translators.mapping.converters import Forward, Reverse

__all__ = [
    "MISSING",
    "CompiledField",
    "CompiledMapping",
    "CompiledObject",
    "FieldProblem",
    "Step",
    "finish_object",
    "written_fields",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FieldProblem(Exception):
    """A field of one record could not be converted or is missing; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def nested(self, prefix: str) -> FieldProblem:
        """The same problem seen from the parent object (``lines[2].`` + ``quantity``)."""
        return FieldProblem(f"{prefix}.{self.field}", self.message)


@dataclass(frozen=True)
class Step:
    """One XML path step: a Clark-notation tag and an optional ``[child='value']`` / ``[@attr='value']``."""

    tag: str
    pred_child: str | None = None
    pred_attr: str | None = None
    pred_value: str | None = None

    def matches(self, element: Any) -> bool:
        if self.pred_value is None:
            return True
        if self.pred_attr is not None:
            return bool(element.get(self.pred_attr) == self.pred_value)
        text = element.findtext(self.pred_child)
        return text is not None and text.strip() == self.pred_value


@dataclass
class CompiledField:
    """One field ready to run: its source, its value pipeline, its absence rules and its children."""

    name: str
    dotted: str
    steps: tuple[Step, ...] | None = None
    attr: str | None = None
    alt_paths: tuple[tuple[tuple[Step, ...], str | None], ...] = ()
    keys: tuple[str, ...] | None = None
    column: str | None = None
    aliases: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    start: int | None = None
    length: int | None = None
    trim: bool = True
    kind: str = "str"
    """The converter type (``str``, ``decimal``, ``int``, ``date``, ``datetime``, ``bool``)."""
    conv: Forward | None = None
    rev: Reverse = str
    codes: Mapping[str, str] | None = None
    rev_codes: Mapping[str, str] | None = None
    passthrough: bool = False
    function: Callable[[str], Any] | None = None
    has_const: bool = False
    const: Any = None
    has_default: bool = False
    default: Any = None
    required: bool = False
    many: bool = False
    children: CompiledObject | None = None
    attrs: Mapping[str, str] = field(default_factory=dict)
    is_text_list: bool = False
    present_if: str | None = None
    first_of: tuple[tuple[tuple[Step, ...], str | None], ...] = ()
    """Fallback sources of one value, in priority order (the first is also the one an encoder writes)."""
    join: str | None = None
    """Separator joining a text list into one text."""

    def present(self, sub: dict[str, Any]) -> bool:
        """Whether a nested object extracted from the parent's line/row exists at all."""
        return bool(sub) and (self.present_if is None or self.present_if in sub)

    @property
    def is_grouping(self) -> bool:
        """A nested object without a source of its own: its fields read the parent's element or row."""
        return (
            self.children is not None
            and self.steps is None
            and self.keys is None
            and not self.alt_paths
            and self.column is None
            and self.start is None
            and not self.many
        )

    def value(self, text: str | None) -> Any:
        """The converted value of ``text`` or MISSING when empty; raises FieldProblem."""
        if text is None:
            return MISSING
        if self.trim:
            text = text.strip()
        if not text:
            return MISSING
        try:
            if self.codes is not None:
                mapped = self.codes.get(text)
                if mapped is None:
                    if not self.passthrough:
                        raise ValueError(f"unknown code {text!r} (not in the code table)")
                else:
                    text = mapped
            if self.function is not None:
                return self.function(text)
            if self.conv is not None:
                return self.conv(text)
            return text
        except ValueError as exc:
            raise FieldProblem(self.dotted, str(exc)) from None

    def text(self, value: Any) -> str:
        """The inverse of :meth:`value`: canonical value -> source text (encoders)."""
        text = self.rev(value)
        if self.rev_codes is not None:
            mapped = self.rev_codes.get(text)
            if mapped is None and not self.passthrough:
                raise FieldProblem(self.dotted, f"canonical code {text!r} has no legacy code in the code table")
            text = mapped if mapped is not None else text
        return text


@dataclass
class CompiledObject:
    """The fields of the record or of one nested object, with absence rules precomputed."""

    fields: list[CompiledField]
    consts: list[tuple[str, Any]] = field(default_factory=list)
    defaults: list[tuple[str, Any]] = field(default_factory=list)
    required: list[tuple[str, str]] = field(default_factory=list)
    grouping: list[CompiledField] = field(default_factory=list)
    """Children without a source of their own (built from the parent's element/row)."""
    joins: list[tuple[str, str]] = field(default_factory=list)
    """Per ``join`` field: its name and separator."""
    cache: dict[str, Any] = field(default_factory=dict)
    """Per-format lookup structures built lazily by decoders (an XML trie, CSV column indexes)."""

    @property
    def is_plain(self) -> bool:
        """No constants, defaults, required fields or joins: :func:`finish_object` would change nothing."""
        return not (self.consts or self.defaults or self.required or self.joins)

    def __post_init__(self) -> None:
        for f in self.fields:
            if f.has_const:
                self.consts.append((f.name, f.const))
            elif f.has_default:
                self.defaults.append((f.name, f.default))
            if f.required:
                self.required.append((f.name, f.dotted))
            if f.join is not None:
                self.joins.append((f.name, f.join))
            if f.children is not None and f.is_grouping:
                self.grouping.append(f)


def written_fields(obj: CompiledObject, record: Any) -> Iterator[tuple[CompiledField, Any]]:
    """The fields an encoder writes for ``record``: present values, neither constants nor hook scratch fields."""
    for f in obj.fields:
        if f.has_const or f.name.startswith("_"):
            continue
        value = getattr(record, f.name, None)
        if value is not None:
            yield f, value


def finish_object(out: dict[str, Any], obj: CompiledObject) -> dict[str, Any]:
    """Resolve joins, apply constants, defaults and required checks to one object, in place.

    ``first_of`` fallbacks are resolved by the XML decoder before this (the only format that has them): it reads
    a fallback path only when the fields before it gave no value.
    """
    for name, sep in obj.joins:
        if name in out:
            out[name] = sep.join(out[name])
    for name, value in obj.consts:
        out[name] = value
    for name, value in obj.defaults:
        if name not in out:
            out[name] = value
    for name, dotted in obj.required:
        if name not in out:
            raise FieldProblem(dotted, "required field is missing")
    return out


@dataclass
class CompiledMapping:
    """A loaded, checked mapping: the spec, the canonical type, the compiled record object and options."""

    spec: Any
    source: Path | None
    model: Any
    root: CompiledObject
    record_steps: tuple[Step, ...] = ()
    hook: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    xsd_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    version_xml: tuple[tuple[Step, ...], str | None] | None = None
    """XML: the compiled ``version`` path (steps from the record, attribute) of a change feed."""
    version_keys: tuple[str, ...] | None = None
    """JSON: the ``version`` key path of a change feed."""

    @property
    def name(self) -> str:
        return self.source.name if self.source else "<mapping>"
