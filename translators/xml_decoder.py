"""XML -> canonical records: ``iterparse`` over the record element, driven by a declarative mapping.

Memory stays flat for any file size: each record element is cleared once mapped, and its already-processed
preceding siblings are removed from the tree. Namespaces are resolved by the mapping's own prefix map into
Clark notation, so a document's choice of prefixes never matters. Each record is read in one pass over its
elements (a trie of the mapping's paths), converted, and validated once as the canonical model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from bridge.ports import DecodedRecord, DecodeError, Envelope, Location, RecordFailure, RecordInvalid
from bridge.safexml import safe_iterparse, safe_parser
from translators._records import STRICT, build_record, decoded, location, problem_error, record_context
from translators._version import xml_version
from translators.mapping.compiled import (
    MISSING,
    CompiledField,
    CompiledMapping,
    CompiledObject,
    FieldProblem,
    Step,
    finish_object,
)
from translators.mapping.converters import sign_last_only
from translators.schematron import SchematronChecker, SchematronError

__all__ = ["XmlDecoder", "extract_element"]

_Action = Callable[[Any, dict[str, Any]], None]
Sources = tuple[tuple[tuple[Step, ...], str | None], ...]


@dataclass
class _Node:
    children: dict[str, list[tuple[Step, _Node]]] = field(default_factory=dict)
    actions: list[_Action] = field(default_factory=list)
    handlers: dict[str, _Action] = field(default_factory=dict)
    """Per child tag, one function doing that child's whole work (built by :meth:`finalize`)."""
    leaves: dict[str, tuple[str, Any, str, bool]] = field(default_factory=dict)
    """Per child tag that is a plain text leaf: (field name, converter or None, dotted path), run inline."""
    fallbacks: list[tuple[str, Callable[[str | None], Any], Sources]] = field(default_factory=list)
    """Of an object's root node: per ``first_of`` field, its name, value function and the sources after the
    first, read (by :func:`_fallback`) only when the walk found no value."""

    def child(self, step: Step) -> _Node:
        entries = self.children.setdefault(step.tag, [])
        for existing, node in entries:
            if existing == step:
                return node
        node = _Node()
        entries.append((step, node))
        return node

    def finalize(self) -> None:
        """Specialise one handler per tag: most elements are a plain leaf with exactly one action."""
        for tag, entries in self.children.items():
            for _, node in entries:
                node.finalize()
            leaf = _plain_leaf(entries)
            if leaf is not None:
                self.leaves[tag] = leaf
            else:
                self.handlers[tag] = _handler(entries)


def _plain_leaf(entries: list[tuple[Step, _Node]]) -> tuple[str, Any, str, bool] | None:
    if len(entries) != 1 or entries[0][0].pred_value is not None:
        return None
    node = entries[0][1]
    if node.children or len(node.actions) != 1:
        return None
    return getattr(node.actions[0], "leaf", None)


def _handler(entries: list[tuple[Step, _Node]]) -> _Action:
    if len(entries) == 1 and entries[0][0].pred_value is None:
        node = entries[0][1]
        actions = node.actions
        if not node.children and len(actions) == 1:
            return actions[0]

        def plain(child: Any, out: dict[str, Any]) -> None:
            for act in actions:
                act(child, out)
            if node.children:
                _walk(child, node, out)

        return plain

    def qualified(child: Any, out: dict[str, Any]) -> None:
        for step, sub in entries:
            if step.pred_value is not None and not step.matches(child):
                continue
            for act in sub.actions:
                act(child, out)
            if sub.children:
                _walk(child, sub, out)

    return qualified


def _scalar_action(f: CompiledField, attr: str | None) -> _Action:
    name, value = f.name, f.value
    if attr is None and f.trim and f.codes is None and f.function is None:
        # the common case, inlined: element text, trimmed, converted at most once
        conv, dotted = f.conv, f.dotted
        lazy = sign_last_only(conv)

        def fast(element: Any, out: dict[str, Any]) -> None:
            if name not in out:
                text = element.text
                if text is not None:
                    text = text.strip()
                    if text:
                        if conv is None or (lazy and text[-1] not in "+-"):
                            out[name] = text
                            return
                        try:
                            out[name] = conv(text)
                        except ValueError as exc:
                            raise FieldProblem(dotted, str(exc)) from None

        fast.leaf = (name, conv, dotted, lazy)  # type: ignore[attr-defined]
        return fast

    def act(element: Any, out: dict[str, Any]) -> None:
        if name not in out:
            v = value(element.text if attr is None else element.get(attr))
            if v is not MISSING:
                out[name] = v

    return act


