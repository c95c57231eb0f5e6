"""The fault suite's workload: a realistic mixed set of interfaces run by the real ``esb-bridge run`` in a subprocess.

Three interfaces on one ledger, each with its own kind of source and authoritative target:

* ``customers``: JSON-lines files in a local drop folder (acknowledged on commit, moved to ``archive/``), a
  poison line in the middle of the second file, REST out to the cloud simulator's ``/v1/ingest`` (one stored
  entry per applied request, so a second application shows);
* ``accounts``: JSON-lines files fetched over real sshd (acknowledged once delivered), CloudEvents out over
  RabbitMQ with publisher confirms, into a queue the test declared;
* ``archive``: a local drop written by the legacy ``file`` sink into a target folder (one file per message).

The workload knows every source record (business key, file, poison or not), which is what the checker
(``tests.faults.checker``) compares the peers' own records with.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from samples.demo_app.generate import customer

__all__ = ["FILES", "Interface", "SourceRecord", "Workload"]

#: per interface: (files, records per file, first customer number)
FILES = {"customers": (3, 12, 1), "accounts": (2, 12, 1001), "archive": (2, 8, 2001)}
POISON_FILE, POISON_AT = 1, 5  # customers' second file, sixth line
RETRY = "retry: {initial: 0.2s, multiplier: 2, jitter: 0, max_attempts: 12, max_delay: 1s}"


@dataclass(frozen=True)
class SourceRecord:
    interface: str
    key: str  # the business key, or the poison marker of an unreadable line
    file: str
    poison: bool = False


@dataclass(frozen=True)
class Interface:
    name: str
    acknowledge: str  # on_commit | on_delivery
    drop: Path  # where its files are put (for sftp: the folder sshd serves)


@dataclass
class Workload:
    """One run's folders, inputs, config and the bridge processes started on it."""

    root: Path
    store_url: str
    sim_url: str
    amqp_url: str
    exchange: str
    sftp: dict[str, object]
    #: the simulator's ingest collection of ``customers`` (workloads sharing one simulator use their own)
    collection: str = "customers"
    records: list[SourceRecord] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)  # return codes of the bridge processes, in order

    @property
    def interfaces(self) -> dict[str, Interface]:
        return {
            "customers": Interface("customers", "on_commit", self.root / "drop"),
            "accounts": Interface("accounts", "on_delivery", self.root / "sftp"),
            "archive": Interface("archive", "on_commit", self.root / "drop2"),
        }

    @property
    def target_folder(self) -> Path:
        return self.root / "target"

    @property
    def markers(self) -> Path:
        return self.root / "markers"

    def prepare(self, scale: int = 1) -> None:
        """Write every input file and the config."""
        # Seeded by the collection: workloads sharing the simulator must not share message ids (idempotency keys)
        rng = random.Random(f"17-{self.collection}")
        for name, (files, per_file, first) in FILES.items():
            folder = self.interfaces[name].drop
            folder.mkdir(parents=True, exist_ok=True)
            n = first
            for f in range(files):
                fname = f"{name}-{f + 1}.jsonl"
                rows = []
                for _ in range(per_file * scale):
                    row = customer(rng, n)
                    rows.append(json.dumps(row))
                    self.records.append(SourceRecord(name, row["customer_number"], fname))
                    n += 1
                if name == "customers" and f == POISON_FILE:
                    marker = f"POISON-{f + 1}"
                    rows.insert(POISON_AT, f'{{"customer_number": "{marker}", "name": ')  # cut mid-record
                    self.records.append(SourceRecord(name, marker, fname, poison=True))
                tmp = folder / f".{fname}.tmp"
                tmp.write_text("\n".join(rows) + "\n", encoding="utf-8")
                tmp.rename(folder / fname)  # the rename readiness rule: complete when it has its name
        self.target_folder.mkdir(exist_ok=True)
        self.config.write_text(self._config(), encoding="utf-8")

    @property
    def config(self) -> Path:
        return self.root / "bridge.yaml"

    def _config(self) -> str:
        s = self.sftp
        return f"""
store: "{self.store_url}"
spool_dir: spool
{RETRY}
interfaces:
  customers:
    canonical: Customer
    source: {{kind: folder, path: drop, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    chunk_size: 5
    cloud:
      encoder: {{kind: json}}
      sink: {{kind: rest, url: "{self.sim_url}/v1/ingest/{self.collection}/{{business_key}}", timeout: 1.5}}
      # the circuit breaker opens on a failing peer; short periods keep the suite fast
      limits: {{concurrency: 2, batch: 4, max_batch: 4, circuit: {{open_for: 1s, max_open_for: 2s}}}}
    cutover: {{mode: cloud_only}}
  accounts:
    canonical: Customer
    source:
      kind: sftp
      host: 127.0.0.1
      port: {s["port"]}
      user: {s["user"]}
      key_file: {s["key_file"]}
      known_hosts: {s["known_hosts"]}
      connect_timeout: 3
      read_timeout: 5
      path: {self.interfaces["accounts"].drop}
      include: ["*.jsonl"]
      readiness: {{rule: rename}}
    decoder: {{kind: jsonl}}
    acknowledge: on_delivery
    chunk_size: 5
    cloud:
      encoder: {{kind: json}}
      sink:
        kind: cloudevents
        type: com.example.account.changed
        source: /esb-bridge/accounts
        amqp: {{url: "{self.amqp_url}", exchange: {self.exchange}, socket_timeout: 3}}
      limits: {{concurrency: 1, batch: 4, max_batch: 4}}
    cutover: {{mode: cloud_only}}
  archive:
    canonical: Customer
    source: {{kind: folder, path: drop2, include: ["*.jsonl"], readiness: {{rule: rename}}}}
    decoder: {{kind: jsonl}}
    chunk_size: 5
    legacy:
      encoder: {{kind: json}}
      sink: {{kind: file, path: target}}
      limits: {{concurrency: 1, batch: 3, max_batch: 3}}
    cutover: {{mode: legacy_only}}
"""

    def run(
        self, failpoints: str = "", *, sabotage: str = "", env: dict[str, str] | None = None, timeout: float = 90
    ) -> int:
        """One ``esb-bridge run --once`` to its end (a kill point ends it early); its return code."""
        extra = {"ESB_BRIDGE_FAILPOINT_MARKERS": str(self.markers)}
        if failpoints:
            extra["ESB_BRIDGE_FAILPOINTS"] = failpoints
        if sabotage:
            extra["ESB_BRIDGE_TEST_BREAK_IDEMPOTENCY"] = sabotage
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ESB_BRIDGE_")}
        with (self.root / "bridge.log").open("ab") as log:
            proc = subprocess.run(
                [sys.executable, "-m", "bridge", "--config", str(self.config), "run", "--once", "--max-wait", "20"],
                env={**clean, **extra, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=log,
                timeout=timeout,
                cwd=self.root,
            )
        self.runs.append(proc.returncode)
        return proc.returncode

    def log_tail(self) -> str:
        return (self.root / "bridge.log").read_text(errors="replace")[-4000:]

    def hit(self, point: str) -> bool:
        return (self.markers / point).exists()
