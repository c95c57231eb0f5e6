"""What ``esb-bridge validate`` found beyond the schema: errors (the run would fail) and warnings, located.

A :class:`Finding` names the YAML path it concerns and, where known, the file and line (of the config, or of
a mapping the config names). Its ``message`` starts with the path, so a line of output stands on its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Finding"]


@dataclass(frozen=True)
class Finding:
    """One problem (``error``: validation fails) or ``warning`` (the run starts, probably not as meant)."""

    severity: Literal["error", "warning"]
    path: str
    message: str
    file: str | None = None
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        return f"{self.file}:{self.line}: {self.message}" if self.line is not None else f"{self.file}: {self.message}"

    def public(self) -> dict[str, Any]:
        """JSON-able form (``validate --json``)."""
        return asdict(self)
