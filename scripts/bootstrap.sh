#!/usr/bin/env bash
# Prepares a checkout to run: the .venv with pinned dependencies and the pose model bundles.
# Idempotent: a second run with unchanged pyproject.toml / constraints.txt installs nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.10 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 12))'; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

stamp=".venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  PY="$(find_python)" || { echo "error: StreamPoseML needs Python 3.10 or 3.11 on PATH" >&2; exit 1; }
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  echo "installing Python dependencies into .venv (pinned by constraints.txt) ..."
  .venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".[mlflow,api,dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Pose model bundles (lite/full/heavy) used by Python extraction and by the browser.
.venv/bin/stream-pose-ml assets build