def _list_action(f: CompiledField, attr: str | None) -> _Action:
    name, value = f.name, f.value

    def act(element: Any, out: dict[str, Any]) -> None:
        v = value(element.text if attr is None else element.get(attr))
        if v is not MISSING:
            out.setdefault(name, []).append(v)

    return act


def _object_action(f: CompiledField) -> _Action:
    name, children, gate = f.name, f.children, f.present_if
    assert children is not None
    node = _trie(children)
    if _walk_is_enough(children):
        # the common nested object (an address): one walk, then its constants and defaults
        finish = None if children.is_plain else children

        def plain_object(element: Any, out: dict[str, Any]) -> None:
            if name not in out:
                sub: dict[str, Any] = {}
                try:
                    _walk(element, node, sub)
                    if gate is None or gate in sub:
                        out[name] = sub if finish is None else finish_object(sub, finish)
                except FieldProblem as exc:
                    raise exc.nested(name) from None

        return plain_object

    def act(element: Any, out: dict[str, Any]) -> None:
        if name not in out:
            try:
                sub = extract_element(element, children)
                if gate is None or gate in sub:
                    out[name] = finish_object(sub, children)
            except FieldProblem as exc:
                raise exc.nested(name) from None

    return act


def _many_action(f: CompiledField) -> _Action:
    name, children, gate = f.name, f.children, f.present_if
    assert children is not None
    node = _trie(children)
    if gate is None and _walk_is_enough(children):
        # the common list item (an invoice line): one walk, then its constants and defaults
        finish = None if children.is_plain else children

        def plain_item(element: Any, out: dict[str, Any]) -> None:
            items = out.setdefault(name, [])
            sub: dict[str, Any] = {}
            try:
                _walk(element, node, sub)
                if finish is not None:
                    finish_object(sub, finish)
            except FieldProblem as exc:
                raise exc.nested(f"{name}[{len(items)}]") from None
            items.append(sub)

        return plain_item

    def act(element: Any, out: dict[str, Any]) -> None:
        items = out.setdefault(name, [])
        try:
            sub = extract_element(element, children)
            if gate is None or gate in sub:
                items.append(finish_object(sub, children))
        except FieldProblem as exc:
            raise exc.nested(f"{name}[{len(items)}]") from None

    return act


def _walk_is_enough(obj: CompiledObject) -> bool:
    """Whether walking an element's children reads every field of ``obj``: no field reads the element itself,
    none has ``first_of`` fallbacks, no grouping object reads the element again.

    Decided from the fields, not from the trie: the trie of a recursive object is still being built here.
    """
    if obj.grouping:
        return False
    return all(len(f.first_of) < 2 and all(steps for steps, _ in _sources(f)) for f in obj.fields)


def _sources(f: CompiledField) -> list[tuple[tuple[Step, ...], str | None]]:
    """The element paths the walk reads for ``f``: its path and ``paths``; of a ``first_of``, the first only.

    The other ``first_of`` sources are no part of the walk: a document that has the first one (the usual case)
    pays nothing for them; :func:`_fallback` reads them when it does not.
    """
    sources: list[tuple[tuple[Step, ...], str | None]] = list(f.alt_paths)
    if f.steps is not None:
        sources.append((f.steps, f.attr))
    return sources


def _fallback(element: Any, steps: tuple[Step, ...], attr: str | None, value: Callable[[str | None], Any]) -> Any:
    """The value of the first element at ``steps`` under ``element`` (document order) that has one, or MISSING.

    The same element the walk would pick for a plain path: depth first, in document order, empty texts skipped.
    """
    if not steps:
        return value(element.text if attr is None else element.get(attr))
    step, rest = steps[0], steps[1:]
    for child in element.iterchildren(step.tag):
        if step.pred_value is not None and not step.matches(child):
            continue
        found = _fallback(child, rest, attr, value)
        if found is not MISSING:
            return found
    return MISSING


def _trie(obj: CompiledObject) -> _Node:
    cached = obj.cache.get("xml")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    root = _Node()
    obj.cache["xml"] = root  # before the fields: a recursive list (sub-lines of a line) reads with this trie
    self_actions: list[_Action] = []
    for f in obj.fields:
        if len(f.first_of) > 1:
            root.fallbacks.append((f.name, f.value, f.first_of[1:]))
        for steps, attr in _sources(f):
            if f.children is not None:
                action = _many_action(f) if f.many else _object_action(f)
            elif f.is_text_list:
                action = _list_action(f, attr)
            else:
                action = _scalar_action(f, attr)
            if not steps:
                self_actions.append(action)
                continue
            node = root
            for step in steps:
                node = node.child(step)
            node.actions.append(action)
    root.actions = self_actions
    root.finalize()
    obj.cache["xml"] = root
    return root


