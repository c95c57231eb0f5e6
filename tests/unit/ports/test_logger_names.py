"""Every logger of the shipped packages is named ``esb_bridge.<area>`` (one scheme, filterable by prefix);
``esb_bridge`` itself is named only to set the level of all of them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("bridge", "adapters", "translators", "cutover")
SCHEME = re.compile(r"esb_bridge(\.[a-z_]+(\.[a-z_]+)?)?")


def _logger_names() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger":
                    arg = node.args[0] if node.args else None
                    name = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else ast.dump(node)
                    found.append((str(path.relative_to(ROOT)), name))
    return found


def test_logger_names_follow_the_scheme() -> None:
    names = _logger_names()
    assert len(names) >= 5  # the scan finds the loggers at all
    wrong = [(path, name) for path, name in names if not SCHEME.fullmatch(name)]
    assert wrong == []
