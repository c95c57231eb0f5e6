"""Canonical record -> XML through a mapping read in reverse (kind ``xml``; also what a SOAP sink receives).

Each mapped path is created under the record element, sharing parents between fields (``cac:A/cbc:X`` and
``cac:A/cbc:Y`` land in one ``cac:A``); list items get a fresh last element each. Fields are written in the
mapping's order, so a mapping listed in schema order writes schema-ordered XML; with an XSD the output is
validated and a violation raises ``ContractViolation``. Constants are not written (they are implied by the
document type); ``_scratch`` fields that only feed a hook cannot be reversed and are skipped. What a schema
requires and the model does not carry is the mapping's ``write_fixed`` (appended last to each element).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from bridge.ports import ContractViolation, EncodeContext, Encoded
from bridge.safexml import safe_parser
from translators._records import encode_errors
from translators.mapping.compiled import (
    CompiledField,
    CompiledMapping,
    CompiledObject,
    FieldProblem,
    Step,
    written_fields,
)

__all__ = ["XmlEncoder", "render_element"]


def _matches(element: Any, step: Step) -> bool:
    return bool(element.tag == step.tag and step.matches(element))


def _create(parent: Any, step: Step) -> Any:
    element = etree.SubElement(parent, step.tag)
    if step.pred_value is not None:
        if step.pred_attr is not None:
            element.set(step.pred_attr, step.pred_value)
        elif step.pred_child is not None:
            etree.SubElement(element, step.pred_child).text = step.pred_value
    return element


def _descend(parent: Any, steps: tuple[Step, ...], fresh_last: bool) -> Any:
    element = parent
    last = len(steps) - 1
    for i, step in enumerate(steps):
        found = None
        if not (fresh_last and i == last):
            for child in element:
                if _matches(child, step):
                    found = child
        element = found if found is not None else _create(element, step)
    return element


class _Writer:
    def __init__(self, root_record: Any) -> None:
        self.root_record = root_record

    def attrs(self, element: Any, f: CompiledField) -> None:
        for name, ref in f.attrs.items():
            value = getattr(self.root_record, ref[1:], None) if ref.startswith("$") else ref
            if value is not None:
                element.set(name, str(value))

    def put(
        self, parent: Any, f: CompiledField, steps: tuple[Step, ...], attr: str | None, value: Any, fresh: bool
    ) -> None:
        text = f.text(value)
        element = _descend(parent, steps, fresh and attr is None) if steps else parent
        if attr is not None:
            element.set(attr, text)
        else:
            element.text = text
            self.attrs(element, f)

    def write(self, parent: Any, obj: CompiledObject, record: Any) -> None:
        for f, value in written_fields(obj, record):
            try:
                self.field(parent, f, value)
            except ValueError as exc:
                raise FieldProblem(f.name, str(exc)) from exc

    def field(self, parent: Any, f: CompiledField, value: Any) -> None:
        if f.children is not None:
            if f.is_grouping:
                self.write(parent, f.children, value)
            elif f.many:
                for item in value:
                    self.write(_descend(parent, f.steps or (), True), f.children, item)
            else:
                self.write(_descend(parent, f.steps or (), False), f.children, value)
        elif f.join is not None:
            items = [part for part in str(value).split(f.join) if part]
            if f.alt_paths:
                for (steps, attr), item in zip(f.alt_paths, items, strict=False):
                    self.put(parent, f, steps, attr, item, False)
            else:
                for item in items:
                    self.put(parent, f, f.steps or (), f.attr, item, True)
        elif f.alt_paths:
            if len(value) > len(f.alt_paths):
                raise ValueError(f"{len(value)} values but only {len(f.alt_paths)} paths")
            for (steps, attr), item in zip(f.alt_paths, value, strict=False):
                self.put(parent, f, steps, attr, item, False)
        elif f.is_text_list:
            for item in value:
                self.put(parent, f, f.steps or (), f.attr, item, True)
        else:
            self.put(parent, f, f.steps or (), f.attr, value, False)


def render_element(mapping: CompiledMapping, record: Any) -> Any:
    """The document element for ``record`` (the outermost step of the mapping's record path)."""
    steps = mapping.record_steps
    record_ns = etree.QName(steps[-1].tag).namespace
    nsmap: dict[str | None, str] = {p: u for p, u in mapping.spec.namespaces.items() if u != record_ns}
    if record_ns:
        nsmap[None] = record_ns
    root = etree.Element(steps[0].tag, nsmap=nsmap)  # type: ignore[arg-type]
    element = _descend(root, steps[1:], True) if len(steps) > 1 else root
    with encode_errors("XML"):
        _Writer(record).write(element, mapping.root, record)
    for at, children in mapping.extra.get("write_fixed", ()):
        for target in _found(element, at):
            for steps, text in children:
                _descend(target, steps, True).text = text
    return root


def _found(element: Any, steps: tuple[Step, ...]) -> list[Any]:
    """Every element the encoder wrote below ``element`` whose path ends with ``steps`` (at any depth: a
    sub-line's tax category too)."""
    found = []
    for candidate in element.iter(steps[-1].tag):
        node = candidate
        for step in reversed(steps):
            if node is None or node is element or not _matches(node, step):
                break
            node = node.getparent()
        else:
            found.append(candidate)
    return found


class XmlEncoder:
    """Encoder kind ``xml`` (implements ``bridge.ports.Encoder``)."""

    def __init__(self, mapping: CompiledMapping, *, pretty: bool = False, validate: bool = True) -> None:
        if mapping.spec.format != "xml":
            raise ValueError(f"XmlEncoder needs an XML mapping, {mapping.name} is {mapping.spec.format}")
        self.mapping = mapping
        self.pretty = pretty
        self.validate = validate
        self._schema: etree.XMLSchema | None = None

    def render(self, record: Any) -> bytes:
        """The XML document bytes for ``record`` (validated against the mapping's XSD when it has one)."""
        root = render_element(self.mapping, record)
        if self.validate and self.mapping.xsd_path is not None:
            if self._schema is None:
                self._schema = etree.XMLSchema(etree.parse(str(self.mapping.xsd_path), safe_parser()))
            if not self._schema.validate(root):
                log: Any = self._schema.error_log
                raise ContractViolation(f"rendered XML breaks {self.mapping.xsd_path.name}: {log.last_error.message}")
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=self.pretty))

    def encode(self, record: Any, context: EncodeContext) -> Encoded:
        """Render ``record``; the suggested file name is derived from the message id (idempotent drops)."""
        return Encoded(self.render(record), "application/xml", name=f"{context.message_id}.xml")
