#!/usr/bin/env bash
# OpenSSH sshd for the SFTP integration tests: tests start their own sshd (temporary host key, config and
# port) from /usr/sbin/sshd, so this script only installs Debian's openssh-server when it is missing.
set -euo pipefail
if [ -x /usr/sbin/sshd ]; then
  mkdir -p /run/sshd 2>/dev/null || true
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing openssh-server (Debian)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null
  # The package's postinst may start a system sshd on port 22; the tests do not need it.
  mkdir -p /run/sshd
else
  echo "/usr/sbin/sshd is missing: install openssh-server (Debian) and re-run" >&2
  exit 1
fi
