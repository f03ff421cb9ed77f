"""The live server's own work per message, in process: ``LiveService.keypoints`` end to end.

What the API does for each ``keypoints`` message once Socket.IO has decoded it (parse and
validate, the session's rolling window, the feature transform, the model, the ``frame_result``),
with no network and no Socket.IO, so the numbers are the server's CPU per message and per
classified window. The floor, run in the same process on the same windows, is the bare model:
``LoadedModel.predict_proba`` of each window's precomputed feature row, one window at a time
(what the live path must do at least). Both are CPU time (``time.process_time``), the best of
``--repeats`` passes, so other processes on a shared machine cost less precision than wall time.

    .venv/bin/python benchmarks/bench_live_path.py --sessions 10 --frames 300 --mode json
    .venv/bin/python benchmarks/bench_live_path.py --mode binary --batch 5

The model is the load benchmark's (``load_data.build_model``: XGBoost, 30-frame flattened
windows, overlap 25, a window every 5 frames).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from load_data import build_model, pose_frames

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SIZE = (1280, 720)


def messages(mode: str, frames: np.ndarray, batch: int) -> list[Any]:
    """The session's messages: one frame per JSON message, or binary batches."""
    from stream_pose_ml.keypoints.landmarks import CHANNELS
    from stream_pose_ml.serving import encode_frames

    if mode == "binary":
        return [
            encode_frames(
                frames[i : i + batch], np.arange(i, i + len(frames[i : i + batch])), None, SIZE
            )
            for i in range(0, len(frames), batch)
        ]
    size = {"width": SIZE[0], "height": SIZE[1]}
    return [
        {
            "landmarks": [dict(zip(CHANNELS, map(float, p), strict=True)) for p in frame],
            "frame_id": i,
            "image_size": size,
        }
        for i, frame in enumerate(frames)
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from stream_pose_ml.keypoints import PoseSequence
    from stream_pose_ml.learning import load_model
    from stream_pose_ml.serving import LiveService, ModelStore

    with tempfile.TemporaryDirectory(prefix="spml-live-path-") as tmp:
        bundle = build_model(Path(tmp), args.window)
        results: list[dict[str, Any]] = []
        service = LiveService(
            ModelStore(Path(tmp) / "models"),
            emit=lambda event, body, sid: results.append(body) if event == "frame_result" else None,
            spawn=lambda fn: fn(),  # the worker runs inline: all of its CPU is counted
        )
        with open(bundle, "rb") as upload:
            service.set_model(upload, bundle.name, overlap=args.overlap)
        streams = [pose_frames(args.frames, seed=s) for s in range(args.sessions)]
        sent = [messages(args.mode, frames, args.batch) for frames in streams]

        # the floor: the bare model on the same windows' rows, one window per call
        model = load_model(bundle)
        make = getattr(model, "feature_transform", None) or model.transform  # the earlier name
        transform = make()
        stride = args.window - args.overlap
        rows = [
            transform.transform(PoseSequence(frames, image_size=SIZE)[s : s + args.window])
            for frames in streams
            for s in range(0, args.frames - args.window + 1, stride)
        ]

        best_path = best_floor = float("inf")
        windows = 0
        for _ in range(args.repeats):
            for sid in range(args.sessions):
                service.close_session(str(sid))
                service.open_session(str(sid))
            results.clear()
            start = time.process_time()
            for step in range(len(sent[0])):
                for sid in range(args.sessions):
                    service.keypoints(str(sid), sent[sid][step])
            best_path = min(best_path, time.process_time() - start)
            windows = sum(len(r.get("results", [r])) for r in results if r["label"] is not None)
            start = time.process_time()
            for row in rows:
                model.predict_proba(row)
            best_floor = min(best_floor, time.process_time() - start)
        n_messages = args.sessions * len(sent[0])
        return {
            "mode": args.mode,
            "batch": 1 if args.mode == "json" else args.batch,
            "sessions": args.sessions,
            "frames": args.frames,
            "messages": n_messages,
            "windows": windows,
            "expected_windows": len(rows),
            "path_us_per_message": 1e6 * best_path / n_messages,
            "path_us_per_window": 1e6 * best_path / max(1, windows),
            "floor_us_per_window": 1e6 * best_floor / len(rows),
            "path_over_floor": best_path / best_floor,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--mode", choices=("json", "binary"), default="json")
    parser.add_argument("--batch", type=int, default=5, help="frames per binary message")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--frames", type=int, default=300, help="frames per session")
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--overlap", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=5, help="passes; the best is reported")
    parser.add_argument("--json", type=Path, help="append the report as a JSON line here")
    args = parser.parse_args()
    report = run(args)
    if report["windows"] != report["expected_windows"]:
        raise SystemExit(f"the live path answered {report['windows']} windows: {report}")
    if args.json:
        with open(args.json, "a") as out:
            out.write(json.dumps(report) + "\n")
    print(
        f"| {report['mode']} x{report['batch']} | {report['sessions']} | {report['messages']} | "
        f"{report['windows']} | {report['path_us_per_message']:.0f} | "
        f"{report['path_us_per_window']:.0f} | {report['floor_us_per_window']:.0f} | "
        f"{report['path_over_floor']:.2f} |"
    )


if __name__ == "__main__":
    main()
