"""Translators: bytes (XML, CSV, fixed-width, JSON) <-> canonical models, driven by declarative mappings.

Pure functions over streams: no I/O beyond the streams they are given, no clock, no environment. Every
untrusted XML goes through :mod:`translators.safe`.
"""

from translators.safe import parse_bytes, safe_iterparse, safe_parser

__all__ = ["parse_bytes", "safe_iterparse", "safe_parser"]
