"""Peak memory of the ``file`` sink's append mode over an output that already holds N message ids.

Usage: ``python benchmarks/append_sink_memory.py [N]`` (default 1,000,000). It writes a JSON-lines output of N
lines, then in a fresh subprocess opens the sink, delivers one repeated and one new message id and prints the
process's peak RSS (VmHWM) before opening the sink and after the two deliveries. Run it with
``PYTHONPATH=<another checkout>`` to measure another version of the sink (the figures in issue 12's report
compare the set of every id, before, with the on-disk index, after). A second pass with the index already built
is measured too. Not part of the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _peak_rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))


def _worker(folder: Path, repeat: str) -> None:
    from adapters.legacy import file_sink
    from bridge.ports import Delivery, Encoded, PathName, PluginContext, Role

    before = _peak_rss_kb()
    context = PluginContext(base_dir=folder.parent, interface="bench", canonical="Customer")
    config = file_sink.FileSinkConfig.model_validate({"kind": "file", "path": str(folder), "mode": "append"})
    started = time.perf_counter()
    with file_sink.FileSink(config, context) as sink:
        for mid in (uuid.UUID(repeat), uuid.uuid4()):
            body = Encoded(b"{}", "application/json")
            sink.deliver(Delivery(mid, "bench", PathName.LEGACY, Role.AUTHORITATIVE, "k", 1, body, "tx"))
        after = _peak_rss_kb()
    took = time.perf_counter() - started
    print(json.dumps({"sink": file_sink.__file__, "rss_before_kb": before, "rss_after_kb": after, "seconds": took}))


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        _worker(Path(sys.argv[2]), sys.argv[3])
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "out"
        folder.mkdir()
        last = ""
        with (folder / "deliveries.jsonl").open("w", encoding="utf-8") as f:
            for _ in range(n):
                last = str(uuid.uuid4())
                f.write(json.dumps({"message_id": last, "body": "{}"}) + "\n")
        for run in ("first open", "reopen"):
            out = subprocess.run(
                [sys.executable, __file__, "--worker", str(folder), last], check=True, capture_output=True, text=True
            )
            data = json.loads(out.stdout)
            grown = (data["rss_after_kb"] - data["rss_before_kb"]) / 1024
            print(
                f"{n:,} ids, {run}: peak RSS {data['rss_before_kb'] / 1024:.1f} MB before the sink, "
                f"{data['rss_after_kb'] / 1024:.1f} MB after (+{grown:.1f} MB), {data['seconds']:.2f} s  "
                f"[{data['sink']}]"
            )


if __name__ == "__main__":
    main()
