#!/usr/bin/env python
"""A small model of a given window for the end-to-end tests (e2e/batching.e2e.test.mjs).

A gradient-boosting classifier (it takes NaN, like frames without a detection) fitted on the
synthetic pose windows of ``stream_pose_ml.learning.synthetic``, whose features come from the real
``PoseFeatureTransform`` (``window_mode`` flatten), saved as a model bundle zip. What it answers
does not matter to the tests; that the server classifies windows of ``--window`` frames every
``--stride`` frames does. An existing ``--out`` is reused unless ``--force``. The last line on
stdout is the zip's path.

    .venv/bin/python web_ui/scripts/make_window_model.py --window 5 --stride 2 --out /tmp/w5.zip
"""

from __future__ import annotations

import argparse
from pathlib import Path


def build(out: Path, window: int, stride: int) -> Path:
    """Fit the model and write its bundle zip to ``out``."""
    from stream_pose_ml.features import PoseFeatureTransform
    from stream_pose_ml.learning.bundle import save_bundle
    from stream_pose_ml.learning.synthetic import CLASS_LABELS, fit_window_model

    model, spec = fit_window_model(window, seed=window)
    columns = list(PoseFeatureTransform(spec).fit().get_feature_names_out())
    return save_bundle(
        out,
        model,
        columns,
        feature_spec=spec,
        class_labels={value: label for value, label in CLASS_LABELS.items()},
        window_stride=stride,
        notes=f"web UI end-to-end tests: window {window}, stride {stride}",
        overwrite=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, required=True, help="frames per window")
    parser.add_argument("--stride", type=int, default=1, help="the model's own stride")
    parser.add_argument("--out", type=Path, required=True, help="the bundle zip to write")
    parser.add_argument("--force", action="store_true", help="rebuild an existing --out")
    args = parser.parse_args()
    if args.force or not args.out.is_file():
        build(args.out, args.window, args.stride)
    print(args.out)  # noqa: T201 - the path is this command's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
