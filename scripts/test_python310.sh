#!/usr/bin/env bash
# Runs the package's core tests (keypoints, features, datasets, learning, extraction) under
# Python 3.10 in .venv310, installed from the same constraints.txt (it carries 3.10 pins).
# Usage: scripts/test_python310.sh /path/to/python3.10
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY310="$1"
stamp=".venv310/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  [ -x .venv310/bin/python ] || "$PY310" -m venv .venv310
  .venv310/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".[mlflow,dev]"
  rm -f .venv310/.installed-*
  touch "$stamp"
fi
.venv310/bin/python -m pytest -q -p no:cacheprovider \
  tests/test_sequence.py tests/test_formats_*.py tests/test_geometry.py tests/test_feature_*.py \
  tests/test_annotations.py tests/test_segmentation.py tests/test_dataset.py \
  tests/test_build_and_format_dataset_job.py tests/test_model_builder.py tests/test_model_bundle.py \
  tests/test_model_loading.py tests/test_pipeline_end_to_end.py tests/test_pose_estimator.py \
  tests/test_video.py
