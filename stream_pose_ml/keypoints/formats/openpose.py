"""OpenPose BODY-25 JSON, both directions, and BlazePose-33 <-> BODY-25 conversion.

OpenPose writes one file per frame, ``<video>_<frame:012d>_keypoints.json``::

    {"version": 1.3, "people": [{"person_id": [-1],
                                 "pose_keypoints_2d": [x0, y0, c0, ..., x24, y24, c24], ...}]}

``x`` / ``y`` are pixels and ``c`` the confidence; ``c == 0`` (all three zero) marks a keypoint
that was not found. In a `PoseSequence` a BODY-25 pose has ``landmark_names=OPENPOSE_BODY_25``
and the usual channels: ``x`` / ``y`` normalized by the image size, ``z`` NaN (OpenPose's 2-D
model has no depth) and ``visibility`` = confidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats.checks import check_image_size, describe, non_numbers
from stream_pose_ml.keypoints.formats.json_io import read_json, write_json
from stream_pose_ml.keypoints.landmarks import (
    BLAZEPOSE_33,
    BODY_25_FROM_BLAZEPOSE,
    CHANNELS,
    OPENPOSE_BODY_25,
)
from stream_pose_ml.keypoints.sequence import PoseSequence

OPENPOSE_VERSION = 1.3
FILE_SUFFIX = "_keypoints.json"
_NUMBERED_FILE_RE = re.compile(r"^(?P<prefix>.*)_(?P<frame>\d+)_keypoints\.json$")
_N_VALUES = 3 * len(OPENPOSE_BODY_25)
_EMPTY_PARTS = (
    "face_keypoints_2d",
    "hand_left_keypoints_2d",
    "hand_right_keypoints_2d",
    "pose_keypoints_3d",
    "face_keypoints_3d",
    "hand_left_keypoints_3d",
    "hand_right_keypoints_3d",
)

#: BlazePose names filled from BODY-25 by `body25_to_blazepose`: the shared names, and the big
#: toe for BlazePose's foot index (the tip of the second toe).
BLAZEPOSE_FROM_BODY_25: dict[str, str] = {
    **{name: name for name in BLAZEPOSE_33 if name in OPENPOSE_BODY_25},
    "left_foot_index": "left_big_toe",
    "right_foot_index": "right_big_toe",
}


# -- reading -------------------------------------------------------------------------------
def from_openpose_json(
    frames_or_paths: str | Path | Iterable[Mapping[str, Any] | str | Path],
    image_size: tuple[int, int],
    person: int | str = "most_confident",
    **fields: Any,
) -> PoseSequence:
    """Build a BODY-25 sequence from OpenPose frames.

    ``frames_or_paths`` is a folder of ``*_keypoints.json`` files (ordered by the frame number
    in their names), or a list of file paths or of already-parsed frame dicts. ``image_size`` is
    ``(width, height)`` in pixels (OpenPose JSON does not record it). ``person`` picks one of
    several people per frame: ``"most_confident"`` (highest summed confidence) or an index in
    ``people`` (a frame with fewer people has no detection). Frame numbers come from the file
    names when they carry them; ``fields`` go to `PoseSequence` (``fps``, ``frame_numbers``...).
    """
    width, height = check_image_size(image_size, "OpenPose keypoints")
    if person != "most_confident" and (
        not isinstance(person, int) or isinstance(person, bool) or person < 0
    ):
        raise PoseDataError(f"person must be 'most_confident' or an index >= 0, got {person!r}")
    frames, entries, numbers = _load_frames(frames_or_paths)

    chosen: list[list[Any] | None] = [
        _pick_person(frame, entry, person) for frame, entry in zip(frames, entries, strict=True)
    ]
    data = np.full((len(frames), len(OPENPOSE_BODY_25), len(CHANNELS)), np.nan)
    rows = [i for i, values in enumerate(chosen) if values is not None]
    if rows:
        flat = [value for i in rows for value in chosen[i]]  # type: ignore[union-attr]
        bad = non_numbers(flat)
        if bad:
            row, index = divmod(bad[0], _N_VALUES)
            keypoint, part = divmod(index, 3)
            raise PoseDataError(
                f"{entries[rows[row]]}: pose_keypoints_2d[{index}] ({OPENPOSE_BODY_25[keypoint]} "
                f"{'xyc'[part]}) must be a number, got {describe(flat[bad[0]])}"
            )
        points = np.array(flat, dtype=np.float64).reshape(len(rows), len(OPENPOSE_BODY_25), 3)
        confidence = points[..., 2]
        found = confidence > 0
        pose = np.full((len(rows), len(OPENPOSE_BODY_25), len(CHANNELS)), np.nan)
        pose[..., 0] = points[..., 0] / width
        pose[..., 1] = points[..., 1] / height
        pose[..., 3] = confidence
        pose[~found] = np.nan
        data[rows] = pose
    if numbers is not None:
        fields.setdefault("frame_numbers", numbers)
    fields.setdefault("source", "openpose")
    return PoseSequence(
        data=data,
        image_size=(width, height),
        landmark_names=OPENPOSE_BODY_25,
        channels=CHANNELS,
        **fields,
    )


def _load_frames(
    frames_or_paths: str | Path | Iterable[Mapping[str, Any] | str | Path],
) -> tuple[list[Any], list[str], list[int] | None]:
    """Frames, their names for messages, and frame numbers from file names (if all have one)."""
    if isinstance(frames_or_paths, (str, Path)):
        root = Path(frames_or_paths)
        if root.is_dir():
            paths = sorted(root.glob(f"*{FILE_SUFFIX}"))
            if not paths:
                raise PoseDataError(f"{root}: no OpenPose *{FILE_SUFFIX} files")
            numbers = _file_numbers(paths)
            if numbers is not None:  # numeric order: names need not be zero-padded
                paths = [path for _, path in sorted(zip(numbers, paths, strict=True))]
                numbers = sorted(numbers)
            return [read_json(p) for p in paths], [str(p) for p in paths], numbers
        items: list[Any] = [root]
    else:
        items = list(frames_or_paths)
    if all(isinstance(item, (str, Path)) for item in items):
        paths = [Path(item) for item in items]
        return [read_json(p) for p in paths], [str(p) for p in paths], _file_numbers(paths)
    if any(isinstance(item, (str, Path)) for item in items):
        raise PoseDataError("pass either OpenPose file paths or parsed frame dicts, not a mix")
    return items, [f"frames[{i}]" for i in range(len(items))], None


def _file_numbers(paths: Sequence[Path]) -> list[int] | None:
    """Frame numbers from ``<video>_<frame>_keypoints.json`` names; None if no name has one."""
    matches = [_NUMBERED_FILE_RE.match(p.name) for p in paths]
    if not any(matches):
        return None
    for path, match in zip(paths, matches, strict=True):
        if match is None:
            raise PoseDataError(
                f"{path}: expected a name like <video>_000000000012{FILE_SUFFIX} like the others"
            )
    prefixes = sorted({m.group("prefix") for m in matches if m is not None})
    if len(prefixes) > 1:
        raise PoseDataError(
            f"{paths[0].parent}: keypoint files of more than one video ({', '.join(prefixes[:3])})"
            "; pass the files of one video"
        )
    numbers = [int(m.group("frame")) for m in matches if m is not None]
    if len(set(numbers)) != len(numbers):
        raise PoseDataError(f"{paths[0].parent}: two keypoint files have the same frame number")
    return numbers


def _pick_person(frame: Any, entry: str, person: int | str) -> list[Any] | None:
    """The chosen person's 75 ``pose_keypoints_2d`` values, or None for no detection."""
    if not isinstance(frame, Mapping) or "people" not in frame:
        raise PoseDataError(
            f"{entry}: expected an OpenPose frame {{'version': ..., 'people': [...]}}, "
            f"got {describe(frame)}"
        )
    people = frame["people"]
    if not isinstance(people, list):
        raise PoseDataError(f"{entry}: 'people' must be a list, got {describe(people)}")
    poses = []
    for k, someone in enumerate(people):
        values = someone.get("pose_keypoints_2d") if isinstance(someone, Mapping) else None
        if not isinstance(values, list):
            raise PoseDataError(f"{entry}: people[{k}] has no pose_keypoints_2d list")
        if values and len(values) != _N_VALUES:
            raise PoseDataError(
                f"{entry}: people[{k}].pose_keypoints_2d has {len(values)} values, expected "
                f"{_N_VALUES} (BODY-25: 25 keypoints x (x, y, confidence)); other OpenPose "
                "models are not supported"
            )
        poses.append(values or None)
    if isinstance(person, int):
        return poses[person] if person < len(poses) else None
    candidates = [p for p in poses if p is not None]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    scores = []
    for values in candidates:
        confidences = values[2::3]
        scores.append(sum(c for c in confidences if isinstance(c, (int, float))))
    return candidates[int(np.argmax(scores))]


