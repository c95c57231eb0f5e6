"""Read-only checks of local folders for ``esb-bridge validate`` (the optional ``Preflight`` of a plugin object).

A drop folder that does not exist is a warning, not an error: the run starts and reads nothing until the
producer creates it (``FolderDropSource.open`` says so too). A folder the run could not list, or could not
move files out of, and an output folder that cannot be created are errors: the run would fail on them.
Nothing here creates or changes anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from bridge.ports import PreflightProblem

__all__ = ["creatable_folder", "readable_folder"]


def readable_folder(path: str, *, writable: bool, why: str = "", field: str = "path") -> list[PreflightProblem]:
    """Problems of a folder the bridge lists and reads (and, when ``writable``, moves or deletes files in)."""
    folder = Path(path)
    if not folder.exists():
        return [
            PreflightProblem(field, f"drop folder {path} does not exist: nothing is read until it is created", False)
        ]
    if not folder.is_dir():
        return [PreflightProblem(field, f"{path} is not a folder")]
    if not os.access(folder, os.R_OK | os.X_OK):
        return [PreflightProblem(field, f"drop folder {path} is not readable by this user")]
    if writable and not os.access(folder, os.W_OK):
        return [PreflightProblem(field, f"drop folder {path} is not writable by this user, but {why}")]
    return []


def creatable_folder(path: str, *, field: str = "path") -> list[PreflightProblem]:
    """Problems of a folder the bridge writes into, creating it (and its parents) when missing."""
    folder = Path(path)
    if folder.exists():
        if not folder.is_dir():
            return [PreflightProblem(field, f"{path} is not a folder")]
        if not os.access(folder, os.W_OK | os.X_OK):
            return [PreflightProblem(field, f"output folder {path} is not writable by this user")]
        return []
    parent = folder.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return [PreflightProblem(field, f"output folder {path} cannot be created: {parent} is not a writable folder")]
    return []
