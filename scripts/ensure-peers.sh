#!/usr/bin/env bash
# Install (when missing and we are root) every peer the test suite needs; each peer has one script in
# scripts/peers/. Services the machine provides (PostgreSQL, RabbitMQ) are only checked, never installed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in "$here"/peers/*.sh; do
  [ -e "$script" ] || continue
  echo "peer: $(basename "$script" .sh)" >&2
  bash "$script"
done
