"""Rules shared by every file drop (SFTP and local folder): configuration, readiness, names, shared drops.

A drop is a folder a legacy system writes files into. What makes a file *ready* (``stable``, ``done_file``,
``rename``), what happens to it afterwards (``move``, ``delete``, ``leave``) and which names are safe are the
same whatever the transport, so they live here once. This module does no I/O.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridge.ports import ConfigError, ConfigProblem, HostileInput, KindConfig, Location

__all__ = [
    "AfterConfig",
    "DropEntry",
    "DropSourceConfig",
    "ReadinessConfig",
    "ReadinessTracker",
    "dated_folder",
    "safe_name",
    "shared_drop_problem",
    "validate_shared_drop",
]


class ReadinessConfig(BaseModel):
    """When a file in a drop may be read.

    ``stable``: size and mtime unchanged across two listings and the file older than ``min_age`` seconds;
    ``done_file``: a trigger file ``<name><suffix>`` exists (it is removed together with the file);
    ``rename``: the producer writes under a temporary name and renames; names matching ``temp_patterns``
    are never read. Temporary names are ignored under every rule.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    rule: Literal["stable", "done_file", "rename"] = "stable"
    """When a file is ready: stable (unchanged across two listings), done_file (a trigger file exists) or rename
    (temporary names are skipped)."""
    min_age: float = Field(default=0.0, ge=0)
    """With rule stable: seconds a file must also be older than."""
    suffix: str | None = None
    """With rule done_file: the one trigger-file suffix (overrides done_suffixes)."""
    done_suffixes: tuple[str, ...] = (".done", ".ok")
    """With rule done_file: trigger-file suffixes looked for (<name><suffix>)."""
    temp_patterns: tuple[str, ...] = (".*", "*.tmp", "*.part", "*.filepart", "*.partial")
    """With rule rename: names that are still being written and are skipped."""

    @property
    def triggers(self) -> tuple[str, ...]:
        """The done-file suffixes in force (``suffix`` overrides the list)."""
        return (self.suffix,) if self.suffix else self.done_suffixes


