#!/usr/bin/env bash
# Runs the package's core tests (keypoints, features, datasets, learning, extraction) under
# Python 3.10 in .venv310, installed by bootstrap.sh from the same constraints.txt (it carries
# 3.10 pins). Usage: scripts/test_python310.sh /path/to/python3.10
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="$1" SPML_BOOTSTRAP_VENV=.venv310 SPML_BOOTSTRAP_EXTRAS=mlflow,dev SPML_BOOTSTRAP_ASSETS=0 \
  ./scripts/bootstrap.sh
.venv310/bin/python -m pytest -q -p no:cacheprovider \
  tests/test_sequence.py tests/test_formats_*.py tests/test_geometry.py tests/test_feature_*.py \
  tests/test_annotations.py tests/test_segmentation.py tests/test_dataset.py \
  tests/test_build_and_format_dataset_job.py tests/test_model_builder.py tests/test_model_bundle.py \
  tests/test_model_loading.py tests/test_pipeline_end_to_end.py tests/test_pose_estimator.py \
  tests/test_video.py tests/test_process_videos_job.py tests/test_model_assets.py \
  tests/test_stream_schedule.py tests/test_stream_cli.py
