"""Translators: bytes (XML, CSV, fixed-width, JSON) <-> canonical models, driven by declarative mappings.

Pure functions over streams: no I/O beyond the streams they are given, no clock, no environment. Every
untrusted XML goes through the project's one hardened parser, :mod:`bridge.safexml`.
"""
