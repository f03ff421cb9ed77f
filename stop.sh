#!/usr/bin/env bash
# Stops what ./start.sh started, and nothing else: the local process groups recorded in run/*.pid,
# or the Docker Compose stack when start.sh used Docker (SPML_MODE=docker forces the latter).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

mode="${SPML_MODE:-}"
if [ -z "$mode" ] && [ -f run/mode ]; then mode="$(cat run/mode)"; fi

if [ "$mode" = docker ]; then
  if docker compose version >/dev/null 2>&1; then
    docker compose down
  else
    docker-compose down
  fi
  rm -f run/mode
  exit 0
fi

# Local processes: stdlib-only helper, any Python 3 will do.
PY=""
for candidate in "${SPML_VENV:+$SPML_VENV/bin/python}" .venv/bin/python python3; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
[ -n "$PY" ] || { echo "error: no Python 3 found to run scripts/run_local.py" >&2; exit 1; }
"$PY" scripts/run_local.py stop
rm -f run/mode
