"""`stream-pose-ml` console command: one subcommand per step of the pipeline."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import StreamPoseMLError

log = logging.getLogger("stream_pose_ml")


def _assets(args: argparse.Namespace) -> int:
    from stream_pose_ml.extraction import model_assets

    if args.assets_command == "build":
        paths = model_assets.build_model_assets(
            complexities=args.complexity, force=args.force, out_dir=args.out
        )
        for complexity, path in paths.items():
            print(f"{complexity}\t{path}")
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
    from stream_pose_ml.jobs.process_videos_job import run_extract

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
    parser = argparse.ArgumentParser(
        prog="stream-pose-ml",
        description="Real-time video pose classification: keypoints, features, datasets, models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
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
    build.add_argument("--out", type=Path, default=None, help="output folder")
    path = assets_sub.add_parser("path", help="print the path of a built bundle")
    path.add_argument("--complexity", default="full")
    copy = assets_sub.add_parser("copy-web", help="copy the bundles into a web folder")
    copy.add_argument("dest")
    assets.set_defaults(func=_assets)

    demo = sub.add_parser("demo", help="fetch the demo video (checksum-verified, cached)")
    demo.set_defaults(func=_demo)

    from stream_pose_ml.jobs.process_videos_job import add_extract_arguments

    extract = sub.add_parser("extract", help="extract keypoints from a folder of videos")
    add_extract_arguments(extract)
    extract.set_defaults(func=_extract)

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
    feats.add_argument("--window", type=int, default=1, help="frames per row")
    feats.add_argument("--stride", type=int, default=1, help="frames between rows")
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
    data.add_argument("--window", type=int, default=None, help="frames per window")
    data.add_argument("--window-label", default=None, help="label class of a window's row")
    data.add_argument("--angles", action="store_true", help="joint angle columns")
    data.add_argument("--distances", action="store_true", help="distance columns")
    data.add_argument("--normalized", action="store_true", help="body-normalized coordinates")
    _add_shared_feature_flags(data)
    data.add_argument("--include-unlabeled", action="store_true", help="keep unlabeled frames")
    data.add_argument("--limit", type=int, default=None, help="use at most N annotation files")
    data.set_defaults(func=_build_dataset)
    return parser


def _add_shared_feature_flags(parser: argparse.ArgumentParser) -> None:
    """The feature flags of ``features`` and ``build-dataset``."""
    parser.add_argument("--joints", action="store_true", help="raw joint coordinates")
    parser.add_argument("--z", action="store_true", help="include the z axis")
    parser.add_argument("--pool", action="store_true", help="pool a window's frames (stats)")
    parser.add_argument("--precision", type=int, default=4, help="decimal places")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except StreamPoseMLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