class AfterConfig(BaseModel):
    """What happens to a file once every record of it is committed (``acknowledge``), or when it failed.

    ``move_to`` alone implies ``action: move``. Relative folders are relative to the drop's path. ``dated``
    files archived copies under ``YYYY/MM/DD``. Failed files go to ``error_to`` with a ``.error.json`` sidecar.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    action: Literal["move", "delete", "leave"] | None = None
    """What happens to a processed file: move (the default, into move_to), delete or leave."""
    move_to: str = "archive"
    """Archive folder for processed files (relative to the drop's path)."""
    dated: bool = False
    """Archive into move_to/YYYY/MM/DD."""
    error_to: str = "error"
    """Folder for files that failed as a whole (relative to the drop's path)."""

    @model_validator(mode="before")
    @classmethod
    def _move_to_implies_move(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and data.get("action") is None and data.get("move_to"):
            return {**data, "action": "move"}
        return data

    @property
    def effective_action(self) -> str:
        return self.action or "move"


def shared_drop_problem(shared: bool, after: Mapping[str, Any] | AfterConfig | None) -> str | None:
    """Why a drop's after-processing breaks coexistence, or ``None``.

    A drop the old ESB still consumes (``shared: true``) must be left in place: moving or deleting files
    would take them away from the old path during coexistence.
    """
    if not shared:
        return None
    if after is None:
        action = "move"
    elif isinstance(after, AfterConfig):
        action = after.effective_action
    else:
        action = after.get("action") or "move"
    if action != "leave":
        return f"a shared drop (shared: true) must use after: {{action: leave}}, not {action!r}"
    return None


def validate_shared_drop(config: Mapping[str, Any] | BaseModel, *, path: str = "source") -> None:
    """Raise :class:`ConfigError` when a drop declared ``shared: true`` would move or delete its files.

    Accepts the raw config block (a mapping, as ``esb-bridge validate`` reads it) or a config model.
    """
    if isinstance(config, BaseModel):
        shared = bool(getattr(config, "shared", False))
        after: Any = getattr(config, "after", None)
    else:
        shared = bool(config.get("shared", False))
        after = config.get("after")
    problem = shared_drop_problem(shared, after)
    if problem:
        raise ConfigError(problem, problems=[ConfigProblem(path=f"{path}.after", message=problem)])


class DropSourceConfig(KindConfig):
    """What every drop source (SFTP, folder) shares: which files, when ready, what afterwards."""

    path: str
    """Folder of the drop (relative paths start at the config file's folder for local drops)."""
    include: tuple[str, ...] = ("*",)
    """Glob patterns of the file names (or relative paths) read."""
    exclude: tuple[str, ...] = ()
    """Glob patterns of file names skipped."""
    regex: str | None = None
    """Regular expression a file's relative path must also match."""
    recursive: bool = False
    """Also read files in sub-folders."""
    max_files_per_poll: int = Field(default=100, ge=1)
    """Most files taken in one poll."""
    readiness: ReadinessConfig = ReadinessConfig()
    """When a listed file may be read."""
    after: AfterConfig = AfterConfig()
    """What happens to a file once processed or failed."""
    shared: bool = False
    """The old ESB still consumes this drop: files must be left in place (after: {action: leave})."""
    media_type: str | None = None
    """Media type given to the file's bytes (guessed from the name when unset)."""

    @model_validator(mode="after")
    def _shared_drop_leaves_files(self) -> DropSourceConfig:
        problem = shared_drop_problem(self.shared, self.after)
        if problem:
            raise ValueError(problem)
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from exc
        return self

    def folder(self, name: str) -> str:
        """An after-processing folder (archive, error) as an absolute path on the drop's file system."""
        return name if name.startswith("/") else posixpath.join(self.path, name)

    def selects(self, relative: str) -> bool:
        """Whether a file (path relative to the drop) matches include/exclude/regex."""
        base = posixpath.basename(relative)
        if not any(fnmatch.fnmatchcase(base, p) or fnmatch.fnmatchcase(relative, p) for p in self.include):
            return False
        if any(fnmatch.fnmatchcase(base, p) or fnmatch.fnmatchcase(relative, p) for p in self.exclude):
            return False
        return self.regex is None or re.search(self.regex, relative) is not None


@dataclass(frozen=True)
class DropEntry:
    """One file as a listing saw it. ``path`` is absolute on the drop's file system (POSIX separators)."""

    path: str
    size: int
    mtime: float

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def listing_key(self) -> str:
        """Path + size + mtime: what a listing alone can tell about a file (before it is read)."""
        return f"{self.path}|{self.size}|{self.mtime:.6f}"


_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


def safe_name(name: str, *, where: str = "") -> str:
    """A remote file name checked before it touches any path we build: no separators, ``..`` or controls."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or _FORBIDDEN.search(name):
        raise HostileInput(f"unsafe file name {name!r} in a drop listing", location=Location(file=where or name))
    return name


def dated_folder(base: str, when: datetime) -> str:
    """``base/YYYY/MM/DD`` for dated archives."""
    return posixpath.join(base, f"{when:%Y}", f"{when:%m}", f"{when:%d}")


class ReadinessTracker:
    """Decides which listed files are ready, remembering the previous listing for the ``stable`` rule.

    Memory is per process: after a restart a ``stable`` file simply waits one more listing.
    """

    def __init__(self, readiness: ReadinessConfig) -> None:
        self._rule = readiness
        self._seen: dict[str, tuple[int, float]] = {}

    def is_temporary(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in self._rule.temp_patterns)

    def is_trigger(self, name: str) -> bool:
        return self._rule.rule == "done_file" and any(name.endswith(s) for s in self._rule.triggers)

    def trigger_for(self, entry: DropEntry, names: set[str]) -> str | None:
        """The done file that releases ``entry``, if it is present in the same listing."""
        for suffix in self._rule.triggers:
            if entry.name + suffix in names:
                return posixpath.join(posixpath.dirname(entry.path), entry.name + suffix)
        return None

    def decide(
        self, entry: DropEntry, names: set[str], now: datetime, *, mtime_resolution: float = 0.0
    ) -> tuple[bool, str, str | None]:
        """``(ready, reason, trigger_path)`` for one file; ``names`` are the names in its folder.

        ``mtime_resolution`` is how coarse the listing's mtimes are (SFTP v3: whole seconds, truncated), so
        a file's age is never over-estimated and ``min_age`` really means "unchanged for at least that long".
        """
        previous = self._seen.get(entry.path)
        self._seen[entry.path] = (entry.size, entry.mtime)
        if self.is_temporary(entry.name):
            return False, "temporary name", None
        if self._rule.rule == "done_file":
            trigger = self.trigger_for(entry, names)
            if trigger is None:
                return False, f"no done file ({' or '.join(entry.name + s for s in self._rule.triggers)})", None
            return True, "done file present", trigger
        if self._rule.rule == "rename":
            return True, "final name", None
        age = now.timestamp() - entry.mtime - mtime_resolution
        if previous != (entry.size, entry.mtime):
            return False, "not yet seen unchanged across two listings", None
        if age < self._rule.min_age:
            return False, f"younger than min_age ({age:.1f}s < {self._rule.min_age}s)", None
        return True, "stable", None

    def forget(self, path: str) -> None:
        """Drop the memory of a file (it changed during download, or it is gone)."""
        self._seen.pop(path, None)

    def retain(self, paths: set[str]) -> None:
        """Forget files no longer listed, so memory stays bounded by the drop's size."""
        for gone in set(self._seen) - paths:
            del self._seen[gone]
