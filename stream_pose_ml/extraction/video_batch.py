"""Many videos -> one `PoseSequence` each: the work of one video, resuming, the executors.

`process_one_video` is the unit of work everywhere (the local pool runs it in a worker process
per video, a Dask cluster in a task per video): it runs MediaPipe over the decoded frames
(`extraction.video_poses`) and writes ``<sequences dir>/<video stem>.npz``
(`PoseSequence.to_npz`, what the dataset builder reads), optionally also the original
StreamPoseML's per-frame keypoint JSON files and its sequence JSON, each atomically (to a
local folder or an fsspec URL, `extraction.outputs`), then the video's manifest record
(`extraction.manifest`). With ``num_poses`` > 1 everyone is tracked, ``<stem>.people.npz``
(`People.to_npz`) holds them and ``<stem>.npz`` the subject the rule picks. `run_videos`
skips videos already extracted with the same model and settings from the same bytes and runs
the rest: in worker processes on this machine (`extraction.local_pool`) or on a Dask cluster
(`extraction.dask_executor`).
``jobs.process_videos_job.ProcessVideosJob`` is the documented entry.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tqdm.auto import tqdm

from stream_pose_ml import __version__
from stream_pose_ml.errors import (
    ExtractionError,
    ModelAssetError,
    PoseDataError,
    PoseModelConfigError,
)
from stream_pose_ml.extraction import outputs
from stream_pose_ml.extraction.manifest import ManifestRecord, read_record, write_record
from stream_pose_ml.extraction.model_assets import check_bundle, model_sha256
from stream_pose_ml.extraction.outputs import Location, file_sha256
from stream_pose_ml.extraction.pose_estimator import PoseSettings
from stream_pose_ml.extraction.video import is_video_file, list_videos
from stream_pose_ml.extraction.video_poses import (
    extract_pose_sequence,
    extract_subject,
    jsonable_configuration,
)
from stream_pose_ml.keypoints.formats.legacy_json_layout import (
    FRAME_FILE_GLOB,
    legacy_sequence_path,
)
from stream_pose_ml.keypoints.formats.legacy_json_writer import (
    write_legacy_frame_files,
    write_legacy_sequence_json,
)
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking.people import PEOPLE_FILE_SUFFIX, People

logger = logging.getLogger(__name__)

Status = Literal["processed", "skipped", "failed"]
#: Where the videos run: worker processes on this machine, or a Dask cluster (see
#: `extraction.dask_executor`: a ``distributed.Client`` is accepted too).
ExecutorName = Literal["local", "dask"]
#: Errors of the job's settings, not of one video: every video would fail, so the job stops.
_SETTINGS_ERRORS = (ModelAssetError, PoseModelConfigError)


@dataclass
class VideoResult:
    """What happened to one video. ``sequence`` is kept only when the caller asked for output.

    With several people: ``tracks`` people were tracked (None: one person, no tracking),
    ``track_id`` is the subject's (None: nobody), ``people_path`` the people file."""

    path: Path
    status: Status
    frames: int = 0
    detected_frames: int = 0
    sequence_path: Location | None = None
    sequence_json_path: Location | None = None
    keypoints_path: Location | None = None
    error: str | None = None
    seconds: float = 0.0
    sequence: PoseSequence | None = field(default=None, repr=False)
    people_path: Location | None = None
    track_id: int | None = None
    tracks: int | None = None

    @property
    def name(self) -> str:
        return self.path.stem

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable record (paths as strings, no keypoints)."""
        return {
            "path": str(self.path),
            "status": self.status,
            "frames": self.frames,
            "detected_frames": self.detected_frames,
            "sequence_path": None if self.sequence_path is None else str(self.sequence_path),
            "sequence_json_path": (
                None if self.sequence_json_path is None else str(self.sequence_json_path)
            ),
            "keypoints_path": None if self.keypoints_path is None else str(self.keypoints_path),
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "people_path": None if self.people_path is None else str(self.people_path),
            "track_id": self.track_id,
            "tracks": self.tracks,
        }


@dataclass(frozen=True)
class ExtractionOptions:
    """Everything a worker needs besides the video path (picklable for spawned workers).

    The output folders are local paths or fsspec URLs (`extraction.outputs`). With
    ``num_poses`` > 1 everyone is tracked and ``subject`` (`tracking.selection.parse_subject`
    syntax) picks the person of ``<stem>.npz``."""

    keypoints_dir: Location | None
    sequences_dir: Location | None
    write_keypoints: bool
    write_sequence: bool
    sequence_json: bool
    configuration: dict[str, Any]
    preprocess: bool
    keep_sequence: bool
    num_poses: int = 1
    subject: str = "largest"

    def npz_path(self, video: Path) -> Location | None:
        if not self.write_sequence or self.sequences_dir is None:
            return None
        return outputs.join(self.sequences_dir, f"{video.stem}.npz")

    def people_path(self, video: Path) -> Location | None:
        if self.num_poses == 1 or not self.write_sequence or self.sequences_dir is None:
            return None
        return outputs.join(self.sequences_dir, f"{video.stem}{PEOPLE_FILE_SUFFIX}")

    def same_people_settings(self, metadata: Mapping[str, Any]) -> bool:
        """Whether a sequence's metadata was made with these ``num_poses`` and ``subject``."""
        if metadata.get("num_poses", 1) != self.num_poses:
            return False
        return self.num_poses == 1 or metadata.get("subject") == self.subject

    def sequence_json_path(self, video: Path) -> Location | None:
        if not (self.write_sequence and self.sequence_json) or self.sequences_dir is None:
            return None
        return outputs.join(self.sequences_dir, legacy_sequence_path(".", video).name)

    def keypoints_path(self, video: Path) -> Location | None:
        if not self.write_keypoints or self.keypoints_dir is None:
            return None
        return outputs.join(self.keypoints_dir, video.stem)


