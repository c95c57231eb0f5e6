"""The mapping spec as written in YAML: pydantic models, nothing compiled yet.

One file maps one source format to one canonical type. A field says where its value comes from (an XML path
relative to the record, a CSV column with aliases, a JSON key path, a fixed-width slice), how it is converted
(decimal separators, implied decimals, date formats with an explicit source time zone, booleans, trimming),
and what happens when it is missing (default, required, constant). Code tables map legacy codes to canonical
ones; a hook (``module:function``) says what a declarative rule cannot. The same spec read in reverse drives
the encoders and projections.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CodeTableSpec",
    "ConvertSpec",
    "CsvOptions",
    "FieldSpec",
    "FixedWidthOptions",
    "GroupSpec",
    "MappingSpec",
    "RecordTypeSpec",
]

_HOOK = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConvertSpec(_Spec):
    """How a text value becomes a typed value (and back, for encoders)."""

    type: Literal["str", "decimal", "int", "date", "datetime", "bool"] = "str"
    trim: bool = True
    decimal_sep: Annotated[str, Field(min_length=1, max_length=1)] = "."
    thousands: Annotated[str, Field(min_length=1, max_length=1)] | None = None
    implied_decimals: Annotated[int, Field(ge=0, le=12)] = 0
    negate: bool = False
    """Flip the sign (a legacy system that writes credit amounts negative)."""
    format: str | None = None
    """``strptime`` format for dates/datetimes; ISO 8601 when absent."""
    tz: str | None = None
    """IANA zone of the source's local times: required for a datetime written without an offset."""
    true_values: tuple[str, ...] = ("true", "1", "yes", "y", "x", "j", "t")
    false_values: tuple[str, ...] = ("false", "0", "no", "n", "f", "")


class FieldSpec(_Spec):
    """One canonical field: where it comes from, how it converts, and what happens when it is absent."""

    path: str | None = None
    """XML: element path relative to the record (``cac:Party/cbc:Name``, ``E1EDK03[IDDAT='012']/DATUM``,
    ``cbc:Amount/@currencyID``); JSON: dotted key path; CSV: the column (same as ``column``)."""
    paths: tuple[str, ...] | None = None
    """Several paths whose present values form a list (address lines)."""
    first_of: tuple[str, ...] | None = None
    """XML: fallback paths for one value, tried in the order given; the first that has a value wins (the
    currency from ``cbc:DocumentCurrencyCode``, else from ``cbc:PayableAmount/@currencyID``)."""
    recursive: bool = False
    """XML, with ``many: true``: a list of objects shaped like the object this field belongs to, nested to any
    depth (XRechnung ``cac:SubInvoiceLine`` inside a line, and inside a sub-line)."""
    join: str | None = None
    """XML: the present values of ``many`` or ``paths`` joined with this separator into one text (all the
    ``cbc:Note`` elements into one note); an encoder splits the text on it again."""
    column: str | None = None
    """CSV column header; ``aliases`` are other headers that mean the same."""
    aliases: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    """CSV: several columns whose non-empty values form a list."""
    start: Annotated[int, Field(ge=1)] | None = None
    """Fixed width: 1-based first character."""
    length: Annotated[int, Field(ge=1)] | None = None
    convert: ConvertSpec = ConvertSpec()
    code_table: str | None = None
    default: Any = None
    required: bool = False
    const: Any = None
    many: bool = False
    fields: dict[str, FieldSpec] | None = None
    present_if: str | None = None
    """For a nested object read from the parent's own line/row: build it only when this child field has a value
    (a payment line's allocation exists only when it names an invoice)."""
    function: Annotated[str, Field(pattern=_HOOK)] | None = None
    """``module:function`` applied to the trimmed text instead of the declarative converter."""
    attrs: dict[str, str] = {}
    """Encoder only (XML): attributes to write on this element; ``$field`` takes a root field's value."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("convert", mode="before")
    @classmethod
    def _shorthand_convert(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value


class CodeTableSpec(_Spec):
    """Legacy code -> canonical code; inline ``values`` or a two-column CSV ``file`` (relative to the mapping)."""

    values: dict[str, str] | None = None
    file: str | None = None
    passthrough: bool = False
    """Accept a code missing from the table unchanged (default: an unknown code is an error naming it)."""


class GroupSpec(_Spec):
    """CSV multi-row grouping: consecutive rows with equal ``key`` columns, or header/line record types."""

    key: tuple[str, ...] | None = None
    type_column: Annotated[int, Field(ge=0)] | None = None
    """Record-type mode: 0-based column holding the row type; each type has its own ``layouts`` entry."""
    header: str | None = None
    line: str | None = None
    lines_field: str = "lines"
    """The canonical list each line row appends to."""
    layouts: dict[str, tuple[str, ...]] | None = None
    """Record-type mode: the column names of each row type, in order (files without a header row)."""


class CsvOptions(_Spec):
    """Dialect and encoding of a CSV source or target."""

    delimiter: str | Literal["sniff"] = ","
    quotechar: str = '"'
    encoding: Literal["utf-8", "utf-8-sig", "cp1252", "latin-1"] = "utf-8"
    skip_lines: Annotated[int, Field(ge=0)] = 0
    """Preamble lines before the header (report titles, export dates)."""
    header: bool = True
    group: GroupSpec | None = None
    line_terminator: str = "\r\n"


class RecordTypeSpec(_Spec):
    """A fixed-width record type: its role and its fields (positions are 1-based)."""

    role: Literal["header", "detail", "trailer"]
    fields: dict[str, FieldSpec] = {}


class FixedWidthOptions(_Spec):
    """Fixed-width layout: a discriminator slice picks the record type; trailer totals are checked."""

    encoding: Literal["utf-8", "cp1252", "latin-1", "ascii"] = "latin-1"
    type_start: Annotated[int, Field(ge=1)] = 1
    type_length: Annotated[int, Field(ge=1)] = 1
    types: dict[str, RecordTypeSpec]
    count_field: str | None = None
    """Trailer field holding the number of detail records."""
    sum_fields: dict[str, str] = {}
    """Trailer field -> detail field whose sum it must equal."""


class SchematronSpec(_Spec):
    """Schematron rule files (compiled to XSLT 2.0) each decoded XML record is also checked with."""

    files: Annotated[tuple[str, ...], Field(min_length=1)]
    """XSLT 2.0 files, relative to the mapping (the official EN 16931 / XRechnung artefacts, or your own)."""
    severity: Literal["error", "note"] = "error"
    """``error``: a failed assertion fails the record; ``note``: it is added to the record's notes."""


