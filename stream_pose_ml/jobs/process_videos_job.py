"""`ProcessVideosJob`: a folder of videos -> one `PoseSequence` per video, in parallel, resumable.

The original StreamPoseML's documented entry point, kept thin: the work is
``stream_pose_ml.extraction.video_batch`` (one video, resuming, the executors). Each video
becomes ``<output_sequence_data_path>/<video stem>.npz`` (`PoseSequence.to_npz`, what the dataset
builder reads); optionally the original's per-frame keypoint JSON files
(``<output_keypoints_data_path>/<video stem>/``) and its sequence JSON are written too. With
``num_poses`` > 1 everyone is tracked into ``<video stem>.people.npz`` and ``<video stem>.npz``
holds the person a subject rule picks.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import ExtractionError, StreamPoseMLError
from stream_pose_ml.extraction.outputs import as_location
from stream_pose_ml.extraction.pose_estimator import PoseSettings
from stream_pose_ml.extraction.video_batch import (
    ExecutorName,
    ExtractionOptions,
    VideoResult,
    find_videos,
    jsonable_configuration,
    run_videos,
)
from stream_pose_ml.tracking.selection import parse_subject

__all__ = ["ProcessVideosJob", "VideoResult", "add_extract_arguments", "run_extract"]

logger = logging.getLogger(__name__)


class ProcessVideosJob:
    """Extract keypoints from a folder of videos (the original StreamPoseML's documented entry)."""

    @staticmethod
    def process_videos(
        src_videos_path: str | Path,
        output_keypoints_data_path: str | Path | None = None,
        output_sequence_data_path: str | Path | None = None,
        write_keypoints_to_file: bool = False,
        write_serialized_sequence_to_file: bool = True,
        limit: int | None = None,
        configuration: dict[str, Any] | None = None,
        preprocess_video: bool = False,
        return_output: bool = False,
        *,
        workers: int | None = None,
        overwrite: bool = False,
        progress: bool = True,
        sequence_json: bool = False,
        executor: ExecutorName | Any = "local",
        scheduler: str | None = None,
        num_poses: int = 1,
        subject: str | int = "largest",
    ) -> list[VideoResult] | dict[str, Any]:
        """Extract every video in ``src_videos_path`` (a folder, or one video file).

        Videos are taken in name order, at most ``limit``. Each becomes a `PoseSequence`
        written to ``<output_sequence_data_path>/<stem>.npz`` (and the original's
        ``<name>_sequence.json`` with ``sequence_json``); ``write_keypoints_to_file`` adds the
        original's per-frame JSON files under ``<output_keypoints_data_path>/<stem>/``.
        ``configuration`` holds MediaPipe options (the original's ``mediapipe.solutions.pose``
        keywords); ``preprocess_video`` enhances contrast first.

        ``workers`` processes run one video each (default: all cores; 1 runs in this process).
        ``executor="dask"`` runs one task per video on the Dask cluster at ``scheduler`` (an
        address such as ``tcp://host:8786``), or without one on a ``LocalCluster`` of
        ``workers`` processes; a ``distributed.Client`` may be passed instead. Every worker
        must reach the videos and output folders at the same paths (docs/cluster.md); the
        output folders may be fsspec URLs (``s3://bucket/seq``, ``file://``, ``memory://`` in
        this process only), written atomically (`extraction.outputs`).
        A video whose .npz already holds the same model and settings, made from the same video
        bytes (its manifest record in ``.manifest/``), is skipped unless ``overwrite``. A video
        that fails is logged and reported; the others still finish.

        ``num_poses`` > 1 looks for that many people per frame and tracks them
        (`tracking.PoseTracker`): ``<stem>.people.npz`` (`People.to_npz`) holds everyone and
        ``<stem>.npz`` the person ``subject`` picks: a rule (``largest``, ``longest_visible``,
        ``moves_most``, ``nearest:X,Y``, ``inside:X0,Y0,X1,Y1``) or a track id; each result's
        ``track_id`` and ``tracks`` say whom and how many. Both are settings: changing them
        redoes the video. With 1 (the default) nothing changes.

        Returns, with ``return_output``, one `VideoResult` per video in name order, each with
        its ``sequence``; otherwise the original's path map ``{"keypoints_path", "sequence_path"}``
        plus ``"videos"``, the results without the keypoints.
        """
        if write_keypoints_to_file and output_keypoints_data_path is None:
            raise ExtractionError(
                "write_keypoints_to_file=True needs output_keypoints_data_path (a folder)"
            )
        if write_serialized_sequence_to_file and output_sequence_data_path is None:
            logger.warning("no output_sequence_data_path given: sequences are not written")
        keypoints_dir = (
            as_location(output_keypoints_data_path) if output_keypoints_data_path else None
        )
        sequences_dir = (
            as_location(output_sequence_data_path) if output_sequence_data_path else None
        )
        in_memory = [str(d) for d in (keypoints_dir, sequences_dir) if str(d).startswith("memory:")]
        if in_memory and (executor != "local" or workers != 1):
            raise ExtractionError(
                f"{in_memory[0]} lives in this process only; use workers=1 with the local "
                "executor, or a folder or URL every worker reaches"
            )
        configuration = dict(configuration or {})
        num_poses, subject_rule = _people_settings(configuration, num_poses, subject)
        options = ExtractionOptions(
            keypoints_dir=keypoints_dir,
            sequences_dir=sequences_dir,
            write_keypoints=bool(write_keypoints_to_file),
            write_sequence=bool(write_serialized_sequence_to_file),
            sequence_json=bool(sequence_json),
            configuration=jsonable_configuration(configuration),
            preprocess=bool(preprocess_video),
            keep_sequence=bool(return_output),
            num_poses=num_poses,
            subject=subject_rule,
        )
        videos = find_videos(src_videos_path, limit)
        if not videos:
            logger.warning("no video files in %s", src_videos_path)
        results = run_videos(
            videos,
            options,
            workers=workers,
            overwrite=overwrite,
            progress=progress,
            executor=executor,
            scheduler=scheduler,
        )
        if return_output:
            return results
        return {
            "keypoints_path": output_keypoints_data_path,
            "sequence_path": output_sequence_data_path,
            "videos": results,
        }


def _people_settings(
    configuration: dict[str, Any], num_poses: int, subject: str | int
) -> tuple[int, str]:
    """``(num_poses, subject rule)``, checked; a ``num_poses`` configuration key counts too."""
    configured = configuration.get("num_poses")
    if configured is not None and num_poses != 1 and configured != num_poses:
        raise ExtractionError(
            f"num_poses={num_poses} and configuration num_poses={configured!r}; keep one"
        )
    count = PoseSettings(num_poses=num_poses if configured is None else configured).num_poses
    rule = str(subject).strip()
    parse_subject(rule)  # a bad rule stops the job before any video runs
    if count == 1 and rule != "largest":
        raise ExtractionError(
            f"subject {rule!r} needs several people: set num_poses (--num-poses) to 2 or more"
        )
    return count, rule


# -- command line ------------------------------------------------------------------------------
def add_extract_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``extract`` options to ``parser`` (for ``stream-pose-ml extract``)."""
    parser.add_argument("src", help="folder of videos (webm, mp4, mov, avi, mkv, ...) or one video")
    parser.add_argument(
        "--sequences-dir",
        required=True,
        help="where <video>.npz files go: a folder or an fsspec URL (s3://bucket/seq)",
    )
    parser.add_argument("--keypoints-dir", help="also write the per-frame keypoint JSON here")
    parser.add_argument(
        "--sequence-json", action="store_true", help="also write <video>_sequence.json"
    )
    parser.add_argument(
        "--complexity",
        choices=["lite", "full", "heavy"],
        help="pose model (default: full, or model_complexity in --configuration)",
    )
    parser.add_argument("--configuration", help="JSON object of MediaPipe options")
    parser.add_argument("--preprocess", action="store_true", help="enhance contrast first")
    parser.add_argument(
        "--num-poses",
        type=int,
        default=1,
        metavar="N",
        help="people to find and track per frame; with N > 1 <video>.people.npz holds "
        "everyone and <video>.npz the --subject (default: 1)",
    )
    parser.add_argument(
        "--subject",
        default=None,
        metavar="RULE",
        help="with --num-poses > 1: the person of <video>.npz, a track id or a rule: largest "
        "(default), longest_visible, moves_most, nearest:X,Y, inside:X0,Y0,X1,Y1 "
        "(normalized image coordinates)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes here, or LocalCluster workers with --executor dask (default: cores)",
    )
    parser.add_argument(
        "--executor",
        choices=["local", "dask"],
        default=None,
        help="local: worker processes here; dask: one task per video on a Dask cluster "
        "(default: local, or dask with --scheduler)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786 (default with --executor dask: a "
        "LocalCluster of --workers processes)",
    )
    parser.add_argument("--limit", type=int, default=None, help="process at most N videos")
    parser.add_argument("--overwrite", action="store_true", help="redo extracted videos")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run_extract(args: argparse.Namespace) -> int:
    """Run the job from parsed ``extract`` arguments; prints one line per video. Exit code 1 if
    any video failed."""
    try:
        configuration = json.loads(args.configuration) if args.configuration else {}
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"--configuration is not valid JSON: {exc}") from exc
    if not isinstance(configuration, dict):
        raise ExtractionError(
            "--configuration must be a JSON object, e.g. '{\"model_complexity\": 2}'"
        )
    if args.complexity:
        configuration["model_complexity"] = args.complexity
    output = ProcessVideosJob.process_videos(
        src_videos_path=args.src,
        output_keypoints_data_path=args.keypoints_dir,
        output_sequence_data_path=args.sequences_dir,
        write_keypoints_to_file=args.keypoints_dir is not None,
        write_serialized_sequence_to_file=True,
        limit=args.limit,
        configuration=configuration,
        preprocess_video=args.preprocess,
        return_output=False,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.quiet,
        sequence_json=args.sequence_json,
        executor=args.executor or ("dask" if args.scheduler else "local"),
        scheduler=args.scheduler,
        num_poses=args.num_poses,
        subject="largest" if args.subject is None else args.subject,
    )
    assert isinstance(output, dict)  # return_output=False: the path map with "videos"
    results: list[VideoResult] = output["videos"]
    for r in results:
        detail = r.error if r.status == "failed" else f"{r.detected_frames}/{r.frames} frames"
        if r.tracks is not None and r.status != "failed":
            who = "nobody" if r.track_id is None else f"subject #{r.track_id}"
            detail = f"{detail}, {r.tracks} people tracked, {who}"
        print(f"{r.status:9} {r.path.name}: {detail} ({r.seconds:.1f} s)")  # noqa: T201
    failed = sum(r.status == "failed" for r in results)
    done = len(results) - failed
    print(f"{done} of {len(results)} videos done; sequences in {args.sequences_dir}")  # noqa: T201
    return 1 if failed else 0


def process_videos_cli(argv: Sequence[str] | None = None) -> int:
    """``python -m stream_pose_ml.jobs.process_videos_job SRC --sequences-dir DIR ...``."""
    parser = add_extract_arguments(
        argparse.ArgumentParser(description="Extract keypoints from a folder of videos.")
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return run_extract(args)
    except StreamPoseMLError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 2


if __name__ == "__main__":
    raise SystemExit(process_videos_cli())
