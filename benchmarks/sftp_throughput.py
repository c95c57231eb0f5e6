"""SFTP drop source throughput and memory, against OpenSSH's own ``sftp`` client, over loopback.

Starts a private OpenSSH sshd on a free 127.0.0.1 port (temporary keys and config; stopped at the end), then:

1. downloads the same file (default 500 MB) with ``sftp -b`` (OpenSSH client) and with ``SftpDropSource.poll``
   (spooled, hashed), and prints both absolute rates and their ratio (goal: >= 0.55); as a reference it also
   times paramiko's own ``SFTPClient.get`` (default ciphers, and AES-GCM first), the issue's yardstick;
2. runs a large file (default 1 GB) through the source in a fresh child process that streams the spooled
   envelope into a counting "decoder", and prints the child's peak RSS (goal: < 200 MB).

Both sides read and write in the same work folder, tmpfs by default (``--workdir``): on a disk, write-back of
the downloaded copies can dominate both sides and hide the protocol speed being compared.

Run: ``.venv/bin/python benchmarks/sftp_throughput.py [--size-mb 500] [--rss-size-mb 1024] [--runs 3]``.
Not part of the test suite (it moves gigabytes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def default_workdir() -> str:
    """tmpfs when the machine has one: the benchmark measures SFTP, not how fast a disk absorbs 1 GB of writes."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else tempfile.gettempdir()


def cpu_ticks() -> tuple[int, int]:
    """(all ticks, steal ticks) of the machine since boot, from /proc/stat; (0, 0) where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields), (fields[7] if len(fields) > 7 else 0)


def keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)


class Sshd:
    """A private sshd for the benchmark."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Sshd:
        w = self.work
        keygen(w / "host_key")
        keygen(w / "client_key")
        (w / "authorized_keys").write_text((w / "client_key.pub").read_text())
        os.makedirs("/run/sshd", exist_ok=True)
        (w / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {w / 'host_key'}\nPidFile {w / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {w / 'authorized_keys'}\nPermitRootLogin yes\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
            "Subsystem sftp internal-sftp\n"
        )
        kind, blob = (w / "host_key.pub").read_text().split()[:2]
        (w / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {kind} {blob}\n")
        self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(w / "sshd_config")])
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def source_fields(self, path: Path) -> dict[str, object]:
        return {
            "kind": "sftp",
            "host": "127.0.0.1",
            "port": self.port,
            "user": os.environ.get("USER") or "root",
            "key_file": str(self.work / "client_key"),
            "known_hosts": str(self.work / "known_hosts"),
            "path": str(path),
            "readiness": {"rule": "rename"},
            "after": {"action": "leave"},
        }