# -- writing -------------------------------------------------------------------------------
def to_openpose_json(seq: PoseSequence, unknown_confidence: float = 1.0) -> list[dict[str, Any]]:
    """One OpenPose frame dict per frame of a BODY-25 sequence (pixels, full float precision).

    A missing keypoint is written ``0, 0, 0`` and a frame without a detection has no people.
    ``z`` is not written. A present keypoint whose visibility is NaN gets ``unknown_confidence``
    (OpenPose has no "unknown"); one whose visibility is 0 reads back as missing.
    """
    if seq.landmark_names != OPENPOSE_BODY_25:
        raise PoseDataError(
            "OpenPose JSON needs a BODY-25 sequence; convert BlazePose with "
            "blazepose_to_body25(seq) first"
        )
    if seq.image_size is None:
        raise PoseDataError("OpenPose JSON holds pixels; this sequence has no image_size")
    if not unknown_confidence > 0:
        raise PoseDataError("unknown_confidence must be > 0, or the keypoint reads as missing")
    present = seq.present
    confidence = (
        seq.channel("visibility")
        if "visibility" in seq.channels
        else np.full(present.shape, np.nan)
    )
    confidence = np.where(np.isnan(confidence), unknown_confidence, confidence)
    points = np.concatenate([seq.pixel_xy(), confidence[..., None]], axis=-1)
    points[~present] = 0.0
    if not np.isfinite(points).all():
        raise PoseDataError("pose data holds infinite values; JSON cannot store them")
    rows = points.reshape(len(seq), _N_VALUES).tolist()
    detected = present.any(axis=1)
    return [
        {"version": OPENPOSE_VERSION, "people": [_person(rows[i])] if detected[i] else []}
        for i in range(len(seq))
    ]


