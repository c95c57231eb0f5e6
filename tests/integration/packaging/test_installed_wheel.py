"""The distributions as a user installs them, not the checkout: both wheels are built from the files a fresh clone
has, installed with their dependencies from the package index into a new virtualenv outside the checkout, and
run from a folder outside it. Whatever the bridge or the demo reads at run time (migrations, entry points, the
scenario, mappings, WSDLs, the cloud API's contract) must therefore come with the package: a file left out of
the package data fails here, not on a user's machine. About 1.5 minutes (the dependency install dominates)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from samples.demo_app import run_demo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
DAYS = 2
PIP = ("-m", "pip", "--disable-pip-version-check", "-q")

MINIMAL = """\
store: sqlite:///bridge.db
include: [interfaces/*.yaml]
"""
INTERFACE = """\
customers-to-crm:
  canonical: Customer
  source: {kind: folder, path: drops/customers, include: ["*.jsonl"], readiness: {rule: rename}}
  decoder: {kind: jsonl}
  legacy: {encoder: {kind: json}, sink: {kind: file, path: out/legacy-crm}}
  cloud:  {encoder: {kind: json}, sink: {kind: file, path: out/cloud-crm}}
  cutover: {mode: legacy_primary}
"""


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{' '.join(map(str, cmd))} exited {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


def _clone_files(target: Path) -> None:
    """The files a fresh clone has (tracked, plus new files not ignored): no venv, no build output, no caches."""
    assert shutil.which("git"), "git is needed to list the checkout's files"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not part of the build
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """A demo summary without what differs between runs by design: free ports, the report paths (the backtest's
    too), and the dashboard's token (random per run) and config path (in its serve command)."""
    kept = {k: v for k, v in summary.items() if k != "reports"}
    if "backtest" in kept:
        kept["backtest"] = {k: v for k, v in kept["backtest"].items() if k != "report"}
    if "dashboard" in kept:
        kept["dashboard"] = {"url": kept["dashboard"]["url"]}
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", json.dumps(kept))
    result: dict[str, Any] = json.loads(text)
    return result


def test_installed_wheels_validate_and_run_the_demo_outside_the_checkout(tmp_path: Path) -> None:
    """The core wheel alone validates a config and migrates a ledger and has no ``demo``; with the demo wheel,
    ``esb-bridge demo`` gives the same summary as the checkout, and its scenario copy validates."""
    assert not tmp_path.resolve().is_relative_to(ROOT)
    src, dist, venv, work = tmp_path / "src", tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    _clone_files(src)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "ESB_BRIDGE_CONFIG")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    _run(sys.executable, *PIP, "wheel", "--no-deps", "-w", dist, src, src / "samples", cwd=work, env=env)
    core, demo = sorted(dist.glob("esb_bridge-*.whl")), sorted(dist.glob("esb_bridge_demo-*.whl"))
    assert len(core) == 1 and len(demo) == 1, sorted(p.name for p in dist.iterdir())
    _run(sys.executable, "-m", "venv", venv, cwd=work, env=env)
    vpy, esb = venv / "bin" / "python", venv / "bin" / "esb-bridge"
    _run(vpy, *PIP, "install", core[0], cwd=work, env=env)

    # The core alone: entry points, config loading and the ledger's migrations come with the wheel.
    (work / "interfaces").mkdir()
    (work / "bridge.yaml").write_text(MINIMAL, encoding="utf-8")
    (work / "interfaces" / "customers-to-crm.yaml").write_text(INTERFACE, encoding="utf-8")
    checked = json.loads(_run(esb, "validate", "--json", cwd=work, env=env).stdout)
    assert checked["ok"] is True and checked["interfaces"] == ["customers-to-crm"]
    assert "up to date" in _run(esb, "db", "upgrade", cwd=work, env=env).stdout
    assert (work / "bridge.db").stat().st_size > 0
    no_demo = subprocess.run([str(esb), "demo"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert no_demo.returncode == 2 and "No such command 'demo'" in no_demo.stderr  # the core carries no demo

    # With the demo: the plugin's command, the simulators and the scenario run from site-packages.
    _run(vpy, *PIP, "install", demo[0], cwd=work, env=env)
    where = _run(vpy, "-c", "import bridge, samples; print(bridge.__file__, samples.__file__)", cwd=work, env=env)
    assert all(Path(p).resolve().is_relative_to(venv.resolve()) for p in where.stdout.split()), where.stdout
    ran = _run(esb, "demo", "--dir", "demo", "--seed", "42", "--days", str(DAYS), "--json", cwd=work, env=env)
    installed = json.loads(ran.stdout)
    assert all((work / path).is_file() for path in installed["reports"].values())  # relative to the cwd
    reference = run_demo(tmp_path / "reference", seed=42, days=DAYS, progress=False)
    assert _comparable(installed) == _comparable(reference)
    assert len(installed["dead_letters"]) == DAYS  # one broken invoice a day

    # The scenario copy the demo leaves behind names the mappings and the WSDL it copied from the package.
    copy = json.loads(_run(esb, "--config", "demo/bridge.yaml", "validate", "--json", cwd=work, env=env).stdout)
    assert copy["ok"] is True and len(copy["interfaces"]) == 7  # with the subscription leg's two
    assert {"subscriptions-from-crm", "subscription-invoices"} <= set(copy["interfaces"])