def make_file(path: Path, size_mb: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as f:
        for i in range(size_mb):
            f.write(block[:-8] + i.to_bytes(8, "big"))
    then = time.time() - 60
    os.utime(path, (then, then))


def openssh_download(sshd: Sshd, remote: Path, local: Path) -> float:
    batch = sshd.work / "batch"
    batch.write_text(f'get "{remote}" "{local}"\n')
    started = time.perf_counter()
    subprocess.run(
        [
            "sftp",
            "-q",
            "-b",
            str(batch),
            "-P",
            str(sshd.port),
            "-i",
            str(sshd.work / "client_key"),
            "-o",
            f"UserKnownHostsFile={sshd.work / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            f"{os.environ.get('USER') or 'root'}@127.0.0.1",
        ],
        check=True,
    )
    elapsed = time.perf_counter() - started
    local.unlink()
    return elapsed


CHILD = r"""
import json, sys, time
from pathlib import Path
from adapters.legacy.sftp import SftpDropSource, SftpSourceConfig
from bridge.ports import SourceContext, SystemClock
from bridge.testing import MemorySourceLedger

fields = json.loads(sys.argv[1])
source = SftpDropSource(SftpSourceConfig.model_validate(fields))
source.open(SourceContext("bench", SystemClock(), Path(sys.argv[2]), MemorySourceLedger()))
started = time.perf_counter()
[envelope] = list(source.poll())
download = time.perf_counter() - started
cipher = source.connection.negotiated().get("cipher")
counted = 0
lines = 0
with envelope.open() as stream:          # a counting "decoder": streams the spooled file
    while chunk := stream.read(1 << 20):
        counted += len(chunk)
        lines += chunk.count(b"\n")
source.acknowledge(envelope)
source.close()
# VmHWM is this process image's peak RSS (ru_maxrss would carry the forking parent's high-water mark)
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": download, "bytes": counted, "peak_rss_mb": peak, "cipher": cipher}))
"""


PLAIN_GET = r"""
import json, sys, time
import paramiko
fields, remote, local, gcm = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "gcm"
transport = paramiko.Transport(("127.0.0.1", fields["port"]))
if gcm:  # the issue's "when AES-GCM is negotiated" variant: only the cipher preference differs
    options = transport.get_security_options()
    options.ciphers = ("aes128-gcm@openssh.com",) + tuple(c for c in options.ciphers if "gcm" not in c)
transport.connect(username=fields["user"], pkey=paramiko.Ed25519Key.from_private_key_file(fields["key_file"]))
client = paramiko.SFTPClient.from_transport(transport)
started = time.perf_counter()
client.get(remote, local)  # paramiko's own prefetching get, defaults otherwise
elapsed = time.perf_counter() - started
cipher = transport.remote_cipher
client.close(); transport.close()
print(json.dumps({"seconds": elapsed, "cipher": cipher}))
"""


def plain_get(sshd: Sshd, remote: Path, local: Path, cipher: str) -> float:
    """paramiko's own ``SFTPClient.get`` (the issue's reference point), in a child process."""
    fields = sshd.source_fields(remote.parent)
    out = subprocess.run(
        [sys.executable, "-c", PLAIN_GET, json.dumps(fields), str(remote), str(local), cipher],
        check=True,
        capture_output=True,
        text=True,
    )
    local.unlink()
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def source_download(sshd: Sshd, folder: Path, spool: Path, **extra: object) -> dict[str, float]:
    fields = {**sshd.source_fields(folder), **extra}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(fields), str(spool)], check=True, capture_output=True, text=True
    )
    for leftover in spool.glob("*"):
        leftover.unlink()
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--rss-size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prefetch", type=int, default=None, help="read requests in flight (pipeline_depth)")
    parser.add_argument("--request-size", type=int, default=None, help="bytes per read request")
    parser.add_argument("--window", type=int, default=None, help="SSH channel window (bytes)")
    parser.add_argument("--packet", type=int, default=None, help="SSH max packet size (bytes)")
    parser.add_argument("--cipher", default=None, help="force one cipher (e.g. aes128-ctr)")
    parser.add_argument(
        "--no-paramiko-get",
        dest="paramiko_get",
        action="store_false",
        help="skip the reference runs of paramiko's own SFTPClient.get (default and AES-GCM ciphers)",
    )
    parser.add_argument(
        "--workdir",
        default=default_workdir(),
        help="where the served file and both downloads live (default: /dev/shm when it exists, so that the "
        "disk's write-back speed, which both sides share, does not decide the ratio)",
    )
    args = parser.parse_args()
    if not os.path.exists(SSHD) or shutil.which("sftp") is None:
        sys.exit("needs /usr/sbin/sshd and the sftp client (scripts/peers/sshd.sh)")
    extra: dict[str, object] = {}
    if args.prefetch:
        extra["pipeline_depth"] = args.prefetch
    if args.window:
        extra["window_size"] = args.window
    if args.packet:
        extra["max_packet_size"] = args.packet
    if args.request_size:
        extra["request_size"] = args.request_size
    if args.cipher:
        extra["ciphers"] = [args.cipher]
    print(f"work folder (served file, both downloads, spool): {args.workdir}")
    with tempfile.TemporaryDirectory(prefix="sftp-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        drop, spool = work / "drop", work / "spool"
        drop.mkdir()
        spool.mkdir()
        with Sshd(work) as sshd:
            big = drop / "throughput.dat"
            make_file(big, args.size_mb)
            size = big.stat().st_size
            ours, theirs = [], []
            plain: dict[str, list[float]] = {"default": [], "gcm": []}
            ticks_before = cpu_ticks()
            for _ in range(args.runs):
                theirs.append(openssh_download(sshd, big, work / "openssh.copy"))
                ours.append(source_download(sshd, drop, spool, **extra))
                if args.paramiko_get:
                    for variant, times in plain.items():
                        times.append(plain_get(sshd, big, work / "paramiko.copy", variant))
            ticks_after = cpu_ticks()
            t_theirs = min(theirs)
            best = min(ours, key=lambda r: r["seconds"])
            mb = size / 1e6
            pairs = sorted(t / r["seconds"] for t, r in zip(theirs, ours, strict=True))
            print(f"file: {mb:.0f} MB over 127.0.0.1, {args.runs} alternating runs each")
            total, steal = (after - before for after, before in zip(ticks_after, ticks_before, strict=True))
            if total:
                # a virtual machine's host taking CPU away shifts both sides' rates from run to run
                print(f"CPU steal during the runs (the host took this share of our CPUs): {steal / total:.1%}")
            for i, (t, r) in enumerate(zip(theirs, ours, strict=True)):
                print(
                    f"  run {i + 1}: OpenSSH {mb / t:7.1f} MB/s, source {mb / r['seconds']:7.1f} MB/s, "
                    f"ratio {t / r['seconds']:.2f}"
                )
            print(f"OpenSSH sftp client : {mb / t_theirs:8.1f} MB/s best ({t_theirs:.2f} s)")
            print(
                f"SftpDropSource.poll : {mb / best['seconds']:8.1f} MB/s best ({best['seconds']:.2f} s, "
                f"cipher {best['cipher']}, spooled + SHA-256)"
            )
            print(
                f"ratio source/OpenSSH: best/best {t_theirs / best['seconds']:.2f}, "
                f"median of runs {pairs[len(pairs) // 2]:.2f} (goal >= 0.55)"
            )
            for variant, times in plain.items():
                if times:
                    ratios = sorted(t / p for t, p in zip(theirs, times, strict=True))
                    print(
                        f"paramiko get ({variant} ciphers): {mb / min(times):8.1f} MB/s best, ratio to OpenSSH "
                        f"median {ratios[len(ratios) // 2]:.2f} (the issue's reference: 0.49 default, 0.59 GCM)"
                    )
            big.unlink()
            if args.rss_size_mb:
                huge = drop / "rss.dat"
                make_file(huge, args.rss_size_mb)
                result = source_download(sshd, drop, spool, **extra)
                rate = result["bytes"] / 1e6 / result["seconds"]
                print(
                    f"{args.rss_size_mb} MB through source + counting decoder: peak RSS "
                    f"{result['peak_rss_mb']:.0f} MB (goal < 200 MB), {rate:.1f} MB/s download"
                )
    print(f"benchmark parent peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
