#!/usr/bin/env bash
# Prepares a checkout to run: a virtual environment with pinned dependencies and the pose model
# bundles. Idempotent: a second run with unchanged pyproject.toml / constraints.txt installs
# nothing. Settings: PYTHON (interpreter to use), SPML_BOOTSTRAP_VENV (folder, default .venv),
# SPML_BOOTSTRAP_EXTRAS (default mlflow,api,dev), SPML_BOOTSTRAP_ASSETS (0: skip the bundles).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${SPML_BOOTSTRAP_VENV:-.venv}"
EXTRAS="${SPML_BOOTSTRAP_EXTRAS:-mlflow,api,dev}"

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

stamp="$VENV/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-$EXTRAS"
if [ ! -f "$stamp" ]; then
  PY="$(find_python)" || { echo "error: StreamPoseML needs Python 3.10 or 3.11 on PATH" >&2; exit 1; }
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  echo "installing Python dependencies into $VENV (pinned by constraints.txt) ..."
  "$VENV/bin/pip" install -q --disable-pip-version-check -c constraints.txt -e ".[$EXTRAS]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

# Pose model bundles (lite/full/heavy) used by Python extraction and by the browser.
if [ "${SPML_BOOTSTRAP_ASSETS:-1}" != 0 ]; then
  "$VENV/bin/stream-pose-ml" assets build
fi
