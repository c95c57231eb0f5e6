"""A sink that logs every raw call, for crash tests; ``python -m tests.integration.runtime.calllog`` is the CLI with it.

The ``calllog`` sink accepts every delivery and appends one JSON line per call (process id, message id, business
key, attempt) to its log file, in ONE ``write`` on an ``O_APPEND`` descriptor. A write that returned is in the
kernel's page cache, so it survives a SIGKILL of the process (only a machine crash could lose it, and the
tests do not crash the machine); no fsync is needed for that, which keeps 50,000 calls cheap. It never
deduplicates: what the crash test counts is every call the runtime made, repeats included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from bridge.plugins import registry
from bridge.ports import Delivery, KindConfig, Outcome, Plugin, PluginContext, PluginRole


class CallLogConfig(KindConfig):
    kind: Literal["calllog"]
    path: str


class CallLogSink:
    """Appends one line per ``deliver`` call; always delivered."""

    def __init__(self, config: CallLogConfig, context: PluginContext) -> None:
        self.path = context.resolve(config.path)
        self.target = context.target or f"calllog:{self.path}"
        self._pid = os.getpid()

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def deliver(self, delivery: Delivery) -> Outcome:
        record = json.loads(delivery.payload.body)
        line = {
            "pid": self._pid,
            "message_id": str(delivery.message_id),
            "key": delivery.business_key,
            "customer_number": record.get("customer_number"),
            "attempt": delivery.attempt,
        }
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
        return Outcome.delivered(target_id=str(delivery.message_id))


def read_calls(path: Path) -> list[dict[str, object]]:
    """Every call the sink logged, in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


CALLLOG = Plugin(PluginRole.SINK, "calllog", CallLogConfig, CallLogSink)

if __name__ == "__main__":
    from bridge.cli.main import main

    registry.register(CALLLOG)
    main()
