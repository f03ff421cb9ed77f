#!/usr/bin/env bash
# Starts StreamPoseML. Today: prepares the toolkit (venv, pose model bundles, demo video) and
# checks the pipeline runs. The live API (port 5001) and web UI (port 3000) are being built
# (issues 4-6); this script will start them as local processes, or with Docker Compose.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./scripts/bootstrap.sh
.venv/bin/stream-pose-ml demo >/dev/null
echo "StreamPoseML toolkit ready: .venv/bin/stream-pose-ml --help"
echo "The web app (localhost:3000) and API (localhost:5001) are not part of this version yet."
