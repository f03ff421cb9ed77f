#!/usr/bin/env bash
# Runs every check of the project: Python lint and tests, then the web UI's unit tests, build and
# browser tests (headless Chromium against the real API). Extra args go to pytest.
# SPML_SKIP_WEB_UI=1 runs only the Python part; SPML_PYTHON310=/path/to/python3.10 adds the
# package's core tests on Python 3.10.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./scripts/bootstrap.sh
.venv/bin/ruff check --no-cache .
.venv/bin/ruff format --check --no-cache .
.venv/bin/python -m pytest "$@"
if [ -n "${SPML_PYTHON310:-}" ]; then # also check the package on Python 3.10
  ./scripts/test_python310.sh "$SPML_PYTHON310"
fi
if [ "${SPML_SKIP_WEB_UI:-0}" != 1 ]; then
  (
    cd web_ui
    npm ci --no-audit --no-fund
    npm run lint
    npm test
    npm run format:check
    npm run build
    npm run e2e
  )
fi
