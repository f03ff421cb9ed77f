"""`stream-pose-ml` console command: one subcommand per step of the pipeline."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

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
    from stream_pose_ml.jobs.process_videos_job import ProcessVideosJob

    configuration = json.loads(args.configuration) if args.configuration else {}
    if args.complexity:
        configuration["model_complexity"] = args.complexity
    results = ProcessVideosJob().process_videos(
        src_videos_path=args.src,
        output_keypoints_data_path=args.keypoints_dir,
        output_sequence_data_path=args.sequences_dir,
        write_keypoints_to_file=args.keypoints_dir is not None,
        write_serialized_sequence_to_file=True,
        limit=args.limit,
        configuration=configuration,
        preprocess_video=args.preprocess,
        return_output=True,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.quiet,
        sequence_json=args.sequence_json,
    )
    failed = [r for r in results["videos"] if r.status == "failed"]
    for result in failed:
        print(f"FAILED {result.path}: {result.error}", file=sys.stderr)
    print(
        f"{len(results['videos']) - len(failed)} videos done, {len(failed)} failed; "
        f"sequences in {args.sequences_dir}"
    )
    return 1 if failed else 0


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

    extract = sub.add_parser("extract", help="extract keypoints from a folder of videos")
    extract.add_argument("src", help="folder of videos (webm, mp4, mov, avi, mkv)")
    extract.add_argument("--sequences-dir", required=True, help="where <video>.npz files go")
    extract.add_argument("--keypoints-dir", help="also write per-frame keypoint JSON here")
    extract.add_argument("--sequence-json", action="store_true", help="also write sequence JSON")
    extract.add_argument("--complexity", choices=["lite", "full", "heavy"], help="pose model")
    extract.add_argument("--configuration", help="JSON of MediaPipe options")
    extract.add_argument("--preprocess", action="store_true", help="enhance contrast first")
    extract.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
    extract.add_argument("--limit", type=int, default=None, help="process at most N videos")
    extract.add_argument("--overwrite", action="store_true", help="redo extracted videos")
    extract.add_argument("--quiet", action="store_true", help="no progress bar")
    extract.set_defaults(func=_extract)

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
    data.add_argument("--joints", action="store_true", help="raw joint coordinates")
    data.add_argument("--z", action="store_true", help="include the z axis")
    data.add_argument("--pool", action="store_true", help="pool frames of a window (stats)")
    data.add_argument("--precision", type=int, default=4, help="decimal places")
    data.add_argument("--include-unlabeled", action="store_true", help="keep unlabeled frames")
    data.add_argument("--limit", type=int, default=None, help="use at most N annotation files")
    data.set_defaults(func=_build_dataset)
    return parser


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
