"""One video through MediaPipe: its `PoseSequence`, or with several people, everyone tracked.

`extract_pose_sequence` runs the landmarker over every decoded frame and keeps one person per
frame (MediaPipe's first). `extract_people` looks for up to ``num_poses`` people per frame and
gives them stable track ids (`tracking.track_people`); `extract_subject` does that and picks
the person to analyze by a subject rule (`tracking.selection`), whose `PoseSequence` is what
every one-person reader (the dataset builder, training) takes. ``video_batch`` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml import __version__
from stream_pose_ml.errors import ExtractionError
from stream_pose_ml.extraction.pose_estimator import PoseEstimator
from stream_pose_ml.extraction.video import iter_frames, opencv_threads, prefetch, probe_video
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking.people import People, track_people
from stream_pose_ml.tracking.selection import choose_subject, parse_subject
from stream_pose_ml.tracking.settings import TrackerSettings

EXTRACTOR = "stream_pose_ml.ProcessVideosJob"
#: Frame rate assumed for MediaPipe timestamps when the container gives none.
FALLBACK_FPS = 30.0


@dataclass(frozen=True)
class _ModelRun:
    """What the landmarker gave for each decoded frame, and the facts of the run."""

    per_frame: list[Any]
    fps: float | None
    image_size: tuple[int, int] | None
    metadata: dict[str, Any]


def _run_model(
    video: Path,
    configuration: dict[str, Any],
    preprocess: bool,
    detect: Callable[[PoseEstimator], Callable[[np.ndarray, int], Any]],
    estimator_configuration: dict[str, Any] | None = None,
) -> _ModelRun:
    """``detect(estimator)(rgb, timestamp_ms)`` for every decoded frame, in order."""
    info = probe_video(video)
    step_ms = 1000.0 / (info.fps or FALLBACK_FPS)
    per_frame: list[Any] = []
    image_size = info.image_size
    last_ms = -1
    # Decoding (and preprocessing) runs a few frames ahead in a thread, beside MediaPipe; it
    # starts before the model loads. OpenCV's own thread pool stays out of the way: spreading a
    # colour conversion over the cores MediaPipe uses costs more than it saves.
    with (
        opencv_threads(1),
        prefetch(iter_frames(video, preprocess=preprocess)) as frames,
        PoseEstimator.from_configuration(estimator_configuration or configuration) as estimator,
    ):
        run = detect(estimator)
        for index, rgb in frames:
            timestamp_ms = max(round(index * step_ms), last_ms + 1)  # strictly increasing
            last_ms = timestamp_ms
            if index == 0:  # the decoded size, after any rotation the container asks for
                image_size = (rgb.shape[1], rgb.shape[0])
            per_frame.append(run(rgb, timestamp_ms))
        model_name, model_sha256 = estimator.model_name, estimator.model_sha256
    metadata = {
        "pose_model": model_name,
        "pose_model_sha256": model_sha256,
        "preprocess": bool(preprocess),
        "configuration": jsonable_configuration(configuration),
        "video": video.name,
        "video_codec": info.codec,
        "extractor": EXTRACTOR,
        "extractor_version": __version__,
    }
    return _ModelRun(per_frame, info.fps, image_size, metadata)


def extract_pose_sequence(
    video: str | Path, configuration: dict[str, Any] | None = None, preprocess: bool = False
) -> PoseSequence:
    """Run MediaPipe over every frame of one video.

    Returns a `PoseSequence` of shape ``(decoded frames, 33, 4)``: a NaN row for a frame without
    detection, ``frame_numbers`` = decoded frame indices from 0, ``fps`` from the container,
    ``image_size`` of the decoded frames, and metadata naming the pose model and the settings.
    """
    video = Path(video)
    run = _run_model(
        video, dict(configuration or {}), preprocess, lambda estimator: estimator.detect
    )
    rows = run.per_frame
    data = np.full((len(rows), len(BLAZEPOSE_33), len(CHANNELS)), np.nan)
    detected = [i for i, row in enumerate(rows) if row is not None]
    if detected:
        data[detected] = np.stack([row for row in rows if row is not None])
    return PoseSequence(
        data=data,
        frame_numbers=np.arange(len(rows)),
        fps=run.fps,
        image_size=run.image_size,
        source="mediapipe",
        name=video.stem,
        metadata=run.metadata,
    )


def extract_people(
    video: str | Path,
    configuration: dict[str, Any] | None = None,
    preprocess: bool = False,
    num_poses: int = 2,
    tracker: TrackerSettings | None = None,
) -> People:
    """Up to ``num_poses`` people per frame of one video, tracked into `People`.

    Every person's sequence covers every decoded frame (NaN where they are absent) and carries
    the metadata of `extract_pose_sequence` plus ``num_poses`` and its ``track_id``;
    ``People.metadata`` holds the tracker settings and ``num_poses``.
    """
    return _track(Path(video), dict(configuration or {}), preprocess, num_poses, tracker)[0]


def _track(
    video: Path,
    configuration: dict[str, Any],
    preprocess: bool,
    num_poses: int,
    tracker: TrackerSettings | None,
) -> tuple[People, _ModelRun]:
    run = _run_model(
        video,
        configuration,
        preprocess,
        lambda estimator: estimator.detect_people,
        {**configuration, "num_poses": num_poses},
    )
    people = track_people(
        run.per_frame,
        fps=run.fps,
        image_size=run.image_size,
        settings=tracker,
        source="mediapipe",
        name=video.stem,
        metadata={**run.metadata, "num_poses": num_poses},
    )
    return People(people.tracks, metadata={**people.metadata, "num_poses": num_poses}), run


def extract_subject(
    video: str | Path,
    configuration: dict[str, Any] | None = None,
    preprocess: bool = False,
    num_poses: int = 2,
    subject: str | int = "largest",
    tracker: TrackerSettings | None = None,
) -> tuple[PoseSequence, People, int | None]:
    """`extract_people`, then the person ``subject`` picks (`parse_subject` syntax):
    ``(their sequence, everyone, their track id)``.

    The sequence's metadata adds ``subject`` and ``track_ids`` (everyone found) to the
    person's. With nobody tracked it is all NaN and the id None; a rule that finds nobody,
    or an id that is not there, raises `PoseDataError`.
    """
    rule, options = parse_subject(subject)  # a bad rule fails before MediaPipe runs
    video = Path(video)
    people, run = _track(video, dict(configuration or {}), preprocess, num_poses, tracker)
    facts = {"subject": str(subject), "track_ids": people.ids}
    if not len(people):
        frames = len(run.per_frame)
        empty = PoseSequence.empty(
            frames,
            frame_numbers=np.arange(frames),
            fps=run.fps,
            image_size=run.image_size,
            source="mediapipe",
            name=video.stem,
            metadata={**run.metadata, "num_poses": num_poses, "track_id": None, **facts},
        )
        return empty, people, None
    track_id = choose_subject(people, rule, *options)
    return people[track_id].with_metadata(**facts), people, track_id


def jsonable_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """The configuration as it reads back from JSON (tuples become lists), for comparisons."""
    try:
        result: dict[str, Any] = json.loads(json.dumps(configuration, sort_keys=True))
    except TypeError as exc:
        raise ExtractionError(f"configuration must be JSON-serializable: {exc}") from exc
    return result
