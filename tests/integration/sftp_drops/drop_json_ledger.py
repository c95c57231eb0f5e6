"""A durable SourceLedger for crash tests: every write rewrites one JSON file (fsync), so SIGKILL loses nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path


class JsonFileLedger:
    """States and cursors in a JSON file; enough for one process at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {"states": {}, "cursors": {}, "history": []}  # type: ignore[dict-item]
        return json.loads(self.path.read_text())

    def _save(self, data: dict[str, object]) -> None:
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def batch_state(self, interface: str, batch_id: str) -> str | None:
        return self._load()["states"].get(f"{interface}\x1f{batch_id}")

    def mark_batch(self, interface: str, batch_id: str, state: str, *, origin: str = "", detail: str = "") -> None:
        data = self._load()
        data["states"][f"{interface}\x1f{batch_id}"] = state
        data["history"].append([batch_id, state])  # type: ignore[attr-defined]
        self._save(data)  # type: ignore[arg-type]

    def get_cursor(self, interface: str, key: str) -> str | None:
        return self._load()["cursors"].get(f"{interface}\x1f{key}")

    def set_cursor(self, interface: str, key: str, value: str) -> None:
        data = self._load()
        data["cursors"][f"{interface}\x1f{key}"] = value
        self._save(data)  # type: ignore[arg-type]

    def history(self) -> list[list[str]]:
        return self._load()["history"]  # type: ignore[return-value]
