#!/usr/bin/env bash
# Runs every check of the project: Python lint and tests, then the web UI's unit tests, build and
# browser tests (headless Chromium against the real API). Extra args go to pytest.
# SPML_SKIP_WEB_UI=1 runs only the Python part.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./scripts/bootstrap.sh
.venv/bin/ruff check --no-cache .
.venv/bin/ruff format --check --no-cache .
.venv/bin/python -m pytest "$@"
if [ "${SPML_SKIP_WEB_UI:-0}" != 1 ]; then
  (
    cd web_ui
    npm ci --no-audit --no-fund
    npm test
    npm run format:check
    npm run build
    npm run e2e
  )
fi
