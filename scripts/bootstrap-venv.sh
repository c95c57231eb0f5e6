#!/usr/bin/env bash
# Create the virtualenv; on a fresh Debian, python3 lacks the venv module until python3-venv is installed.
set -euo pipefail
venv="${1:-.venv}"
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing python3-venv (Debian)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "python3 has no venv module: install python3-venv (Debian) and re-run" >&2
    exit 1
  fi
fi
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
