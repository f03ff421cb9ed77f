"""`stream-pose-ml` console command: one subcommand per step of the pipeline."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import StreamPoseMLError

log = logging.getLogger("stream_pose_ml")

#: The Python keywords that errors of the package name, and the flag each subcommand sets them with.
KEYWORD_FLAGS: dict[str, dict[str, str]] = {
    "build-dataset": {
        "annotations_data_directory": "--annotations",
        "sequence_data_directory": "--sequences",
        "segmentation_strategy": "--strategy",
        "segmentation_splitter_label": "--splitter-label",
        "segmentation_window_label": "--window-label",
        "segmentation_window": "--window",
        "decimal_precision": "--precision",
        "include_unlabeled_data": "--include-unlabeled",
        "include_z_axis": "--z",
    },
    "features": {"decimal_precision": "--precision", "include_z": "--z"},
}


def name_flags(message: str, command: str | None) -> str:
    """``message`` with the Python keywords of ``command`` replaced by its flags
    (``segmentation_window_label='x'`` becomes ``--window-label 'x'``)."""
    flags = KEYWORD_FLAGS.get(command or "", {})
    if not flags:
        return message
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, flags)) + r")\b(=?)")
    return pattern.sub(lambda m: flags[m[1]] + (" " if m[2] else ""), message)


class HelpFormatter(argparse.HelpFormatter):
    """Help that ends each option's text with its default (not for on/off flags or no default)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or "default" in text
        ):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})"


