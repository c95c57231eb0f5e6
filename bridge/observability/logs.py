"""The log format of the process: text for people, JSON (one object per line) for log shippers, via structlog.

The bridge logs through the standard ``logging`` module everywhere (so a library user's own handlers keep
working and third-party lines come through the same pipeline); an event of the bridge's own work is a short
snake_case name with its facts as ``extra`` fields (``log.info("batch_committed", extra={...})``, see
:func:`event`). :func:`configure` installs ONE handler on the root logger whose formatter is structlog's
``ProcessorFormatter``: it lifts those fields into the event dict, adds level, logger and an ISO timestamp in
UTC, masks every field whose name says it holds a secret, and renders text or JSON.

Nothing here runs per record: the runtime logs per batch (file picked up, batch committed, deliveries done
per target), plus one line per dead letter and per flag change.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["LOG_FORMATS", "REDACTED", "LogFormat", "configure", "event", "own_level", "redact"]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

REDACTED = "***"

#: field names whose values are never written (a token, a password, an Authorization header ...)
_SECRET = re.compile(r"secret|passw|token|authori[sz]ation|api[_-]?key|credential|cookie|private", re.I)

#: the fields every line carries first when known, in this order (the rest follow sorted)
_FIRST = ("interface", "batch_id", "message_id", "transaction_id", "target")


def event(logger: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log the event ``name`` with its fields, or do nothing (cheaply) when ``level`` is not enabled.

    Fields must not be named as ``LogRecord`` attributes (``name``, ``message``, ``args`` ...); values that
    are None are dropped, so "where known" needs no branching at the call site.
    """
    if logger.isEnabledFor(level):
        logger.log(level, name, extra={k: v for k, v in fields.items() if v is not None})


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Mask every field whose name says it holds a secret, at any depth of nested mappings."""
    return _masked(event_dict)


def _masked(data: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(data.items()):
        if key != "event" and _SECRET.search(key):
            data[key] = REDACTED
        elif isinstance(value, Mapping):
            data[key] = _masked(dict(value))
    return data


def _order(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A stable field order: event, level, timestamp, logger, the ids, then the rest by name."""
    head = ("event", "level", "timestamp", "logger", *_FIRST)
    out = {k: event_dict[k] for k in head if k in event_dict}
    out.update(sorted((k, v) for k, v in event_dict.items() if k not in out))
    return out


def _text(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> str:
    """``2026-12-02T03:04:05.123Z INFO esb_bridge.runtime.pipeline: batch_committed interface=x records=3``."""
    d = dict(event_dict)
    stamp, level, name = d.pop("timestamp", ""), str(d.pop("level", "")).upper(), d.pop("logger", "")
    text = str(d.pop("event", ""))
    exc = d.pop("exception", None)
    pairs = " ".join(f"{k}={_kv(v)}" for k, v in d.items())
    line = f"{stamp} {level} {name}: {text}" + (f" {pairs}" if pairs else "")
    return line + (f"\n{exc}" if exc else "")


def _kv(value: Any) -> str:
    text = ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
    return repr(text) if (" " in text or not text) else text


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is at emit time (a progress display or a test may swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


_MARK = "_esb_bridge_handler"


def own_level(level: int) -> None:
    """The level of the bridge's own loggers (``esb_bridge.*``); ``logging.NOTSET`` follows the root's."""
    logging.getLogger("esb_bridge").setLevel(level)


def formatter(fmt: LogFormat) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of ``fmt``: the structlog pipeline that turns a ``LogRecord`` into one line."""
    pre: list[Processor] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="%Y-%m-%dT%H:%M:%S.%fZ", utc=True),
    ]
    render: Processor = structlog.processors.JSONRenderer() if fmt == "json" else _text
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            _order,
            render,
        ],
    )


def configure(fmt: LogFormat = "text", level: int = logging.WARNING) -> None:
    """Route every log record through the bridge's format; calling it again replaces the earlier set-up."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    root = logging.root
    for h in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(h)
    handler = _Stderr()
    setattr(handler, _MARK, True)
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)