def _write_outputs(
    sequence: PoseSequence,
    video: Path,
    options: ExtractionOptions,
    facts: dict[str, Any] | None,
    people: People | None = None,
) -> VideoResult:
    """Write the requested outputs, each atomically (a temporary name, then a rename); the
    .npz last, since its presence marks the video as done, then the manifest record of
    ``facts`` (the video's size, time and checksum, taken before it was read). ``people``:
    everyone tracked, for ``<stem>.people.npz`` (none is written when nobody was)."""
    result = VideoResult(
        path=video,
        status="processed",
        frames=sequence.n_frames,
        detected_frames=int(sequence.detected.sum()),
    )
    written: dict[str, dict[str, str]] = {}
    if people is not None:
        result.tracks = len(people)
        result.track_id = sequence.metadata.get("track_id")
    people_path = options.people_path(video)
    if people_path is not None and people is not None and len(people):
        result.people_path = outputs.write_file(people_path, people.to_npz)
        written["people"] = {"path": outputs.name(people_path), "sha256": file_sha256(people_path)}
    elif options.write_sequence and options.sequences_dir is not None:
        # a people file of an earlier run would no longer go with the new .npz
        outputs.remove(outputs.join(options.sequences_dir, f"{video.stem}{PEOPLE_FILE_SUFFIX}"))
    keypoints_dir = options.keypoints_path(video)
    if keypoints_dir is not None:
        result.keypoints_path = _write_keypoints(sequence, keypoints_dir, written)
    json_path = options.sequence_json_path(video)
    if json_path is not None:
        result.sequence_json_path = _write_sequence_json(sequence, json_path, written)
    npz_path = options.npz_path(video)
    if npz_path is not None:
        result.sequence_path = outputs.write_file(npz_path, sequence.to_npz)
        written["npz"] = {"path": outputs.name(npz_path), "sha256": file_sha256(npz_path)}
    if npz_path is not None and options.sequences_dir is not None and facts is not None:
        meta = sequence.metadata
        record = ManifestRecord(
            **facts,
            pose_model=meta["pose_model"],
            pose_model_sha256=meta["pose_model_sha256"],
            configuration=meta["configuration"],
            preprocess=meta["preprocess"],
            outputs=written,
            frames=result.frames,
            detected_frames=result.detected_frames,
            extractor_version=__version__,
            num_poses=options.num_poses,
            subject=options.subject if options.num_poses > 1 else None,
        )
        write_record(options.sequences_dir, video, record)
    if options.keep_sequence:
        result.sequence = sequence
    return result


def _write_keypoints(
    sequence: PoseSequence, folder: Location, written: dict[str, dict[str, str]]
) -> Location:
    outputs.write_folder(folder, lambda tmp: write_legacy_frame_files(sequence, tmp))
    written["keypoints"] = {"path": outputs.name(folder)}
    return folder


def _write_sequence_json(
    sequence: PoseSequence, path: Location, written: dict[str, dict[str, str]]
) -> Location:
    outputs.write_file(path, lambda tmp: write_legacy_sequence_json(sequence, tmp))
    written["sequence_json"] = {"path": outputs.name(path), "sha256": file_sha256(path)}
    return path


