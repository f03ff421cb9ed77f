#!/usr/bin/env bash
# Starts StreamPoseML: the web UI on :3000, the API on :5001, the MLflow model service on :5002.
#
# With a Docker engine (`docker info` works): `docker compose up -d --build`.
# Without one: the same stack as local processes (scripts/run_local.py): the .venv and pose model
# bundles (scripts/bootstrap.sh), the example model, the web UI build, then the services, with
# PID files in run/ and logs in logs/. Idempotent: a second run reports what is running.
#
# Environment: SPML_MODE=auto|docker|local, SPML_API_PORT, SPML_UI_PORT, SPML_MLFLOW_PORT,
# SPML_BIND (local mode, default 127.0.0.1), SPML_VENV (use this existing virtual environment
# instead of creating .venv), and the API's STREAM_POSE_ML_* settings (also read from .env).
# See docs/deploy.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

if [ -f .env ]; then # the same settings file docker compose reads
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi

docker_engine() {
  command -v docker >/dev/null 2>&1 || return 1
  if command -v timeout >/dev/null 2>&1; then
    timeout 15 docker info >/dev/null 2>&1
  else
    docker info >/dev/null 2>&1
  fi
}

compose() {
  # The Dockerfiles use BuildKit features (RUN --mount); docker-compose v1 needs these to use it.
  export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
  if docker compose version >/dev/null 2>&1; then
    docker compose "$@"
  elif command -v docker-compose >/dev/null 2>&1; then
    docker-compose "$@"
  else
    echo "error: Docker is running but neither 'docker compose' nor 'docker-compose' is installed" >&2
    exit 1
  fi
}

mode="${SPML_MODE:-auto}"
if [ "$mode" = auto ]; then
  if docker_engine; then mode=docker; else mode=local; fi
fi

case "$mode" in
docker)
  mkdir -p run
  compose up -d --build
  echo docker >run/mode
  echo "StreamPoseML is running in Docker: open http://localhost:${SPML_UI_PORT:-3000}/"
  echo "API: http://localhost:${SPML_API_PORT:-5001}/health. Logs: docker compose logs -f. Stop: ./stop.sh"
  ;;
local)
  if [ -n "${SPML_VENV:-}" ]; then
    VENV="$(cd "$SPML_VENV" && pwd)"
    [ -x "$VENV/bin/python" ] || { echo "error: SPML_VENV=$SPML_VENV has no bin/python" >&2; exit 1; }
    "$VENV/bin/stream-pose-ml" assets build >/dev/null
  else
    ./scripts/bootstrap.sh
    VENV="$ROOT/.venv"
  fi
  mkdir -p run
  echo local >run/mode
  exec "$VENV/bin/python" scripts/run_local.py start
  ;;
*)
  echo "error: SPML_MODE=$mode: use auto, docker or local" >&2
  exit 1
  ;;
esac
