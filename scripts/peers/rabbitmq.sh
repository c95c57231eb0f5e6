#!/usr/bin/env bash
# RabbitMQ at 127.0.0.1:5672 (guest/guest) is provided by the machine and by CI; start it if it is installed
# but stopped. The cloud EventSink tests publish to it (and fail under CI=true when it is absent).
set -euo pipefail
if python3 - <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect(("127.0.0.1", 5672))
except OSError:
    sys.exit(1)
PY
then exit 0; fi
if command -v rabbitmq-server >/dev/null; then
  echo "starting RabbitMQ" >&2
  if command -v service >/dev/null; then service rabbitmq-server start || true; else rabbitmq-server -detached || true; fi
  for _ in $(seq 1 30); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', 5672), 1)" 2>/dev/null && exit 0
    sleep 1
  done
fi
echo "RabbitMQ is not reachable at 127.0.0.1:5672" >&2
