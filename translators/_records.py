"""Shared last step of every decoder and projection: hook, validation, and errors with their location."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, ValidationError

from bridge.ports import DecodedRecord, EncodeError, Location, RecordInvalid
from translators.mapping.compiled import CompiledMapping, FieldProblem

__all__ = [
    "OBSERVED",
    "STRICT",
    "build_record",
    "decoded",
    "dotted_loc",
    "encode_errors",
    "location",
    "problem_error",
    "record_context",
]

_EMPTY_LOCATION = Location().__dict__


def location(file: str | None, line: int | None, *, xpath: str | None = None, record: int | None = None) -> Location:
    """A :class:`Location` built without the frozen dataclass's per-field ``__setattr__`` (decoder hot path).

    Equal and hashing alike to ``Location(file=..., line=..., ...)``; decoders build one per record, and at
    hundreds of thousands of records the regular constructor is a measurable share of the decode time.
    """
    loc = object.__new__(Location)
    values = loc.__dict__
    values.update(_EMPTY_LOCATION)
    values["file"], values["line"], values["xpath"], values["record"] = file, line, xpath, record
    return loc


def decoded(ordinal: int, record: Any, where: Location, version: str | None = None) -> DecodedRecord:
    """A :class:`DecodedRecord` built the same fast way as :func:`location`."""
    item = object.__new__(DecodedRecord)
    item.__dict__.update(ordinal=ordinal, record=record, location=where, version=version)
    return item


#: No context means strict to the canonical models, and skips their per-object context checks (hot path).
STRICT: dict[str, str] | None = None
OBSERVED: dict[str, str] | None = {"mode": "observed"}


def record_context(mapping: CompiledMapping, mode: dict[str, str] | None) -> dict[str, Any] | None:
    """The validation context of a decoder: its mode plus the mapping's opt-in ``checks`` (None: strict, fast)."""
    if not mapping.spec.checks:
        return mode
    return {**(mode or {}), "checks": tuple(mapping.spec.checks)}


def dotted_loc(loc: tuple[int | str, ...]) -> str:
    """pydantic's ``('lines', 0, 'quantity')`` as ``lines[0].quantity``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def build_record(
    mapping: CompiledMapping, data: dict[str, Any], location: Location, context: dict[str, str] | None
) -> Any:
    """Run the mapping's hook and validate ``data`` as the canonical model; RecordInvalid says where."""
    try:
        if mapping.hook is not None:
            data = mapping.hook(data)
        model: type[BaseModel] = mapping.model
        # model_validate without its Python wrapper frame: this runs once per record
        return model.__pydantic_validator__.validate_python(data, context=context)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = dotted_loc(errors[0]["loc"]) if errors else None
        summary = "; ".join(f"{dotted_loc(e['loc']) or '<record>'}: {e['msg']}{_got(e)}" for e in errors[:10])
        raise RecordInvalid(
            f"record fails {mapping.spec.canonical} validation: {summary}",
            location=Location(field=first or None).merge(location),
            detail={
                "errors": [{"loc": dotted_loc(e["loc"]), "msg": e["msg"]} for e in errors],
                "rules": [rule for e in errors for rule in (e.get("ctx") or {}).get("rules", ())],
            },
        ) from exc
    except FieldProblem as exc:
        raise problem_error(exc, location) from exc


def _got(error: Any) -> str:
    """`` (got '2,602.50')``: the raw text a type error was given, so the message shows what was wrong."""
    value = error.get("input")
    if error.get("type") == "missing" or not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = repr(value)
    return f" (got {text if len(text) <= 80 else text[:77] + '...'})"


def problem_error(problem: FieldProblem, location: Location) -> RecordInvalid:
    """A conversion problem of one field as the dead-letter error of its record."""
    return RecordInvalid(
        f"field {problem.field}: {problem.message}", location=Location(field=problem.field).merge(location)
    )


@contextmanager
def encode_errors(what: str) -> Iterator[None]:
    """Translate a field that cannot be rendered into ``EncodeError`` naming the field."""
    try:
        yield
    except FieldProblem as exc:
        raise EncodeError(
            f"cannot render field {exc.field}: {exc.message}", location=Location(field=exc.field)
        ) from exc
    except ValueError as exc:
        raise EncodeError(f"cannot render record as {what}: {exc}") from exc