class Parser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` whose subcommands' help shows the defaults too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def _count(minimum: int) -> Any:
    """An argparse type: an integer >= ``minimum`` (the error names the flag)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return parse


@contextlib.contextmanager
def native_stderr_discarded() -> Iterator[None]:
    """Send file descriptor 2 to the null device while Python's ``sys.stderr`` (logging, the
    progress bar) keeps writing to the real one.

    MediaPipe's C++ code (absl, TFLite) writes its log lines straight to descriptor 2, from
    its own threads and from the worker processes started meanwhile (which inherit it);
    mediapipe 0.10.21 ignores GLOG_minloglevel and TF_CPP_MIN_LOG_LEVEL, so this is the one way
    to keep them out of the output.
    """
    original = sys.stderr
    try:
        original.flush()
        real = os.dup(2)
    except (AttributeError, OSError):  # no stderr at all (pythonw): nothing to keep clean
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    stream = os.fdopen(
        real,
        "w",
        buffering=1,
        encoding=getattr(original, "encoding", None),
        errors=getattr(original, "errors", None),
    )
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and h.stream is original
    ]
    sys.stderr = stream
    for handler in handlers:
        handler.setStream(stream)
    try:
        yield
    finally:
        stream.flush()
        os.dup2(real, 2)
        sys.stderr = original
        for handler in handlers:
            handler.setStream(original)
        stream.close()


def _assets(args: argparse.Namespace) -> int:
    from stream_pose_ml.extraction import model_assets

    if args.assets_command == "build":
        paths = model_assets.build_model_assets(
            complexities=args.complexity, force=args.force, out_dir=args.out
        )
        print("Pose model bundles (.task files):")
        for complexity, path in paths.items():
            print(f"  {complexity:5} {path}")
    elif args.assets_command == "path":
        print(model_assets.pose_model_path(args.complexity, build=False))
    elif args.assets_command == "copy-web":
        model_assets.copy_web_assets(Path(args.dest))
        print(args.dest)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from stream_pose_ml.demo_data import demo_video_path

    print(demo_video_path())
    return 0


def _extract(args: argparse.Namespace) -> int:
    """``run_extract`` printing one line per video: the progress bar only on a terminal, the
    per-video log lines and MediaPipe's native logs only with ``--verbose``."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    from stream_pose_ml.jobs.process_videos_job import run_extract

    quiet = args.quiet or not sys.stderr.isatty()
    args = argparse.Namespace(**{**vars(args), "quiet": quiet})
    if args.verbose:
        return run_extract(args)
    # run_extract prints each video's result; the job's log repeats it at INFO
    logging.getLogger("stream_pose_ml.extraction.video_batch").setLevel(logging.WARNING)
    with native_stderr_discarded(), logging_redirect_tqdm():
        return run_extract(args)


def _read_sequence(kind: str, src: str, image_size: tuple[int, int] | None, fps: float | None):
    from stream_pose_ml.keypoints import PoseSequence
    from stream_pose_ml.keypoints.formats import coco, legacy_json_reader, openpose

    fields: dict[str, Any] = {"fps": fps} if fps else {}
    if kind == "npz":
        return PoseSequence.from_npz(src)
    if kind == "legacy-sequence":
        return legacy_json_reader.read_legacy_sequence_json(src)
    if kind == "legacy-frames":
        return legacy_json_reader.read_legacy_frame_files(src, name=Path(src).name, **fields)
    if image_size is None:
        raise StreamPoseMLError(f"--from {kind} needs --image-size WIDTHxHEIGHT (pixels)")
    if kind == "openpose":
        body25 = openpose.from_openpose_json(src, image_size=image_size, **fields)
        return openpose.body25_to_blazepose(body25)
    return coco.read_coco_annotations(src, image_size=image_size, **fields)


def _convert(args: argparse.Namespace) -> int:
    from stream_pose_ml.keypoints.formats import coco, legacy_json_writer, openpose

    size = None
    if args.image_size:
        width, _, height = args.image_size.lower().partition("x")
        size = (int(width), int(height))
    seq = _read_sequence(args.source_format, args.src, size, args.fps)
    if size and seq.image_size is None:
        seq = dataclasses.replace(seq, image_size=size)
    dest = Path(args.dest)
    if args.to == "npz":
        seq.to_npz(dest)
    elif args.to == "legacy-sequence":
        legacy_json_writer.write_legacy_sequence_json(seq, dest)
    elif args.to == "legacy-frames":
        legacy_json_writer.write_legacy_frame_files(seq, dest)
    elif args.to == "openpose":
        openpose.write_openpose_json(openpose.blazepose_to_body25(seq), dest)
    else:
        coco.write_coco_annotations(seq, dest)
    print(f"{seq.n_frames} frames ({int(seq.detected.sum())} with a pose) -> {dest}")
    return 0


def _features(args: argparse.Namespace) -> int:
    from stream_pose_ml.features import FeatureSpec, PoseFeatureTransform, sliding_windows
    from stream_pose_ml.keypoints import PoseSequence

    if args.spec:
        spec = FeatureSpec.from_json(Path(args.spec).read_text())
    else:
        spec = FeatureSpec(
            joints=args.joints,
            normalized=args.normalized,
            angles=args.angles,
            distances=args.distances,
            vectors=args.vectors,
            include_z=args.z,
            decimal_precision=args.precision,
            window=args.window,
            window_mode="pool" if args.pool else "flatten",
        )
    seq = PoseSequence.from_npz(args.sequence)
    transform = PoseFeatureTransform(spec, image_size=seq.image_size).fit()
    windows = sliding_windows(seq, spec.window, stride=args.stride)
    table = transform.transform_frame(windows)
    last = seq.frame_numbers[spec.window - 1 :: args.stride][: len(table)]
    table.insert(0, "frame_number", last)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".parquet":
        table.to_parquet(output, index=False)
    else:
        table.to_csv(output, index=False)
    print(f"{len(table)} rows x {table.shape[1] - 1} features -> {output}")
    return 0


def _build_dataset(args: argparse.Namespace) -> int:
    from stream_pose_ml.jobs.build_and_format_dataset_job import BuildAndFormatDatasetJob

    job = BuildAndFormatDatasetJob(config=args.config)
    dataset = job.build_dataset_from_data_files(
        annotations_data_directory=args.annotations,
        sequence_data_directory=args.sequences,
        limit=args.limit,
    )
    formatted = job.format_dataset(
        dataset=dataset,
        pool_frame_data_by_clip=args.pool,
        decimal_precision=args.precision,
        include_unlabeled_data=args.include_unlabeled,
        include_angles=args.angles,
        include_distances=args.distances,
        include_normalized=args.normalized,
        include_joints=args.joints,
        include_z_axis=args.z,
        segmentation_strategy=args.strategy,
        segmentation_splitter_label=args.splitter_label,
        segmentation_window=args.window,
        segmentation_window_label=args.window_label,
    )
    output = Path(args.output)
    if output.suffix == ".parquet":
        path = job.write_dataset_to_parquet(output.parent, formatted, output.stem)
    else:
        path = job.write_dataset_to_csv(output.parent, formatted, output.stem)
    print(f"{len(formatted)} rows x {formatted.shape[1]} columns -> {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="stream-pose-ml",
        description="Real-time video pose classification: keypoints, features, datasets, models.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log debug messages, and MediaPipe's native log lines",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    assets = sub.add_parser("assets", help="pose model bundles (lite/full/heavy .task files)")
    assets_sub = assets.add_subparsers(dest="assets_command", required=True, metavar="ACTION")
    build = assets_sub.add_parser(
        "build", help="build missing .task bundles (uses npm for lite/heavy)"
    )
    build.add_argument(
        "--complexity", nargs="+", default=["lite", "full", "heavy"], help="which models"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if present")
    build.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: $STREAM_POSE_ML_MODELS or ~/.cache/stream_pose_ml/models)",
    )
    path = assets_sub.add_parser("path", help="print the path of a built bundle")
    path.add_argument(
        "--complexity", choices=["lite", "full", "heavy"], default="full", help="which model"
    )
    copy = assets_sub.add_parser("copy-web", help="copy the bundles into a web folder")
    copy.add_argument("dest", help="the web folder")
    assets.set_defaults(func=_assets)

    demo = sub.add_parser("demo", help="fetch the demo video (checksum-verified, cached)")
    demo.set_defaults(func=_demo)

    from stream_pose_ml.jobs.process_videos_job import add_extract_arguments

    extract = sub.add_parser("extract", help="extract keypoints from a folder of videos")
    add_extract_arguments(extract)
    extract.set_defaults(func=_extract)

    from stream_pose_ml.stream.command import add_run_arguments, run_command

    run = sub.add_parser(
        "run", help="run pose, a classifier or your algorithms over a video, camera or stream"
    )
    add_run_arguments(run)
    run.set_defaults(func=run_command)

    from stream_pose_ml.video_jobs.command import add_analyze_arguments, analyze_command

    analyze = sub.add_parser(
        "analyze", help="movement analyzers (squat, falls, gait) over a video or keypoint file"
    )
    add_analyze_arguments(analyze)
    analyze.set_defaults(func=analyze_command)

    kinds = ["npz", "legacy-sequence", "legacy-frames", "openpose", "coco"]
    convert = sub.add_parser("convert", help="convert keypoints between file formats")
    convert.add_argument("src", help="input file or folder")
    convert.add_argument("dest", help="output file or folder")
    convert.add_argument("--from", dest="source_format", choices=kinds, required=True)
    convert.add_argument("--to", choices=kinds, required=True)
    convert.add_argument("--image-size", help="WIDTHxHEIGHT in pixels (OpenPose, COCO input)")
    convert.add_argument("--fps", type=float, default=None, help="frame rate, if not recorded")
    convert.set_defaults(func=_convert)

    feats = sub.add_parser("features", help="compute feature rows from a sequence (.npz)")
    feats.add_argument("sequence", help="a <video>.npz file from `extract`")
    feats.add_argument("--output", required=True, help="output .csv or .parquet path")
    feats.add_argument("--spec", help="a FeatureSpec JSON file (overrides the flags below)")
    feats.add_argument("--window", type=_count(1), default=1, help="frames per row")
    feats.add_argument("--stride", type=_count(1), default=1, help="frames between rows")
    feats.add_argument("--no-angles", dest="angles", action="store_false", help="no angles")
    feats.add_argument("--no-distances", dest="distances", action="store_false")
    feats.add_argument("--no-normalized", dest="normalized", action="store_false")
    feats.add_argument("--vectors", action="store_true", help="bone vectors")
    _add_shared_feature_flags(feats)
    feats.set_defaults(func=_features)

    data = sub.add_parser("build-dataset", help="merge annotations and sequences into a table")
    data.add_argument("--annotations", required=True, help="folder of annotation JSON files")
    data.add_argument("--sequences", required=True, help="folder of extracted sequences")
    data.add_argument("--output", required=True, help="output .csv or .parquet path")
    data.add_argument("--config", default=None, help="config.yml with the annotation schema")
    data.add_argument(
        "--strategy",
        default="none",
        help="segmentation: none, split_on_label, window, flatten_into_columns, flatten_on_example",
    )
    data.add_argument("--splitter-label", default=None, help="label class to split segments on")
    data.add_argument("--window", type=_count(1), default=None, help="frames per window")
    data.add_argument("--window-label", default=None, help="label class of a window's row")
    data.add_argument("--angles", action="store_true", help="joint angle columns")
    data.add_argument("--distances", action="store_true", help="distance columns")
    data.add_argument("--normalized", action="store_true", help="body-normalized coordinates")
    _add_shared_feature_flags(data)
    data.add_argument("--include-unlabeled", action="store_true", help="keep unlabeled frames")
    data.add_argument(
        "--limit", type=_count(1), default=None, help="use at most N annotation files"
    )
    data.set_defaults(func=_build_dataset)
    return parser


def _add_shared_feature_flags(parser: argparse.ArgumentParser) -> None:
    """The feature flags of ``features`` and ``build-dataset``."""
    parser.add_argument("--joints", action="store_true", help="raw joint coordinates")
    parser.add_argument("--z", action="store_true", help="include the z axis")
    parser.add_argument("--pool", action="store_true", help="pool a window's frames (stats)")
    parser.add_argument("--precision", type=_count(0), default=4, help="decimal places")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except StreamPoseMLError as exc:
        print(f"error: {name_flags(str(exc), args.command)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
