"""Dotted-path globs for rules: ``lines.*.tax`` (``*`` = one segment), ``**.iban`` (``**`` = any depth).

A path is the dotted walk from the document root; a list element's segment is its key value (keyed lists)
or its index. Matching is cached per concrete path, since the same paths recur in every pair.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["PathMatcher", "escape_segment"]


def escape_segment(value: object) -> str:
    """A key value as one path segment (dots would split it)."""
    return str(value).replace("%", "%25").replace(".", "%2E")


def _compile(glob: str) -> re.Pattern[str]:
    parts = []
    for seg in glob.split("."):
        if seg == "**":
            parts.append(r"(?:[^.]+(?:\.[^.]+)*)?")
        else:
            parts.append(re.escape(seg).replace(r"\*", r"[^.]*"))
    pattern = r"\.".join(parts).replace(r"(?:[^.]+(?:\.[^.]+)*)?\.", r"(?:[^.]+\.)*")
    return re.compile(pattern + r"\Z")


class PathMatcher:
    """The first glob (in declaration order) matching a path, with a per-path cache."""

    def __init__(self, globs: Iterable[str]) -> None:
        self.globs = list(globs)
        self._compiled = [(g, _compile(g)) for g in self.globs]
        self._cache: dict[str, str | None] = {}

    def __bool__(self) -> bool:
        return bool(self.globs)

    def match(self, path: str) -> str | None:
        try:
            return self._cache[path]
        except KeyError:
            pass
        found = next((g for g, rx in self._compiled if rx.match(path)), None)
        if len(self._cache) < 100_000:
            self._cache[path] = found
        return found

    def match_prefix(self, path: str) -> str | None:
        """A glob matching the path or any of its ancestors (a sensitive subtree masks everything below)."""
        parts = path.split(".")
        for i in range(len(parts), 0, -1):
            hit = self.match(".".join(parts[:i]))
            if hit is not None:
                return hit
        return None
