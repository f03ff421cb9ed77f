"""One-row prediction latency per model format: what the live server pays per classification.

Trains a random forest and an XGBoost model on a synthetic dataset built with the real feature
transform (``--window`` frames flattened, angles + distances + normalized coordinates, the
original StreamPoseML's ``flatten_on_example`` layout), then times one row at a time:

1. the bare estimator's ``predict`` (the floor);
2. ``load_model`` of the legacy pickle ``{"classifier": model}`` -> ``LoadedModel.predict``;
3. ``load_model`` of a bundle (skops / XGBoost JSON) -> ``LoadedModel.predict``;
4. ``mlflow.pyfunc`` in-process (a one-row DataFrame, schema enforcement included);
5. MLflow over HTTP: ``mlflow models serve --env-manager local`` on loopback, one POST to
   ``/invocations`` (``dataframe_split``) per row over a kept-alive connection;

and, for reference, the feature transform of one window (``LoadedModel.feature_transform()``).
Reports p50 / p95 / mean in milliseconds. Prints a markdown table; ``--write`` puts it under
"## Prediction latency" at the end of docs/benchmarks.md.
Run: ``.venv/bin/python benchmarks/bench_prediction.py [--write]``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SECTION = "## Prediction latency"


def timed(call: Callable[[], Any], repeats: int, warmup: int = 20) -> np.ndarray:
    """Milliseconds per call, ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    out = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        call()
        out[i] = (time.perf_counter() - start) * 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=10, help="frames per row (flattened)")
    parser.add_argument("--repeats", type=int, default=500, help="timed calls per case")
    parser.add_argument("--http-repeats", type=int, default=300, help="timed HTTP calls")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]

    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")  # pyfunc of sklearn
    import mlflow.pyfunc
    import requests
    import xgboost
    from sklearn.ensemble import RandomForestClassifier

    from stream_pose_ml.features import FeatureSpec, is_feature_column
    from stream_pose_ml.features.windows import sliding_windows
    from stream_pose_ml.learning import load_model, save_bundle
    from stream_pose_ml.learning.mlflow_tracking import ModelServer, save_mlflow_model
    from stream_pose_ml.learning.synthetic import VALUE_MAP, synthetic_dataset

    spec = FeatureSpec(window=args.window, decimal_precision=4)
    table, sequences = synthetic_dataset(n_videos=12, frames_per_video=80, spec=spec)
    table = table.dropna(subset=["weight_transfer_type"])
    columns = [c for c in table.columns if is_feature_column(c)]
    X = table[columns]
    y = table["weight_transfer_type"].map(VALUE_MAP["weight_transfer_type"]).to_numpy()
    sequence = sequences["video_00"]
    window = sliding_windows(sequence, args.window)[:1]
    models = {
        "random forest (100 trees)": RandomForestClassifier(n_estimators=100, random_state=0),
        "XGBoost (100 trees)": xgboost.XGBClassifier(n_estimators=100, max_depth=4),
    }
    rows: list[tuple[str, str, np.ndarray]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i, (name, model) in enumerate(models.items()):
            model.fit(X, y)
            one_row = X.iloc[[0]]
            one_row_array = one_row.to_numpy()
            pickle_path = folder / f"legacy{i}.pickle"
            pickle_path.write_bytes(pickle.dumps({"classifier": model}))
            legacy = load_model(pickle_path)
            bundle = load_model(
                save_bundle(folder / f"bundle{i}", model, columns, feature_spec=spec)
            )
            mlflow_dir = save_mlflow_model(
                model,
                folder / f"mlflow{i}",
                input_columns=columns,
                input_example=X.head(3),
                feature_spec=spec,
            )
            pyfunc = mlflow.pyfunc.load_model(str(mlflow_dir))
            transform = legacy.feature_transform().with_input(sequence.image_size)
            cases: dict[str, Callable[[], Any]] = {
                "bare estimator `predict` (DataFrame row)": lambda m=model, r=one_row: m.predict(r),
                "legacy pickle -> `LoadedModel.predict`": lambda r=one_row_array, m=legacy: (
                    m.predict(r)
                ),
                f"bundle ({bundle.metadata['manifest']['classifier']['format']}) -> "
                "`LoadedModel.predict`": lambda r=one_row_array, m=bundle: m.predict(r),
                "MLflow pyfunc in-process": lambda r=one_row, p=pyfunc: p.predict(r),
            }
            for label, call in cases.items():
                rows.append((name, label, timed(call, args.repeats)))
            rows.append(
                (
                    name,
                    "feature transform of one window (not a prediction)",
                    timed(
                        lambda t=transform: t.transform(window),
                        args.repeats,
                    ),
                )
            )
            with ModelServer(mlflow_dir) as server, requests.Session() as session:
                payload = {"dataframe_split": {"columns": columns, "data": one_row_array.tolist()}}
                url = f"{server.url}/invocations"

                def post(s: requests.Session = session, body: dict = payload, u: str = url) -> Any:
                    response = s.post(u, json=body, timeout=30)
                    response.raise_for_status()
                    return response.json()

                expected = model.predict(one_row).tolist()
                assert post()["predictions"] == expected, "the server disagrees with the model"
                rows.append(
                    (
                        name,
                        "MLflow over HTTP (`mlflow models serve`)",
                        timed(post, args.http_repeats),
                    )
                )

    header = (
        f"`.venv/bin/python benchmarks/bench_prediction.py --window {args.window}`: one row of "
        f"{len(columns)} features (window of {args.window} frames flattened; angles, distances, "
        f"normalized coordinates), {args.repeats} timed calls per case ({args.http_repeats} over "
        f"HTTP) after 20 warm-up calls; {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, loopback HTTP with a kept-alive connection; 1-minute "
        f"load average {load_at_start:.1f} at the start (other jobs may share the CPU)."
    )
    notes = (
        "`LoadedModel.predict` hands native estimators a float matrix in column order and runs "
        "them on one thread; the bare estimators here get a one-row DataFrame and keep their "
        "default thread pools (XGBoost: all cores). MLflow's pyfunc checks the input schema "
        "column by column on every call, which dominates in-process and over HTTP for wide rows."
    )
    lines = [
        SECTION,
        "",
        header,
        "",
        "| model | path | p50 ms | p95 ms | mean ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, label, ms in rows:
        p50, p95 = np.percentile(ms, [50, 95])
        lines.append(f"| {name} | {label} | {p50:.2f} | {p95:.2f} | {ms.mean():.2f} |")
    lines += ["", notes]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section(text)


def write_section(text: str) -> None:
    """Replace this benchmark's section of docs/benchmarks.md, or append it at the end."""
    doc = DOCS.read_text()
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n", doc, count=1).rstrip("\n") + "\n"
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    DOCS.write_text(doc)
    print(f"updated {DOCS}")


if __name__ == "__main__":
    main()
