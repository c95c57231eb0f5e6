#!/usr/bin/env bash
# Headless Chromium (Debian `chromium`) for the shadow-report browser test; installed when missing and root.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium missing and not root: the HTML report browser test will fail in CI" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
