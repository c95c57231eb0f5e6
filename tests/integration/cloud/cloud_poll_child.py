"""A poller process for the SIGKILL test: polls the simulator, commits records to a file, acknowledges.

Usage (from the repository root):
``python -m tests.integration.cloud.cloud_poll_child SIM_URL LEDGER_FILE SPOOL_DIR RECORDS_FILE``. The ledger
is the test kit's, mirrored to ``LEDGER_FILE``; each record's identity is appended (fsync'd) to
``RECORDS_FILE`` before ``acknowledge``, as the runtime commits messages before it acknowledges.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from adapters.cloud.rest_poll import RestPollSource, RestPollSourceConfig
from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger


def main() -> None:
    url, db, spool, out = sys.argv[1:5]
    ledger = MemorySourceLedger(Path(db))
    config = RestPollSourceConfig(url=url + "/v1/customers", page_size=5, overlap=0)
    with RestPollSource(config) as source, open(out, "a") as records:
        source.open(SourceContext("poll-kill", SystemClock(), Path(spool), ledger))
        for envelope in source.poll():
            items = json.loads(envelope.body or b"[]")
            records.write("".join(f"{item['external_id']}:{item['version']}\n" for item in items))
            records.flush()
            os.fsync(records.fileno())
            source.acknowledge(envelope)
            print("acked", envelope.metadata["page"], flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
