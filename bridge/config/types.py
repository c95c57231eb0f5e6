"""Value types of the config schema shared by its sections: durations and cutover modes.

Kept apart from :mod:`bridge.config.model` so the cutover and compare sections (their own modules) and the
interface model can all use them without importing each other in a circle.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["DURATION_SCHEMA", "MODES", "Duration", "Mode", "parse_duration", "rank"]

_DUR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``30s``/``5m``/``1h``/``1d``/``500ms`` or a plain number."""
    if isinstance(value, bool):
        raise ValueError("a duration, e.g. 30s, 5m, 1h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    m = _DUR.match(str(value))
    if not m:
        raise ValueError("expected a duration such as 30s, 5m, 1h or 1d")
    return float(m.group(1)) * _UNIT[m.group(2)]


#: How a duration looks in the config's JSON Schema: seconds, or a number with a unit.
DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DUR.pattern}],
    "description": "a duration: 500ms, 30s, 5m, 2h, 1d or a number of seconds",
}
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(DURATION_SCHEMA)]
Mode = Literal["legacy_only", "legacy_primary", "dual_write", "cloud_primary", "cloud_only"]
#: The cutover modes in order from legacy to cloud.
MODES: tuple[str, ...] = get_args(Mode)


def rank(mode: str) -> int:
    """Position of a mode on the way from legacy to cloud (a move up is a promotion)."""
    return MODES.index(mode)