def process_one_video(video: Path, options: ExtractionOptions) -> VideoResult:
    """Extract and write one video; a failure of this video comes back as a ``failed`` result."""
    start = time.perf_counter()
    try:
        facts = ManifestRecord.video_facts(video) if options.npz_path(video) else None
        if options.num_poses == 1:
            sequence = extract_pose_sequence(video, options.configuration, options.preprocess)
            result = _write_outputs(sequence, video, options, facts)
        else:
            sequence, people, _ = extract_subject(
                video,
                options.configuration,
                options.preprocess,
                num_poses=options.num_poses,
                subject=options.subject,
            )
            result = _write_outputs(sequence, video, options, facts, people)
    except _SETTINGS_ERRORS:
        raise
    except Exception as exc:  # one bad video must not stop the others
        result = VideoResult(path=video, status="failed", error=f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - start
    return result


def _resume(video: Path, options: ExtractionOptions, model: tuple[str, str]) -> VideoResult | None:
    """A ``skipped`` result if ``video`` was already extracted with the same settings, else None.

    With a manifest record, also the same video bytes and unchanged outputs. Outputs requested
    now but missing (keypoint or sequence JSON) are written from the .npz, and the record then
    lists them. With several people, the same ``num_poses`` and subject rule, and their people
    file.
    """
    npz_path = options.npz_path(video)
    if npz_path is None or options.sequences_dir is None or not outputs.is_file(npz_path):
        return None
    try:
        record = read_record(options.sequences_dir, video)
    except ValueError as exc:
        logger.warning("%s; extracting %s again", exc, video.name)
        return None
    if record is not None:
        if not record.same_video(video):
            logger.info("%s changed since it was extracted; extracting it again", video.name)
            return None
        folders = {
            "npz": options.sequences_dir,
            "sequence_json": options.sequences_dir,
            "keypoints": options.keypoints_dir,
            "people": options.sequences_dir,
        }
        changed = record.changed_outputs(folders)
        if {"npz", "sequence_json", "people"} & set(changed):
            logger.warning("%s: %s changed or is gone; extracting again", video.name, changed)
            return None
    try:
        with outputs.local_copy(npz_path) as local_npz:
            sequence = PoseSequence.from_npz(local_npz)
    except PoseDataError as exc:
        logger.warning("%s is unreadable (%s); extracting %s again", npz_path, exc, video.name)
        return None
    meta = sequence.metadata
    same = (
        (meta.get("pose_model"), meta.get("pose_model_sha256")) == model
        and meta.get("preprocess") == options.preprocess
        and meta.get("configuration") == jsonable_configuration(options.configuration)
        and options.same_people_settings(meta)
    )
    if not same:
        logger.info("%s was extracted with other settings; extracting it again", video.name)
        return None
    people_path = options.people_path(video)
    if people_path is not None and meta.get("track_ids") and not outputs.is_file(people_path):
        logger.warning("%s is gone; extracting %s again", people_path, video.name)
        return None
    start = time.perf_counter()
    keypoints_dir = options.keypoints_path(video)
    json_path = options.sequence_json_path(video)
    written: dict[str, dict[str, str]] = {}
    if keypoints_dir is not None and not fnmatch.filter(
        outputs.list_names(keypoints_dir), FRAME_FILE_GLOB
    ):
        _write_keypoints(sequence, keypoints_dir, written)
    if json_path is not None and not outputs.is_file(json_path):
        _write_sequence_json(sequence, json_path, written)
    if written and record is not None:
        record = dataclasses.replace(record, outputs={**record.outputs, **written})
        write_record(options.sequences_dir, video, record)
    return VideoResult(
        path=video,
        status="skipped",
        frames=sequence.n_frames,
        detected_frames=int(sequence.detected.sum()),
        sequence_path=npz_path,
        sequence_json_path=json_path,
        keypoints_path=keypoints_dir,
        seconds=time.perf_counter() - start,
        sequence=sequence if options.keep_sequence else None,
        people_path=people_path if people_path is not None and meta.get("track_ids") else None,
        track_id=meta.get("track_id") if options.num_poses > 1 else None,
        tracks=len(meta.get("track_ids", [])) if options.num_poses > 1 else None,
    )


def _pose_model(configuration: dict[str, Any]) -> tuple[str, str]:
    """``(model name, model sha256)`` the configuration selects, without loading MediaPipe.

    Checks the configuration and the bundle (building a missing one), so that a bad setting
    stops the job before any worker starts.
    """
    path = check_bundle(PoseSettings.from_configuration(configuration).bundle_path())
    return path.stem, model_sha256(path)


def find_videos(src: str | Path, limit: int | None) -> list[Path]:
    src = Path(src)
    if src.is_file():
        if not is_video_file(src):
            raise ExtractionError(f"{src} is not a video file (by its extension)")
        return [src]
    # The original StreamPoseML treated limit=0 like no limit.
    return list_videos(src, limit=limit or None)


def run_videos(
    videos: list[Path],
    options: ExtractionOptions,
    workers: int | None,
    overwrite: bool,
    progress: bool,
    executor: ExecutorName | Any = "local",
    scheduler: str | None = None,
) -> list[VideoResult]:
    """Extract ``videos`` (skipping those already done unless ``overwrite``); one result per
    video, in the order given.

    ``executor="local"`` runs ``workers`` processes here (1: in this process); ``"dask"`` (or a
    ``distributed.Client``) runs one task per video on the cluster at ``scheduler``, or on a
    ``LocalCluster`` of ``workers`` processes started for the job.
    """
    dask = _wants_dask(executor, scheduler)
    results: dict[Path, VideoResult] = {}
    bar = tqdm(total=len(videos), unit="video", desc="extracting", disable=not progress)

    def finish(result: VideoResult) -> None:
        results[result.path] = result
        if result.status == "failed":
            logger.error("failed: %s: %s", result.path, result.error)
        else:
            logger.info(
                "%s %s: %d frames, %d with a pose, %.1f s",
                result.status,
                result.path.name,
                result.frames,
                result.detected_frames,
                result.seconds,
            )
        bar.set_postfix_str(result.path.name, refresh=False)
        bar.update()

    model: tuple[str, str] | None = None

    def pose_model() -> tuple[str, str]:
        nonlocal model
        if model is None:
            model = _pose_model(options.configuration)
        return model

    todo: list[Path] = []
    owners: dict[str, Path] = {}
    writes = options.write_sequence or options.write_keypoints
    for video in videos:
        owner = owners.setdefault(video.stem, video)
        if writes and owner != video:
            finish(
                VideoResult(
                    path=video,
                    status="failed",
                    error=f"{owner.name} has the same name and writes the same outputs; "
                    "rename one of them",
                )
            )
            continue
        npz_path = options.npz_path(video)
        if not overwrite and npz_path is not None and outputs.is_file(npz_path):
            try:
                resumed = _resume(video, options, pose_model())
            except Exception as exc:
                resumed = VideoResult(
                    path=video, status="failed", error=f"{type(exc).__name__}: {exc}"
                )
            if resumed is not None:
                finish(resumed)
                continue
        todo.append(video)

    try:
        if dask and todo:
            from stream_pose_ml.extraction import dask_executor

            pose_model()  # checks the settings before any task is sent
            with dask_executor.completed(
                process_one_video, todo, options, executor, scheduler, workers
            ) as done:
                _collect(done, finish)
            return [results[video] for video in videos]
        workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        if workers == 1 or len(todo) <= 1:
            for video in todo:
                finish(process_one_video(video, options))
        else:
            from stream_pose_ml.extraction import local_pool

            # Loading the model here checks the configuration and builds a missing bundle once,
            # before the workers start (rather than failing, or building, in every worker).
            pose_model()
            with local_pool.completed(
                process_one_video, todo, options, min(workers, len(todo))
            ) as finished:
                _collect(finished, finish)
    finally:
        bar.close()
    return [results[video] for video in videos]


def _wants_dask(executor: ExecutorName | Any, scheduler: str | None) -> bool:
    if executor == "local":
        if scheduler is not None:
            raise ExtractionError("a scheduler address needs executor='dask'")
        return False
    distributed = sys.modules.get("distributed")  # a Client means it is imported
    if executor == "dask" or (distributed and isinstance(executor, distributed.Client)):
        return True
    raise ExtractionError(
        f"unknown executor {executor!r}; use 'local', 'dask' or a distributed.Client"
    )


def _collect(done: Iterable[tuple[Path, Any]], finish: Callable[[VideoResult], None]) -> None:
    """``finish`` the result of each finished future; one whose worker died is a failure."""
    for video, future in done:
        try:
            result = future.result()
        except _SETTINGS_ERRORS:
            raise
        except Exception as exc:  # the worker process died (crash, out of memory, lost)
            result = VideoResult(
                path=video,
                status="failed",
                error=f"worker process failed: {type(exc).__name__}: {exc}",
            )
        finish(result)
