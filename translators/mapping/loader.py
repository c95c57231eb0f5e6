"""Load a mapping file: YAML with line numbers kept for every error, then checks and compilation.

All problems are collected and raised together as one :class:`~bridge.ports.ConfigError` whose problems name
the YAML path and line. ``check`` is what ``esb-bridge mapping check`` runs: a mapping is valid without data.
"""

from __future__ import annotations

import csv
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bridge.canonical import model_for
from bridge.ports import ConfigError, ConfigProblem
from translators.mapping.compiled import CompiledField, CompiledMapping, CompiledObject, Step
from translators.mapping.converters import forward, load_hook, reverse, zone
from translators.mapping.spec import FieldSpec, MappingSpec

__all__ = ["compile_spec", "load_mapping", "parse_xml_path"]

_Lines = dict[tuple[str | int, ...], int]
_NAME = r"(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*"
_STEP = re.compile(rf"^({_NAME})(?:\[\s*(@?{_NAME})\s*=\s*'([^']*)'\s*\])?$")


def _construct(node: yaml.Node, path: tuple[str | int, ...], lines: _Lines) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _construct(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def _line(lines: _Lines, loc: tuple[str | int, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def load_mapping(path: str | Path) -> CompiledMapping:
    """Read, validate and compile the mapping at ``path``; ConfigError lists every problem with its line."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read mapping {source}: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = ConfigProblem("", str(exc), str(source), mark.line + 1 if mark else None)
        raise ConfigError(f"mapping {source} is not valid YAML", [problem]) from exc
    lines: _Lines = {}
    data = _construct(node, (), lines) if node is not None else {}
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        problems = [
            ConfigProblem(".".join(str(p) for p in err["loc"]), err["msg"], str(source), _line(lines, err["loc"]))
            for err in exc.errors()
        ]
        raise ConfigError(f"mapping {source} is invalid", problems) from exc
    return compile_spec(spec, source=source, lines=lines)


def parse_xml_path(text: str, namespaces: dict[str, str]) -> tuple[tuple[Step, ...], str | None]:
    """``a:B/c:D[c:E='x']/@attr`` -> (steps, attribute) in Clark notation; ValueError when malformed."""

    def clark(name: str) -> str:
        prefix, sep, local = name.rpartition(":")
        if not sep:
            return local
        if prefix not in namespaces:
            raise ValueError(f"namespace prefix {prefix!r} is not declared in 'namespaces'")
        return f"{{{namespaces[prefix]}}}{local}"

    parts = [p for p in re.split(r"/(?![^\[]*\])", text.strip().lstrip("/")) if p not in ("", ".")]
    attr: str | None = None
    if parts and parts[-1].startswith("@"):
        attr = clark(parts.pop()[1:])
    steps: list[Step] = []
    for part in parts:
        match = _STEP.match(part.strip())
        if match is None:
            raise ValueError(f"path step {part!r} is not NAME, NAME[child='v'] or NAME[@attr='v']")
        name, pred, value = match.groups()
        if pred is None:
            steps.append(Step(clark(name)))
        elif pred.startswith("@"):
            steps.append(Step(clark(name), pred_attr=clark(pred[1:]), pred_value=value))
        else:
            steps.append(Step(clark(name), pred_child=clark(pred), pred_value=value))
    return tuple(steps), attr


def _submodel(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _submodel(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


class _Compiler:
    def __init__(self, spec: MappingSpec, source: Path | None, lines: _Lines) -> None:
        self.spec, self.source, self.lines = spec, source, lines
        self.problems: list[ConfigProblem] = []
        self.tables: dict[str, dict[str, str]] = {}

    def problem(self, loc: tuple[str | int, ...], message: str) -> None:
        file = str(self.source) if self.source else None
        self.problems.append(ConfigProblem(".".join(str(p) for p in loc), message, file, _line(self.lines, loc)))

    def base(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def load_tables(self) -> None:
        for name, table in self.spec.code_tables.items():
            loc = ("code_tables", name)
            values: dict[str, str] = {}
            if table.file:
                try:
                    with (self.base() / table.file).open(newline="", encoding="utf-8") as fh:
                        for row in csv.reader(fh):
                            if len(row) >= 2 and not row[0].startswith("#"):
                                values[row[0].strip()] = row[1].strip()
                except OSError as exc:
                    self.problem(loc, f"cannot read code table file: {exc}")
            values.update(table.values or {})
            if not values:
                self.problem(loc, "code table is empty (give 'values' or 'file')")
            self.tables[name] = values

    def obj(
        self, fields: dict[str, FieldSpec], model: type[BaseModel] | None, loc: tuple[str | int, ...]
    ) -> CompiledObject:
        compiled = []
        for name, fspec in fields.items():
            floc = (*loc, "fields", name)
            info = model.model_fields.get(name) if model is not None else None
            if model is not None and info is None and not (name.startswith("_") and self.spec.hook):
                # a `_` scratch field only feeds the mapping's hook, which must consume it
                self.problem(floc, f"{model.__name__} has no field {name!r}")
            compiled.append(self.field(name, fspec, info.annotation if info else None, floc, name))
        out = CompiledObject(compiled)
        for cf, (name, fspec) in zip(compiled, fields.items(), strict=True):
            if fspec.recursive:
                self.recursive(cf, fspec, model, out, (*loc, "fields", name))
        return out

    def recursive(
        self,
        cf: CompiledField,
        fs: FieldSpec,
        model: type[BaseModel] | None,
        owner: CompiledObject,
        loc: tuple[str | int, ...],
    ) -> None:
        """A ``recursive`` list: its items are read with the fields of the object the field belongs to (so their
        model must have each of those fields: an invoice line's sub-lines)."""
        problem = None
        if self.spec.format != "xml":
            problem = f"'recursive' is supported in XML mappings only, not {self.spec.format}"
        elif not fs.many or fs.path is None or fs.fields is not None:
            problem = "recursive needs many: true and a path, and takes no fields"
        elif model is not None and (info := model.model_fields.get(cf.name)) is not None:
            item = _submodel(info.annotation)
            missing = sorted({f.name for f in owner.fields} - set(item.model_fields)) if item else []
            if item is None or not _is_list(info.annotation):
                problem = f"{cf.name!r} is not a list of objects in the canonical model"
            elif missing:
                problem = f"{cf.name!r} items ({item.__name__}) have no field {', '.join(map(repr, missing))}"
        if problem is not None:
            self.problem((*loc, "recursive"), problem)
        else:
            cf.children, cf.is_text_list = owner, False

    def field(
        self, name: str, fs: FieldSpec, annotation: Any, loc: tuple[str | int, ...], dotted: str
    ) -> CompiledField:
        fmt = self.spec.format
        cf = CompiledField(
            name=name, dotted=dotted, trim=fs.convert.trim, kind=fs.convert.type, required=fs.required, many=fs.many
        )
        cf.attrs = dict(fs.attrs)
        cf.present_if = fs.present_if
        if fs.present_if is not None and fs.present_if not in (fs.fields or {}):
            self.problem((*loc, "present_if"), f"present_if names {fs.present_if!r}, which is not one of its fields")
        if "const" in fs.model_fields_set:
            cf.has_const, cf.const = True, fs.const
        if "default" in fs.model_fields_set:
            cf.has_default, cf.default = True, fs.default
        try:
            if fs.convert.tz:
                zone(fs.convert.tz)
            cf.conv, cf.rev = forward(fs.convert), reverse(fs.convert)
        except ValueError as exc:
            self.problem((*loc, "convert"), str(exc))
        if fs.function:
            try:
                cf.function = load_hook(fs.function, self.base())
            except ValueError as exc:
                self.problem((*loc, "function"), str(exc))
        if fs.code_table:
            table = self.tables.get(fs.code_table)
            if table is None:
                self.problem((*loc, "code_table"), f"unknown code table {fs.code_table!r}")
            else:
                cf.codes = table
                cf.rev_codes = {v: k for k, v in reversed(list(table.items()))}
                cf.passthrough = self.spec.code_tables[fs.code_table].passthrough
        self.source_of(cf, fs, fmt, loc)
        sub = _submodel(annotation) if annotation is not None else None
        if fs.first_of is not None or fs.join is not None:
            self.compose(cf, fs, annotation, loc)
        if fs.fields is not None:
            if annotation is not None and sub is None:
                self.problem((*loc, "fields"), f"{name!r} is not an object or list of objects in the canonical model")
            cf.children = self.obj(fs.fields, sub, loc)
        elif fs.many or fs.paths or fs.columns:
            cf.is_text_list = True
        if (
            annotation is not None
            and (fs.many or fs.paths or fs.columns)
            and fs.join is None
            and not _is_list(annotation)
        ):
            self.problem(loc, f"{name!r} is not a list in the canonical model but the mapping makes one")
        has_source = any(v is not None for v in (fs.path, fs.paths, fs.first_of, fs.column, fs.columns, fs.start))
        if not has_source and fs.fields is None and not cf.has_const and not cf.has_default:
            self.problem(loc, "field has no source: give a path/column, const, default or nested fields")
        return cf

    def compose(self, cf: CompiledField, fs: FieldSpec, annotation: Any, loc: tuple[str | int, ...]) -> None:
        """Check and compile ``first_of`` and ``join`` (XML mappings only, each on a single text value)."""
        if self.spec.format != "xml":
            key = "first_of" if fs.first_of is not None else "join"
            self.problem((*loc, key), f"{key!r} is supported in XML mappings only, not {self.spec.format}")
            return
        if fs.first_of is not None:
            if not fs.first_of:
                self.problem((*loc, "first_of"), "first_of needs at least one path")
            elif fs.path is not None or fs.paths or fs.fields is not None or fs.many or fs.join is not None:
                self.problem(
                    (*loc, "first_of"), "first_of replaces path: it takes neither path, paths, fields, many nor join"
                )
            else:
                try:
                    cf.first_of = tuple(parse_xml_path(p, self.spec.namespaces) for p in fs.first_of)
                    cf.steps, cf.attr = cf.first_of[0]
                except ValueError as exc:
                    self.problem((*loc, "first_of"), str(exc))
        if fs.join is not None:
            if not (fs.many or fs.paths) or fs.fields is not None:
                self.problem((*loc, "join"), "join needs a list of texts: give many: true or paths")
            elif annotation is not None and _is_list(annotation):
                self.problem((*loc, "join"), f"{cf.name!r} is a list in the canonical model: drop join")
            else:
                cf.join = fs.join

    def source_of(self, cf: CompiledField, fs: FieldSpec, fmt: str, loc: tuple[str | int, ...]) -> None:
        path = fs.path
        if fmt == "xml":
            try:
                if path is not None:
                    cf.steps, cf.attr = parse_xml_path(path, self.spec.namespaces)
                if fs.paths:
                    cf.alt_paths = tuple(parse_xml_path(p, self.spec.namespaces) for p in fs.paths)
            except ValueError as exc:
                self.problem((*loc, "path"), str(exc))
        elif fmt == "json":
            if path is not None:
                cf.keys = tuple(path.split("."))
        elif fmt == "csv":
            cf.column = fs.column or path
            cf.aliases = fs.aliases
            cf.columns = fs.columns or fs.paths or ()
        else:
            if (fs.start is None) != (fs.length is None):
                self.problem(loc, "a fixed-width field needs both start and length")
            cf.start, cf.length = fs.start, fs.length

    def run(self) -> CompiledMapping:
        spec = self.spec
        model = None
        try:
            model = model_for(spec.canonical)
        except KeyError as exc:
            self.problem(("canonical",), str(exc.args[0]))
        self.load_tables()
        hook = None
        if spec.hook:
            try:
                hook = load_hook(spec.hook, self.base())
            except ValueError as exc:
                self.problem(("hook",), str(exc))
        record_steps: tuple[Step, ...] = ()
        if spec.format == "xml":
            if not spec.record:
                self.problem(("record",), "an XML mapping needs 'record' (the record element's path)")
            else:
                try:
                    record_steps, attr = parse_xml_path(spec.record, spec.namespaces)
                    if attr or not record_steps or any(s.pred_value is not None for s in record_steps):
                        raise ValueError("'record' must be a plain element path such as /inv:Invoice")
                except ValueError as exc:
                    self.problem(("record",), str(exc))
        extra: dict[str, Any] = {}
        if spec.refuse_roots:
            refused: dict[str, str] = {}
            for name, why in spec.refuse_roots.items():
                try:
                    steps, attr = parse_xml_path(name, spec.namespaces)
                    if spec.format != "xml" or attr or len(steps) != 1 or steps[0].pred_value is not None:
                        raise ValueError(f"{name!r} is not an element name (XML mappings only)")
                    refused[steps[0].tag] = why
                except ValueError as exc:
                    self.problem(("refuse_roots", name), str(exc))
            extra["refuse_roots"] = refused
        if spec.write_fixed:
            fixed: list[tuple[tuple[Step, ...], list[tuple[tuple[Step, ...], str]]]] = []
            for where, children in spec.write_fixed.items():
                try:
                    if spec.format != "xml":
                        raise ValueError("write_fixed is for XML mappings only")
                    at, attr = parse_xml_path(where, spec.namespaces)
                    parsed = [(parse_xml_path(path, spec.namespaces), text) for path, text in children.items()]
                    if attr or not at or any(a for (_, a), _ in parsed) or not all(p for (p, _), _ in parsed):
                        raise ValueError("write_fixed takes element paths (no attributes)")
                    fixed.append((at, [(p, text) for (p, _), text in parsed]))
                except ValueError as exc:
                    self.problem(("write_fixed", where), str(exc))
            extra["write_fixed"] = fixed
        if spec.format == "csv" and spec.csv is None:
            self.problem(("csv",), "a CSV mapping needs a 'csv' block (delimiter, encoding, header...)")
        if spec.format == "fixed_width" and spec.fixed_width is None:
            self.problem(("fixed_width",), "a fixed-width mapping needs a 'fixed_width' block")
        root = self.obj(spec.fields, model, ())
        if spec.fixed_width is not None:
            extra["types"] = {
                code: self.obj(rt.fields, model if rt.role == "detail" else None, ("fixed_width", "types", code))
                for code, rt in spec.fixed_width.types.items()
            }
        version_xml, version_keys = self.version_path()
        xsd = self.base() / spec.xsd if spec.xsd else None
        if xsd is not None and not xsd.is_file():
            self.problem(("xsd",), f"XSD file {xsd} does not exist")
        if spec.schematron is not None:
            if spec.format != "xml":
                self.problem(("schematron",), "schematron applies to XML mappings only")
            for k, name in enumerate(spec.schematron.files):
                if not (self.base() / name).is_file():
                    self.problem(("schematron", "files", k), f"Schematron XSLT {self.base() / name} does not exist")
        if self.problems:
            raise ConfigError(f"mapping {self.source or '<inline>'} has {len(self.problems)} problem(s)", self.problems)
        return CompiledMapping(
            spec, self.source, model, root, record_steps, hook, xsd, extra, version_xml, version_keys
        )

    def version_path(self) -> tuple[tuple[tuple[Step, ...], str | None] | None, tuple[str, ...] | None]:
        """The compiled ``version`` locator: XML steps and attribute, or JSON keys (None: no version)."""
        spec = self.spec
        if spec.version is None:
            return None, None
        if spec.format == "json":
            keys = tuple(k for k in spec.version.split(".") if k)
            if not keys:
                self.problem(("version",), "'version' needs a dotted key path such as 'version'")
            return None, keys
        if spec.format != "xml":
            self.problem(("version",), "'version' is read by the XML and JSON decoders (change feeds) only")
            return None, None
        try:
            steps, attr = parse_xml_path(spec.version, spec.namespaces)
        except ValueError as exc:
            self.problem(("version",), str(exc))
            return None, None
        return (steps, attr), None


def compile_spec(spec: MappingSpec, *, source: Path | None = None, lines: _Lines | None = None) -> CompiledMapping:
    """Check ``spec`` against its canonical model and compile it; ConfigError lists every problem."""
    return _Compiler(spec, source, lines or {}).run()