def _person(values: list[float]) -> dict[str, Any]:
    return {
        "person_id": [-1],
        "pose_keypoints_2d": values,
        **{part: [] for part in _EMPTY_PARTS},
    }


def write_openpose_json(
    seq: PoseSequence, directory: str | Path, prefix: str | None = None
) -> list[Path]:
    """Write ``<prefix>_<frame:012d>_keypoints.json`` per frame, as OpenPose names them.

    ``prefix`` defaults to the stem of ``seq.name`` (or ``"video"``). Returns the paths.
    """
    numbers = seq.frame_numbers
    if len(np.unique(numbers)) != len(numbers) or (numbers < 0).any():
        raise PoseDataError("OpenPose files are named by frame number; they must be unique, >= 0")
    prefix = prefix if prefix is not None else (Path(seq.name).stem if seq.name else "video")
    directory = Path(directory)
    return [
        write_json(frame, directory / f"{prefix}_{number:012d}{FILE_SUFFIX}")
        for number, frame in zip(numbers.tolist(), to_openpose_json(seq), strict=True)
    ]


# -- conversion ----------------------------------------------------------------------------
def blazepose_to_body25(seq: PoseSequence) -> PoseSequence:
    """BODY-25 points from BlazePose: copies, and midpoints for ``neck`` and ``mid_hip``.

    Uses `BODY_25_FROM_BLAZEPOSE`. A midpoint averages every channel of its two landmarks
    except ``visibility``, which is the lower of the two; it is missing if either one is.
    """
    first = [seq.index(BODY_25_FROM_BLAZEPOSE[name][0]) for name in OPENPOSE_BODY_25]
    second = [seq.index(BODY_25_FROM_BLAZEPOSE[name][-1]) for name in OPENPOSE_BODY_25]
    a, b = seq.data[:, first], seq.data[:, second]
    data = (a + b) / 2  # exact for a == b
    if "visibility" in seq.channels:
        v = seq.channels.index("visibility")
        data[..., v] = np.minimum(a[..., v], b[..., v])
    data[np.isnan(a[..., :2]).any(-1) | np.isnan(b[..., :2]).any(-1)] = np.nan
    return replace(seq, data=data, landmark_names=OPENPOSE_BODY_25)


def body25_to_blazepose(seq: PoseSequence) -> PoseSequence:
    """BlazePose-33 from BODY-25: the shared names, big toe as foot index, NaN for the rest."""
    targets = [BLAZEPOSE_33.index(name) for name in BLAZEPOSE_FROM_BODY_25]
    sources = [seq.index(name) for name in BLAZEPOSE_FROM_BODY_25.values()]
    data = np.full((len(seq), len(BLAZEPOSE_33), len(seq.channels)), np.nan)
    data[:, targets] = seq.data[:, sources]
    return replace(seq, data=data, landmark_names=BLAZEPOSE_33)
