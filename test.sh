#!/usr/bin/env bash
# Runs every check of the project: Python lint and tests, then the web UI's unit tests, build and
# browser tests (headless Chromium against the real API). Extra args go to pytest.
# First it checks the system packages the tests need (scripts/test_prerequisites.sh, which names
# what is missing and how to install it); SPML_INSTALL_PREREQUISITES=1 installs them with apt-get.
# Every step runs even when an earlier one failed (but for the steps that need it: no web UI
# tests without `npm ci`, no browser tests without a build); a summary lists each step, and the
# exit status is non-zero if any failed.
# SPML_SKIP_WEB_UI=1 runs only the Python part; SPML_PYTHON310=/path/to/python3.10 adds the
# package's core tests on Python 3.10.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

install=()
[ "${SPML_INSTALL_PREREQUISITES:-0}" = 1 ] && install=(--install)
./scripts/test_prerequisites.sh "${install[@]}" || exit 1
./scripts/bootstrap.sh || { echo "error: scripts/bootstrap.sh failed: no check can run" >&2; exit 1; }

summary=()
failed=0
# step NAME COMMAND...: runs it, records ok/FAILED; returns its status
step() {
  local name="$1"
  shift
  echo "== $name"
  if "$@"; then
    summary+=("ok      $name")
  else
    summary+=("FAILED  $name")
    failed=1
    return 1
  fi
}
skipped() { summary+=("skipped $1 ($2)"); }

step "ruff check" .venv/bin/ruff check --no-cache .
step "ruff format" .venv/bin/ruff format --check --no-cache .
web_ui_ready=0
if [ "${SPML_SKIP_WEB_UI:-0}" != 1 ]; then # first: the Python tests' Chromium checks use it too
  cd web_ui
  step "web UI: npm ci" npm ci --no-audit --no-fund && web_ui_ready=1
  cd ..
fi
step "pytest" .venv/bin/python -m pytest "$@"
if [ -n "${SPML_PYTHON310:-}" ]; then # also check the package on Python 3.10
  step "Python 3.10 tests" ./scripts/test_python310.sh "$SPML_PYTHON310"
fi
if [ "${SPML_SKIP_WEB_UI:-0}" != 1 ]; then
  cd web_ui
  if [ "$web_ui_ready" = 1 ]; then
    step "web UI: ESLint" npm run lint
    step "web UI: unit tests (Vitest)" npm test
    step "web UI: Prettier" npm run format:check
    if step "web UI: build" npm run build; then
      step "web UI: browser tests (Chromium)" npm run e2e
    else
      skipped "web UI: browser tests (Chromium)" "no build"
    fi
  else
    skipped "web UI: lint, unit, format, build and browser tests" "npm ci failed"
  fi
  cd ..
fi

echo
echo "Summary:"
printf '  %s\n' "${summary[@]}"
exit "$failed"
