"""``LoadedModel.predict`` on one row, a legacy pickle and a bundle of the same XGBoost model.

A short, quick check of the live server's prediction call (``bench_prediction.py`` times every
path, including MLflow's): the synthetic model of ``bench_prediction.py`` (window 10, 1070
columns), best of ``--batches`` x ``--calls`` calls, in milliseconds per call.

    .venv/bin/python benchmarks/bench_loaded_model.py
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
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
