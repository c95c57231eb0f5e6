"""A delivery worker process for the two-worker race test, and the sink that records every call as it lands.

Usage (from the repository root): ``python -m tests.integration.runtime.race_child CONFIG TARGET``. It opens
the ledger and runs ``TargetWorker`` batches of TARGET (reaping expired claims before each, as the runner's
housekeeping does) until no work of the target is left, then exits 0. WARNING lines go to stderr.

``CallFileSink`` (kind ``callfile``) writes one file per call into its folder, named
``<time_ns>-<pid>-<message id>-<attempt>``, renamed into place so a reader never sees half a file: a raw
record of every call, duplicates included, shared by every process.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from bridge.config import load_config
from bridge.plugins import registry
from bridge.ports import Delivery, KindConfig, Outcome, Plugin, PluginContext, PluginRole, SystemClock
from bridge.runtime.delivery import TargetWorker
from bridge.runtime.wiring import build_interfaces
from bridge.store.ledger import open_ledger


class CallFileConfig(KindConfig):
    kind: Literal["callfile"]
    dir: str


class CallFileSink:
    """Accepts every delivery and leaves one file per call (see the module docstring)."""

    def __init__(self, config: CallFileConfig, context: PluginContext) -> None:
        self.dir = Path(config.dir)
        self.target = context.target

    def __enter__(self) -> Self:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def deliver(self, delivery: Delivery) -> Outcome:
        name = f"{time.time_ns()}-{os.getpid()}-{delivery.message_id}-{delivery.attempt}"
        tmp = self.dir / f".{name}.tmp"
        tmp.write_bytes(delivery.payload.body)
        tmp.rename(self.dir / name)
        return Outcome.delivered(target_id=f"id-{delivery.business_key}")


CALLFILE = Plugin(PluginRole.SINK, "callfile", CallFileConfig, CallFileSink)
registry.register(CALLFILE)


def main() -> None:
    cfg, target = sys.argv[1:3]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    loaded = load_config(Path(cfg))
    clock = SystemClock()
    with open_ledger(loaded.store_url(), clock) as ledger:
        rt = build_interfaces(loaded, clock, None)["customers"]
        path, shadow = rt.targets()[target]
        sink = path.sink_for(shadow)
        assert sink is not None
        with sink:
            worker = TargetWorker(target, rt, path, shadow, ledger, clock, lease=loaded.config.lease)
            print("ready", flush=True)
            while True:
                ledger.reap_expired_claims()
                if worker.run_batch() == 0:
                    if ledger.open_work([target]) == 0:
                        break
                    time.sleep(0.05)
    print("done", flush=True)


if __name__ == "__main__":
    main()
