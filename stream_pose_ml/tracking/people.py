"""`People`: the people of one video, one `PoseSequence` per stable track id.

Every person's sequence covers the same frames; a frame where the person is absent is a NaN
frame with its frame number. `track_people` builds one from per-frame detections with
`PoseTracker`. Serializers: the compact ``.npz`` format (one file for everyone, the arrays
plus a JSON header per person) and the legacy sequence JSON (one file per person).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats.legacy_json_reader import read_legacy_sequence_json
from stream_pose_ml.keypoints.formats.legacy_json_writer import write_legacy_sequence_json
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence
from stream_pose_ml.tracking.settings import ASSUMED_FPS, TrackerSettings
from stream_pose_ml.tracking.tracker import PoseTracker

PEOPLE_FORMAT_VERSION = 1
PEOPLE_TYPE = "People"
#: Metadata key of each person's sequence holding its track id.
TRACK_ID_KEY = "track_id"
#: The extraction job writes a video's people to ``<stem>.people.npz`` beside ``<stem>.npz``.
PEOPLE_FILE_SUFFIX = ".people.npz"
_PERSON_FILE = re.compile(r"_person-(\d+)_sequence\.json$")


@dataclass(frozen=True, eq=False)
class People:
    """Sequences keyed by track id, all over the same frames (absent frames are NaN)."""

    tracks: Mapping[int, PoseSequence]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tracks = {int(k): v for k, v in sorted(self.tracks.items())}
        if tracks:
            first = next(iter(tracks.values()))
            for track_id, seq in tracks.items():
                if not isinstance(seq, PoseSequence):
                    raise PoseDataError(f"person {track_id} is not a PoseSequence")
                if not np.array_equal(seq.frame_numbers, first.frame_numbers):
                    raise PoseDataError("every person's sequence must cover the same frames")
                if (seq.landmark_names, seq.channels) != (first.landmark_names, first.channels):
                    raise PoseDataError("every person's sequence must have the same landmarks")
        object.__setattr__(self, "tracks", tracks)
        object.__setattr__(self, "metadata", dict(self.metadata))

    # -- access ------------------------------------------------------------------------------
    @property
    def ids(self) -> list[int]:
        return list(self.tracks)

    def __len__(self) -> int:
        return len(self.tracks)

    def __iter__(self) -> Iterator[int]:
        return iter(self.tracks)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self.tracks

    def __getitem__(self, track_id: int) -> PoseSequence:
        try:
            return self.tracks[track_id]
        except KeyError:
            raise PoseDataError(f"no person with track id {track_id!r}; ids: {self.ids}") from None

    def items(self) -> Iterable[tuple[int, PoseSequence]]:
        return self.tracks.items()

    @property
    def frame_numbers(self) -> np.ndarray:
        return next(iter(self.tracks.values())).frame_numbers if self.tracks else np.zeros(0, int)

    def detected(self) -> np.ndarray:
        """``(people, frames)`` bool: each person (in id order) is seen in that frame."""
        if not self.tracks:
            return np.zeros((0, 0), dtype=bool)
        return np.stack([seq.detected for seq in self.tracks.values()])

    def equals(self, other: People, atol: float = 0.0) -> bool:
        return (
            isinstance(other, People)
            and self.ids == other.ids
            and dict(self.metadata) == dict(other.metadata)
            and all(self[i].equals(other[i], atol=atol) for i in self.ids)
        )

    # -- compact file format -----------------------------------------------------------------
    def to_npz(self, path: str | Path) -> Path:
        """One compressed ``.npz``: ``data`` ``(people, frames, landmarks, channels)``,
        ``frame_numbers``, ``track_ids`` and a JSON header with each person's
        `PoseSequence.header`; no pickles."""
        if not self.tracks:
            raise PoseDataError("no people to write")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "type": PEOPLE_TYPE,
            "format_version": PEOPLE_FORMAT_VERSION,
            "metadata": dict(self.metadata),
            "tracks": [seq.header() for seq in self.tracks.values()],
        }
        tmp = path.with_name(path.name + ".partial.npz")
        np.savez_compressed(
            tmp,
            data=np.stack([seq.data for seq in self.tracks.values()]),
            frame_numbers=self.frame_numbers,
            track_ids=np.array(self.ids, dtype=np.int64),
            header=np.array(json.dumps(header)),
        )
        tmp.replace(path)
        return path

    @classmethod
    def from_npz(cls, path: str | Path) -> People:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "track_ids" not in archive:
                    raise PoseDataError(
                        f"{path} holds one pose sequence, not people; read it with "
                        "PoseSequence.from_npz"
                    )
                header = json.loads(str(archive["header"]))
                data, frames = archive["data"], archive["frame_numbers"]
                ids = archive["track_ids"].tolist()
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, PoseDataError):
                raise
            raise PoseDataError(f"{path}: not a people file ({exc})") from exc
        if (
            header.get("type") != PEOPLE_TYPE
            or header.get("format_version") != PEOPLE_FORMAT_VERSION
        ):
            raise PoseDataError(f"{path}: unknown people format {header.get('format_version')}")
        if data.ndim != 4 or len(ids) != data.shape[0] or len(header["tracks"]) != len(ids):
            raise PoseDataError(f"{path}: {len(ids)} track ids for data of shape {data.shape}")
        tracks = {
            track_id: _sequence(data[k], frames, header["tracks"][k])
            for k, track_id in enumerate(ids)
        }
        return cls(tracks, metadata=header.get("metadata", {}))

    # -- legacy JSON: one sequence file per person -------------------------------------------
    def write_legacy_sequence_json(
        self, directory: str | Path, stem: str, indent: int | None = None
    ) -> dict[int, Path]:
        """One legacy sequence JSON per person: ``<directory>/<stem>_person-<id>_sequence.json``
        (``track_id`` in each sequence's metadata)."""
        return {
            track_id: write_legacy_sequence_json(
                seq.with_metadata(**{TRACK_ID_KEY: track_id}),
                Path(directory) / f"{stem}_person-{track_id}_sequence.json",
                indent=indent,
            )
            for track_id, seq in self.tracks.items()
        }

    @classmethod
    def read_legacy_sequence_json(cls, paths: Iterable[str | Path]) -> People:
        """People from per-person legacy sequence files (ids from their ``track_id`` metadata,
        else from the ``_person-<id>`` file name)."""
        tracks: dict[int, PoseSequence] = {}
        for path in paths:
            seq = read_legacy_sequence_json(path)
            found = _PERSON_FILE.search(Path(path).name)
            track_id = seq.metadata.get(TRACK_ID_KEY, int(found.group(1)) if found else None)
            if not isinstance(track_id, int) or isinstance(track_id, bool):
                raise PoseDataError(f"{path}: no track id in its metadata or file name")
            if track_id in tracks:
                raise PoseDataError(f"{path}: a second file for track id {track_id}")
            tracks[track_id] = seq
        return cls(tracks)


def _sequence(data: np.ndarray, frames: np.ndarray, header: Mapping[str, Any]) -> PoseSequence:
    size = header.get("image_size")
    return PoseSequence(
        data=data,
        frame_numbers=frames,
        fps=header.get("fps"),
        image_size=tuple(size) if size else None,
        landmark_names=tuple(header["landmark_names"]),
        channels=tuple(header["channels"]),
        source=header.get("source", "unknown"),
        name=header.get("name", ""),
        metadata=header.get("metadata", {}),
    )


def track_people(
    frames: Iterable[np.ndarray | Sequence[np.ndarray]],
    frame_numbers: Sequence[int] | np.ndarray | None = None,
    fps: float | None = None,
    image_size: tuple[int, int] | None = None,
    settings: TrackerSettings | None = None,
    landmark_names: tuple[str, ...] = BLAZEPOSE_33,
    channels: tuple[str, ...] = CHANNELS,
    **fields: Any,
) -> People:
    """Track the detections of each frame (``(n, landmarks, channels)`` or a list of
    ``(landmarks, channels)``; any order) into `People`.

    Frames are numbered ``frame_numbers`` (default 0, 1, ...) and timed at ``fps``
    (`ASSUMED_FPS` when None). Only tracks that were confirmed are kept; their frames from
    before confirmation are kept too. ``fields`` go to each `PoseSequence` (``source``,
    ``name``...); each sequence's metadata holds its ``track_id``.
    """
    settings = settings or TrackerSettings()
    tracker = PoseTracker(settings, landmark_names, channels, image_size)
    rate = float(fps) if fps else ASSUMED_FPS
    items = list(frames)
    numbers = (
        np.arange(len(items), dtype=np.int64)
        if frame_numbers is None
        else np.asarray(frame_numbers, dtype=np.int64).reshape(-1)
    )
    if len(numbers) != len(items):
        raise PoseDataError(f"{len(numbers)} frame numbers for {len(items)} frames")
    if len(numbers) > 1 and not (np.diff(numbers) > 0).all():
        raise PoseDataError("frame numbers must increase")
    by_key: dict[int, list[tuple[int, np.ndarray]]] = {}
    key_ids: dict[int, int] = {}
    for index, (number, detections) in enumerate(zip(numbers.tolist(), items, strict=True)):
        for tracked in tracker.update(detections, number / rate):
            by_key.setdefault(tracked.key, []).append((index, tracked.pose))
            if tracked.track_id is not None:
                key_ids[tracked.key] = tracked.track_id
    fields.setdefault("source", "tracked")
    extra = dict(fields.pop("metadata", {}))
    tracks = {}
    for key, track_id in key_ids.items():
        data = np.full((len(items), len(landmark_names), len(channels)), np.nan)
        rows = by_key[key]
        data[[i for i, _ in rows]] = np.stack([pose for _, pose in rows])
        metadata = {**extra, TRACK_ID_KEY: track_id}
        tracks[track_id] = PoseSequence(
            data=data,
            frame_numbers=numbers,
            fps=fps,
            image_size=image_size,
            landmark_names=landmark_names,
            channels=channels,
            metadata=metadata,
            **fields,
        )
    return People(tracks, metadata={"tracker": settings.to_dict()})
