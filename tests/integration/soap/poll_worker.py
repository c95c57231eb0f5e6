"""A poll process for the SIGKILL test: polls the simulator, durably records each page, then acknowledges.

Usage: ``python poll_worker.py URL WSDL LEDGER_FILE OUT_FILE PAGE_SIZE SLEEP_SECONDS``; the ledger is the test
kit's, mirrored to ``LEDGER_FILE``. Each record is written as ``identity`` line (fsync'd) before ``acknowledge``,
like the runtime commits messages before acking.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from adapters.legacy.soap_poll import SoapPollConfig, SoapPollSource
from adapters.legacy.soap_xml import elements, local_path, parse_xml
from bridge.ports import SourceContext, SystemClock, record_identity
from bridge.testing import MemorySourceLedger


def main() -> None:
    url, wsdl, db, out, page_size, pause = sys.argv[1:7]
    config = SoapPollConfig(
        wsdl=wsdl,
        endpoint=url,
        operation="GetChangedInvoices",
        records_path="invoices/invoice",
        watermark_field="modifiedAt",
        page_size=int(page_size),
        operation_timeout=10,
    )
    ledger = MemorySourceLedger(Path(db))
    records, number, version = local_path("invoices/invoice"), local_path("invoiceNumber"), local_path("changeVersion")
    with SoapPollSource(config, base_dir=Path(wsdl).parent, interface="inv") as source, open(out, "a") as sink:
        source.open(SourceContext("inv", SystemClock(), Path(db).parent, ledger))
        for envelope in source.poll():
            assert envelope.body is not None
            lines = []
            for i, rec in enumerate(elements(records(parse_xml(envelope.body)))):
                key, ver = elements(number(rec))[0].text, elements(version(rec))[0].text
                lines.append(record_identity(envelope, ordinal=i, business_key=key, version=ver) + "\n")
            sink.write("".join(lines))
            sink.flush()
            os.fsync(sink.fileno())
            ledger.mark_batch("inv", envelope.batch_id, "acknowledged")
            source.acknowledge(envelope)
            print(f"PAGE {envelope.metadata['soap.page']}", flush=True)
            time.sleep(float(pause))
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