def _walk(element: Any, node: _Node, out: dict[str, Any]) -> None:
    handlers, leaves = node.handlers, node.leaves
    for child in element:
        tag = child.tag
        leaf = leaves.get(tag)
        if leaf is not None:  # the hot path, inlined: a text leaf mapped to one field
            name, conv, dotted, lazy = leaf
            if name not in out:
                text = child.text
                if text is not None:
                    text = text.strip()
                    if text:
                        # a plain decimal's text goes to pydantic as it is unless it ends with a sign
                        if conv is None or (lazy and text[-1] not in "+-"):
                            out[name] = text
                        else:
                            try:
                                out[name] = conv(text)
                            except ValueError as exc:
                                raise FieldProblem(dotted, str(exc)) from None
            continue
        handler = handlers.get(tag)
        if handler is not None:
            handler(child, out)


def extract_element(element: Any, obj: CompiledObject) -> dict[str, Any]:
    """The raw converted values of ``obj``'s fields found under ``element`` (no defaults applied yet)."""
    node = _trie(obj)
    out: dict[str, Any] = {}
    for act in node.actions:
        act(element, out)
    _walk(element, node, out)
    for name, value, sources in node.fallbacks:
        if name not in out:
            for steps, attr in sources:
                found = _fallback(element, steps, attr, value)
                if found is not MISSING:
                    out[name] = found
                    break
    for g in obj.grouping:
        assert g.children is not None
        try:
            sub = extract_element(element, g.children)
            if sub:
                out[g.name] = finish_object(sub, g.children)
        except FieldProblem as exc:
            raise exc.nested(g.name) from None
    return out


#: Schematron flags that never fail a record (ISO Schematron leaves flags free; these are the usual soft ones).
_SOFT = frozenset({"warning", "information", "info"})


