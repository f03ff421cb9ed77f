"""``LoadedModel`` on one row: a legacy pickle and a bundle of the same XGBoost model, or a bundle.

A short, quick check of the live server's prediction call (``bench_prediction.py`` times every
path, including MLflow's): the synthetic model of ``bench_prediction.py`` (window 10, 1070
columns), best of ``--batches`` x ``--calls`` calls, in milliseconds per call. With ``--model``
a bundle (e.g. the example model): its feature transform of one window, ``predict_proba`` of one
row, and the estimator's own ``predict_proba`` (scikit-learn's checks included) for comparison.

    .venv/bin/python benchmarks/bench_loaded_model.py
    .venv/bin/python benchmarks/bench_loaded_model.py --model data/example_model/arms_raised.zip
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def best_ms(call: Callable[[], Any], calls: int, batches: int) -> float:
    times = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - start) / calls * 1e3)
    return min(times)


def main() -> None:
    import xgboost

    from stream_pose_ml.features import FeatureSpec, is_feature_column
    from stream_pose_ml.learning import load_model, save_bundle
    from stream_pose_ml.learning.synthetic import VALUE_MAP, synthetic_dataset

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--batches", type=int, default=7)
    parser.add_argument("--model", type=Path, help="time this bundle instead")
    args = parser.parse_args()
    if args.model:
        time_bundle(args.model, args.calls, args.batches)
        return
    spec = FeatureSpec(window=10, decimal_precision=4)
    table, _ = synthetic_dataset(n_videos=12, frames_per_video=80, spec=spec)
    table = table.dropna(subset=["weight_transfer_type"])
    columns = [c for c in table.columns if is_feature_column(c)]
    target = table["weight_transfer_type"].map(VALUE_MAP["weight_transfer_type"]).to_numpy()
    model = xgboost.XGBClassifier(n_estimators=100, max_depth=4).fit(table[columns], target)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "legacy.pickle").write_bytes(pickle.dumps({"classifier": model}))
        legacy = load_model(folder / "legacy.pickle")
        bundle = load_model(save_bundle(folder / "bundle", model, columns, feature_spec=spec))
        row = table[columns].iloc[[0]].to_numpy()
        for name, loaded in (("legacy pickle", legacy), ("bundle", bundle)):
            ms = best_ms(lambda m=loaded: m.predict(row), args.calls, args.batches)
            print(f"{name}: {ms:.3f} ms")


def time_bundle(path: Path, calls: int, batches: int) -> None:
    """The bundle's transform and probability calls on one window of the demo video."""
    import warnings

    import numpy as np
    from load_data import demo_landmarks

    from stream_pose_ml.learning import load_model
    from stream_pose_ml.learning.predictor import FEATURE_NAMES_WARNING

    model = load_model(path)
    frames = demo_landmarks()
    transform = model.feature_transform().with_input(image_size=frames.image_size)
    window = frames.data[100 : 100 + model.window_size][None].astype(np.float64)
    row = transform.transform(window)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("feature transform of one window", lambda: transform.transform(window)),
        ("LoadedModel.predict_proba, one row", lambda: model.predict_proba(row)),
        (
            f"{type(model.estimator).__name__}.predict_proba, one row",
            lambda: model.estimator.predict_proba(row),
        ),
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=FEATURE_NAMES_WARNING, category=UserWarning)
        for name, call in cases:
            print(f"{name}: {best_ms(call, calls, batches):.3f} ms")


if __name__ == "__main__":
    main()
