#!/usr/bin/env python
"""Build the example "Arms Raised" model from the demo video (see docs/example.md).

demo video -> MediaPipe keypoints (ProcessVideosJob) -> labelled per-frame dataset
(BuildAndFormatDatasetJob, examples/demo/) -> ModelBuilder (logistic regression, split by annotation
blocks) -> ``<out>/arms_raised/`` bundle, ``<out>/arms_raised.zip`` and the legacy
pickle ``<out>/arms_raised.pickle``. An up-to-date build in ``--out`` is reused unless
``--force``. The last line on stdout is the bundle's path.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

DEFAULT_OUT = "data/example_model"
BUNDLE_NAME = "arms_raised"  # stream_pose_ml.learning.example.BUNDLE_NAME, without importing it


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Train the example Arms Raised / Arms Lowered model on the demo video and save it as "
            f"a bundle ({BUNDLE_NAME}/ and {BUNDLE_NAME}.zip) and as the legacy pickle."
        )
    )
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if the folder holds a current build"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the result lines, not the reports"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # imported after parsing: scikit-learn and pandas take seconds to import, --help needs neither
    from stream_pose_ml.errors import StreamPoseMLError
    from stream_pose_ml.learning.example import build_example_model

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        model = build_example_model(args.out, force=args.force, verbose=not args.quiet)
    except StreamPoseMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "up to date, reused" if model.reused else "built"
    metrics = model.metrics
    print(f"Example model {state} (held-out rows: {model.split.get('n_test')}):")
    for name in ("accuracy", "roc_auc", "f1", "cv_accuracy_mean", "cv_roc_auc_mean"):
        print(f"  {name}: {metrics.get(name)}")
    print(f"Legacy pickle: {model.legacy_pickle}")
    print(f"Bundle zip:    {model.bundle_zip}")
    print(model.bundle_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