class MappingSpec(_Spec):
    """A whole mapping file."""

    canonical: str
    format: Literal["xml", "csv", "json", "fixed_width"]
    description: str = ""
    namespaces: dict[str, str] = {}
    record: str | None = None
    """XML: path of the record element (``/inv:Invoice``, ``/ORDERS05/IDOC``), matched against the end of an
    element's path from the root, so a wrapper around the records (a batch of UBL invoices) is allowed; an
    element of the same name elsewhere, or inside a record, is not a record. JSON: dotted path of the record
    list (empty: the body is one record)."""
    version: str | None = None
    """Change feeds: where each record declares its change version (a feed version, sequence or change
    timestamp), relative to the record: XML an element path (``changeVersion``, ``@version``), JSON a dotted key
    path (``version``). The decoder hands it on as the record's version, and the record's identity becomes
    business key + version, so a revert A -> B -> A is a third message (docs/architecture.md, identity rule)."""
    xsd: str | None = None
    allow_empty: bool = False
    """XML: a file with no record at the record path is normal for this feed (default: the file fails, naming
    its root element and the expected one, so a wrong file or mapping is never archived silently)."""
    refuse_roots: dict[str, str] = {}
    """XML: root element (prefixed name) -> why a document with that root is refused (a known neighbour format
    this mapping does not read, such as ZUGFeRD 1.0 beside CII): the file fails with that reason."""
    write_fixed: dict[str, dict[str, str]] = {}
    """XML encoders only: content the target schema requires and the canonical model does not carry (UBL's
    ``cac:TaxScheme/cbc:ID`` = ``VAT``): element path -> {child path: text}, appended as the last children of
    every element the encoder wrote whose path ends with it, at any depth. Decoders ignore it."""
    checks: tuple[Literal["line_net", "credit_note_positive"], ...] = ()
    """Opt-in canonical checks stricter than the standard (``line_net``: Peppol's line net = quantity x price;
    ``credit_note_positive``: a credit note's amounts are not negative)."""
    schematron: SchematronSpec | None = None
    """XML: Schematron artefacts compiled to XSLT 2.0, run on each record (see translators.schematron)."""
    csv: CsvOptions | None = None
    fixed_width: FixedWidthOptions | None = None
    code_tables: dict[str, CodeTableSpec] = {}
    hook: Annotated[str, Field(pattern=_HOOK)] | None = None
    """``module:function(data: dict) -> dict`` run on each record's data before validation."""
    fields: dict[str, FieldSpec] = {}
