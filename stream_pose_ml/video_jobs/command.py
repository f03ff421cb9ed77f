"""``stream-pose-ml analyze``: the movement analyzers over a video or a keypoint file.

A video goes through the same pipeline as a web UI job (`worker.run_job`, in this process):
pose, the analyzers, the classifier with ``--model``, and the job's files in ``--out``
(annotated.mp4, timeline.json, events.csv, keypoints.json, results.jsonl, summary.json). A
keypoint file (``.npz``, the legacy sequence JSON) is analyzed offline with `analysis.analyze`
(the same events as live) into ``events.csv`` and ``events.json``. Both write
``<analyzer>.png``: its signal with the events marked (`analysis.plots`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from stream_pose_ml.analysis.registry import ANALYZERS
from stream_pose_ml.errors import ServingError, StreamPoseMLError

KEYPOINT_SUFFIXES = (".npz", ".json")


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="a video file, or a keypoint file (.npz, legacy .json)")
    parser.add_argument(
        "--analyzer",
        action="append",
        required=True,
        choices=sorted(ANALYZERS),
        help="an analyzer to run (repeatable)",
    )
    parser.add_argument("--out", required=True, help="folder for the results (made if missing)")
    parser.add_argument("--complexity", default="full", help="video: lite, full or heavy")
    parser.add_argument("--num-poses", type=int, default=1, help="video: most people per frame")
    parser.add_argument(
        "--subject",
        default="largest",
        help="video with --num-poses > 1: largest, longest, moves_most or a track id",
    )
    parser.add_argument("--model", help="video: a model file to classify with as well")
    parser.add_argument(
        "--zero-phase",
        action="store_true",
        help="keypoint file: smooth forward and backward first (offline only; docs/analysis.md)",
    )


def analyze_command(args: argparse.Namespace) -> int:
    """Analyze, then print one line: the events found and where the files are."""
    source, out = Path(args.source), Path(args.out)
    if not source.is_file():
        raise StreamPoseMLError(f"no such file: {source}")
    out.mkdir(parents=True, exist_ok=True)
    if source.suffix.lower() in KEYPOINT_SUFFIXES:
        events = analyze_keypoints(source, args.analyzer, out, args.zero_phase)
    else:
        events = analyze_video(source, args, out)
    print(f"{events} events from {', '.join(args.analyzer)} -> {out}")
    return 0


def analyze_video(source: Path, args: argparse.Namespace, out: Path) -> int:
    """The web UI job's pipeline on ``source``, its files in ``out``; the number of events."""
    from stream_pose_ml.video_jobs.settings import JobSettings
    from stream_pose_ml.video_jobs.store import probe, write_json_atomic
    from stream_pose_ml.video_jobs.worker import run_job

    try:
        settings = JobSettings.from_fields(
            {
                "complexity": args.complexity,
                "num_poses": args.num_poses,
                "subject": args.subject,
                "analyzers": args.analyzer,
                "classify": bool(args.model),
            }
        )
        facts = probe(source)
    except ServingError as exc:
        raise StreamPoseMLError(str(exc)) from None
    task = {
        "video_path": str(source.resolve()),
        "video": {"filename": source.name, **facts},
        "settings": settings.to_dict(),
        "model_path": str(Path(args.model).resolve()) if args.model else None,
    }
    write_json_atomic(out / "task.json", task)
    summary = run_job(out, plots=True)
    return int(summary["events"])


def analyze_keypoints(source: Path, names: list[str], out: Path, zero_phase: bool) -> int:
    """`analysis.analyze` over a keypoint file; events.csv and events.json in ``out``."""
    from stream_pose_ml.analysis import analyze
    from stream_pose_ml.analysis.plots import plot_events
    from stream_pose_ml.analysis.registry import make_analyzer
    from stream_pose_ml.keypoints import PoseSequence
    from stream_pose_ml.keypoints.formats import legacy_json_reader
    from stream_pose_ml.video_jobs.outputs import timeline_events, write_events_csv

    if source.suffix.lower() == ".npz":
        sequence = PoseSequence.from_npz(source)
    else:
        sequence = legacy_json_reader.read_legacy_sequence_json(source)
    records: list[dict[str, Any]] = []
    for name in names:
        result = analyze(make_analyzer(name), sequence, zero_phase_smoothing=zero_phase)
        plot_events(name, result.events, result.signal, out / f"{name}.png", source.name)
        records.append(
            {"value": {"analyzer": name, "events": [e.to_dict() for e in result.events]}}
        )
    events = timeline_events(records)
    write_events_csv(out / "events.csv", events)
    (out / "events.json").write_text(json.dumps(events, indent=1, allow_nan=False))
    return len(events)
