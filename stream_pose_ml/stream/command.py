"""``stream-pose-ml run``: the stream runner from the command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import sys
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.algo import BaseAlgo
from stream_pose_ml.stream.builtin import ClassifierAlgo, PoseAlgo
from stream_pose_ml.stream.pipeline import Scheduled
from stream_pose_ml.stream.runner import MODES, RunSummary, StreamRunner
from stream_pose_ml.stream.schedule import Window, schedule_for

logger = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)x(\d+)", text.strip())
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x360, got {text!r}")
    return int(match[1]), int(match[2])


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from exc
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
        return value

    return parse


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``run`` command's arguments."""
    parser.add_argument(
        "source",
        help="a video file, an image folder, a camera (0, /dev/video0) or a stream URL "
        "(rtsp://, http://)",
    )
    parser.add_argument("--model", help="a model to classify with (bundle, pickle, MLflow URI)")
    parser.add_argument(
        "--algo",
        action="append",
        metavar="SPEC",
        help="an algorithm to run: 'pose', or 'module:Class' (a BaseAlgo subclass); repeatable. "
        "Default: pose (and the classifier when --model is given)",
    )
    parser.add_argument("--mode", choices=MODES, default="offline", help="how to run")
    parser.add_argument("--fps", type=_positive(float), help="play at most this many fps")
    parser.add_argument("--size", type=_size, help="scale frames to WIDTHxHEIGHT")
    parser.add_argument(
        "--complexity", choices=["lite", "full", "heavy"], default="full", help="pose model"
    )
    parser.add_argument(
        "--num-poses", type=_positive(int), default=1, help="people to find and track per frame"
    )
    parser.add_argument(
        "--subject",
        default="largest",
        help="with --num-poses > 1: who is classified, a track id or a rule applied while the"
        " subject is out of view: largest, nearest:X,Y or inside:X0,Y0,X1,Y1 (normalized)",
    )
    parser.add_argument("--stride", type=_positive(int), help="frames between classifications")
    parser.add_argument(
        "--interval", type=_positive(float), help="seconds between runs of --algo classes"
    )
    parser.add_argument(
        "--every", type=_positive(int), help="frames between runs of --algo classes"
    )
    parser.add_argument(
        "--frame-count", type=_positive(int), default=1, help="frames per run of --algo classes"
    )
    parser.add_argument(
        "--frame-step", type=_positive(int), default=1, help="played frames between them"
    )
    parser.add_argument(
        "--output",
        action="append",
        metavar="PATH",
        help="result file, .jsonl or .parquet; repeatable (default: <source name>.jsonl here)",
    )
    parser.add_argument("--video-out", type=Path, help="annotated H.264 MP4 to write")
    parser.add_argument(
        "--buffer", type=_positive(int), default=2, help="real-time frame buffer, in frames"
    )
    parser.add_argument(
        "--max-lateness",
        type=_positive(float),
        help="real time: skip runs whose frame is older than this many seconds",
    )
    parser.add_argument("--max-frames", type=_positive(int), help="stop after this many frames")
    parser.add_argument(
        "--source-fps", type=_positive(float), help="frame rate of an image folder or camera"
    )
    parser.add_argument(
        "--read-timeout", type=_positive(float), default=5.0, help="network: seconds per read"
    )
    parser.add_argument(
        "--reconnect-attempts",
        type=_positive(int),
        default=8,
        help="network: attempts to reconnect before giving up",
    )
    parser.add_argument(
        "--timings", action="store_true", help="offline: write timings (not reproducible)"
    )
    parser.add_argument("--mlflow", metavar="EXPERIMENT", help="log the run to MLflow")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or status line")


def _user_algo(spec: str) -> BaseAlgo:
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise StreamError(f"--algo {spec!r}: use 'pose' or 'module:Class'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise StreamError(
            f"--algo {spec!r}: cannot import {class_name} from {module_name}: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseAlgo)):
        raise StreamError(f"--algo {spec!r} is not a BaseAlgo subclass")
    return cls()


def algorithms(args: argparse.Namespace) -> list[BaseAlgo | Scheduled]:
    """The algorithms ``args`` ask for, in run order (pose first)."""
    specs = list(args.algo or []) or ["pose"]
    chosen: list[BaseAlgo | Scheduled] = []
    if args.model and "pose" not in specs:
        specs.insert(0, "pose")
    for spec in specs:
        if spec == "pose":
            chosen.append(
                PoseAlgo(complexity=args.complexity, num_poses=args.num_poses, subject=args.subject)
            )
            if args.model:
                chosen.append(ClassifierAlgo(args.model, stride=args.stride))
        else:
            schedule = schedule_for(interval=args.interval, every=args.every)
            window = Window(args.frame_count, args.frame_step)
            chosen.append(Scheduled(_user_algo(spec), schedule, window, args.max_lateness))
    return chosen


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    from stream_pose_ml.stream.network import ReconnectPolicy

    options: dict[str, Any] = {"fps": args.source_fps}
    if re.match(r"^\w+://", args.source):
        options["read_timeout_s"] = args.read_timeout
        options["reconnect"] = ReconnectPolicy(max_attempts=args.reconnect_attempts)
    return options


def _default_output(source: str) -> Path:
    stem = Path(source).stem if not re.match(r"^\w+://", source) else "stream"
    return Path(f"{stem or 'stream'}.jsonl")


def run_command(args: argparse.Namespace) -> int:
    """Run, then print one line: frames, drops, results and the files written."""
    source: str | int = int(args.source) if args.source.isdigit() else args.source
    outputs = [Path(p) for p in args.output or []] or [_default_output(args.source)]
    runner = StreamRunner(
        source,
        algorithms(args),
        mode=args.mode,
        fps=args.fps,
        size=args.size,
        outputs=outputs,
        video_out=args.video_out,
        buffer=args.buffer,
        max_lateness_s=args.max_lateness,
        timings=True if args.timings else None,
        progress=not args.quiet and sys.stderr.isatty(),
        mlflow_experiment=args.mlflow,
        max_frames=args.max_frames,
        source_options=_source_options(args),
    )
    try:
        summary = runner.run()
    except KeyboardInterrupt:
        runner.stop()
        print("interrupted: the files hold the frames run so far", file=sys.stderr)
        return 130
    print(describe(summary))
    return 0


def describe(summary: RunSummary) -> str:
    m = summary.metrics
    results = sum(a["results"] for a in m["algorithms"].values())
    files = [str(p) for p in [*summary.outputs, *([summary.video] if summary.video else [])]]
    return (
        f"{m['frames_processed']} of {m['frames_decoded']} frames run "
        f"({m['frames_dropped']} dropped, {m['frames_decimated']} decimated) in "
        f"{m['elapsed_s']:.1f} s ({m['effective_fps']:.1f} fps), {results} results -> "
        + ", ".join(files)
    )
