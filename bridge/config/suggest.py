""" "Did you mean ...?" for an unknown config key or kind: the closest allowed name, if one is close enough.

:func:`fields_at` finds the model that holds a key inside a validated block by walking the pydantic models
along the key's path (through optional values, lists and mappings), so a typo three levels deep inside a
plugin block is compared with the names allowed exactly there.
"""

from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

__all__ = ["did_you_mean", "fields_at"]


def did_you_mean(name: str, allowed: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest allowed name, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _unwrap(annotation: Any) -> Any:
    """The annotation without ``None`` and ``Annotated``; a union of several types stays a union."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return annotation


def fields_at(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The field names allowed at ``path`` inside ``model`` (empty when the path leaves the models)."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if inspect.isclass(current) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
            continue
        origin, args = typing.get_origin(current), typing.get_args(current)
        if origin is dict and len(args) == 2:
            current = args[1]
        elif origin in (list, tuple) and args:
            current = args[0]
        else:
            return []
    current = _unwrap(current)
    if inspect.isclass(current) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