class XmlDecoder:
    """Decoder kind ``xml``: a streaming, mapping-driven XML decoder (implements ``bridge.ports.Decoder``)."""

    def __init__(
        self, mapping: CompiledMapping, *, mode: dict[str, str] | None = None, allow_empty: bool | None = None
    ) -> None:
        if mapping.spec.format != "xml":
            raise ValueError(f"XmlDecoder needs an XML mapping, {mapping.name} is {mapping.spec.format}")
        self.mapping = mapping
        self._context = record_context(mapping, mode if mode is not None else STRICT)
        self.allow_empty = mapping.spec.allow_empty if allow_empty is None else allow_empty
        self._schema: etree.XMLSchema | None = None
        self._record_tag = mapping.record_steps[-1].tag
        #: the record's ancestors' tags, nearest first, up to the document root
        self._ancestors = tuple(step.tag for step in reversed(mapping.record_steps[:-1]))
        self._xpath = mapping.spec.record or ""
        rules = mapping.spec.schematron
        base = mapping.source.parent if mapping.source else Path.cwd()
        self._schematron = SchematronChecker([base / f for f in rules.files]) if rules is not None else None
        self._schematron_errors = rules is not None and rules.severity == "error"

    def _ends_at_record_path(self, element: Any) -> bool:
        """True when the path from the root to ``element`` ends with the record path.

        A suffix, not the whole path: a wrapper above the records (a batch of UBL invoices) is allowed.
        """
        node = element.getparent()
        for tag in self._ancestors:
            if node is None or node.tag != tag:
                return False
            node = node.getparent()
        return True

    def _is_record(self, element: Any) -> bool:
        """True for an element at the record path that is not inside another record.

        ``iterparse`` filters by tag only: the same name nested in a record (a related product in a product) or
        elsewhere in the document (an archive section) must neither become a record nor be cleared out of the
        record that contains it.
        """
        if not self._ends_at_record_path(element):
            return False
        tag, node = self._record_tag, element.getparent()
        while node is not None:
            if node.tag == tag and self._ends_at_record_path(node):
                return False
            node = node.getparent()
        return True

    def _load_schema(self) -> etree.XMLSchema | None:
        if self.mapping.xsd_path is None:
            return None
        if self._schema is None:
            try:
                self._schema = etree.XMLSchema(etree.parse(str(self.mapping.xsd_path), safe_parser()))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                raise DecodeError(f"cannot load XSD {self.mapping.xsd_path}: {exc}") from exc
        return self._schema

    def decode(self, envelope: Envelope) -> Iterator[DecodedRecord | RecordFailure]:
        """Yield one DecodedRecord or RecordFailure per record element; raise DecodeError for the file."""
        schema = self._load_schema()
        origin = envelope.origin
        root_obj, mapping, context, xpath = self.mapping.root, self.mapping, self._context, self._xpath
        versioned, version_path = mapping.version_xml, mapping.spec.version or ""
        # Siblings share the answer of _is_record (it depends on the ancestors only). lxml hands out the same
        # proxy for a node while one is referenced, so holding the last parent makes `is` exact; it is dropped
        # with the generator's frame (a held proxy keeps the whole parsed document alive).
        last_parent: Any = None
        last_answer = False
        roots: list[str] = []
        with envelope.open() as stream:
            ordinal = -1
            for element in safe_iterparse(stream, tag=self._record_tag, origin=origin, root_tags=roots):
                parent = element.getparent()
                if parent is None or parent is not last_parent:
                    last_parent, last_answer = parent, self._is_record(element)
                if not last_answer:
                    continue  # part of a record (decoded with it) or outside the records
                ordinal += 1
                line: Any = element.sourceline
                where = location(origin, line, xpath=f"{xpath}[{ordinal + 1}]")
                try:
                    if schema is not None and not schema.validate(element):
                        error_log: Any = schema.error_log
                        error = error_log.last_error
                        raise RecordInvalid(
                            f"record is not valid against {mapping.xsd_path.name if mapping.xsd_path else 'XSD'}: "
                            f"{error.message if error else 'invalid'}",
                            location=Location(line=error.line if error else None).merge(where),
                        )
                    try:
                        data = finish_object(extract_element(element, root_obj), root_obj)
                        version = None if versioned is None else xml_version(element, versioned, version_path)
                    except FieldProblem as exc:
                        raise problem_error(exc, where) from None
                    record = build_record(mapping, data, where, context)
                    if self._schematron is not None:
                        record = self._check_schematron(element, record, where)
                    yield decoded(ordinal, record, where, version)
                except RecordInvalid as exc:
                    fragment = etree.tostring(element, encoding="unicode")
                    yield RecordFailure(ordinal, exc, fragment)
                element.clear()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
        if ordinal < 0 and not self.allow_empty:
            raise self._no_record(roots[0] if roots else None, origin)

    def _check_schematron(self, element: Any, record: Any, where: Location) -> Any:
        """Run the Schematron artefacts on the record element: fatal failures fail it (severity ``error``),
        the rest (warnings, reports, or everything with severity ``note``) join the record's notes."""
        assert self._schematron is not None
        try:
            found = self._schematron.check(etree.tostring(element, encoding="utf-8"))
        except SchematronError as exc:
            raise DecodeError(str(exc), location=where) from exc
        if not found:
            return record
        errors = [a for a in found if self._schematron_errors and a.kind == "failed-assert" and a.flag not in _SOFT]
        if errors:
            raise RecordInvalid(
                f"record fails Schematron: {'; '.join(a.message() for a in errors)}",
                location=where,
                detail={
                    "rules": [a.rule for a in errors if a.rule],
                    "schematron": [
                        {"id": a.rule, "flag": a.flag, "location": a.location, "text": a.text} for a in found
                    ],
                },
            )
        fresh = tuple(m for m in (a.message() for a in found) if m not in record.notes)
        return record.model_copy(update={"notes": record.notes + fresh})

    def _no_record(self, root: str | None, origin: str | None) -> DecodeError:
        """The error of a file without records: a wrong document or mapping must not pass as an empty batch."""
        steps = self.mapping.record_steps
        where = Location(file=origin, xpath=self._xpath)
        refused = self.mapping.extra.get("refuse_roots", {})
        if root in refused:
            return DecodeError(
                f"{origin} is refused by mapping {self.mapping.name}: {refused[root]} (root element {root})",
                location=where,
            )
        if root not in {step.tag for step in steps}:
            return DecodeError(
                f"no record in {origin}: root element {root}, expected {steps[0].tag} (record path {self._xpath} "
                f"of mapping {self.mapping.name}; set allow_empty for a feed whose files may hold no record)",
                location=where,
            )
        return DecodeError(
            f"no record in {origin}: root element {root} holds no element at record path {self._xpath} "
            f"({self._record_tag}) of mapping {self.mapping.name}; set allow_empty for a feed whose files may hold "
            "no record",
            location=where,
        )
