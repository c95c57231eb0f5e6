"""A poller process for the SIGKILL test: polls the simulator, 'commits' records to SQLite, acknowledges.

Usage (from the repository root): python -m tests.integration.cloud.cloud_poll_child SIM_URL DB_PATH SPOOL_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from adapters.cloud.rest_poll import RestPollSource, RestPollSourceConfig
from bridge.ports import SourceContext, SystemClock
from tests.integration.cloud.cloud_fakes import SqliteLedger


def main() -> None:
    url, db, spool = sys.argv[1:4]
    ledger = SqliteLedger(Path(db))
    config = RestPollSourceConfig(url=url + "/v1/customers", page_size=5, overlap=0)
    with RestPollSource(config) as source:
        source.open(SourceContext("poll-kill", SystemClock(), Path(spool), ledger))
        for envelope in source.poll():
            for item in json.loads(envelope.body or b"[]"):
                ledger.record(f"{item['external_id']}:{item['version']}", item)
            source.acknowledge(envelope)
            print("acked", envelope.metadata["page"], flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
