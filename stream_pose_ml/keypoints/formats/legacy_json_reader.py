"""Reading the original StreamPoseML's keypoint JSON: per-frame dicts and files, sequence JSON.

The layout, its key names and file names are described in `legacy_json_layout`.

Reading prefers ``x_normalized`` / ``y_normalized`` (exact) and falls back to pixels divided by
the image size. It also reads the two layouts the original code wrote before the one its README
documents: ``x`` / ``y`` normalized with ``*_normalized`` in pixels, and ``x`` / ``y``
normalized with ``*_normalized = x / hip width - mid hip`` (StreamPoseML 0.x). The layout is
recognised per frame from how the two pairs relate; a frame that fits none is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.formats.checks import check_image_size, describe, non_numbers
from stream_pose_ml.keypoints.formats.json_io import read_json
from stream_pose_ml.keypoints.formats.legacy_json_layout import (
    FRAME_FILE_GLOB,
    FRAME_FILE_RE,
    FRAME_KEYS,
    JOINT_KEYS,
    LEGACY_SEQUENCE_FORMAT_VERSION,
)
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS
from stream_pose_ml.keypoints.sequence import PoseSequence

logger = logging.getLogger(__name__)

# Agreement tolerances between the pixel and the normalized pair of one landmark.
_PIXEL_ATOL = 1.0  # files written with rounded pixels still read as the documented layout
_RTOL = 1e-6
_ABSENT = float("nan")  # identity marks a key missing from a joint (null is None)


def from_legacy_frames(
    frames: Sequence[Mapping[str, Any]],
    landmark_names: Sequence[str] = BLAZEPOSE_33,
    **fields: Any,
) -> PoseSequence:
    """Build a sequence from per-frame keypoint dicts, in the given order.

    ``fields`` are passed to `PoseSequence` (``fps``, ``name``, ...); by default ``source`` is
    the frames' ``sequence_source``, ``image_size`` their ``image_dimensions`` and a non-null
    ``sequence_id`` goes into ``metadata``. Frames with empty ``joint_positions`` become NaN rows.
    """
    entries = [f"frames[{i}]" for i in range(len(frames))]
    return _from_frames(list(frames), entries, tuple(landmark_names), fields)


def read_legacy_frame_files(
    directory: str | Path, landmark_names: Sequence[str] = BLAZEPOSE_33, **fields: Any
) -> PoseSequence:
    """Read a folder of ``keypoints-<frame>.json`` files, ordered by frame number.

    The files carry no fps or name: pass them (and any other field) as ``fields``.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PoseDataError(f"{directory}: not a folder of keypoint files")
    numbered = []
    for path in directory.glob(FRAME_FILE_GLOB):
        match = FRAME_FILE_RE.match(path.name)
        if match is None:
            raise PoseDataError(
                f"{path}: expected a name like keypoints-0001.json (the frame number)"
            )
        numbered.append((int(match.group(1)), path))
    if not numbered:
        raise PoseDataError(f"{directory}: no {FRAME_FILE_GLOB} files")
    numbered.sort()
    frames = [read_json(path) for _, path in numbered]
    for (number, path), frame in zip(numbered, frames, strict=True):
        inner = frame.get("frame_number") if isinstance(frame, Mapping) else None
        if isinstance(inner, int) and inner != number:
            raise PoseDataError(
                f"{path}: frame_number {frame.get('frame_number')!r} does not match the file name"
            )
    entries = [str(path) for _, path in numbered]
    return _from_frames(frames, entries, tuple(landmark_names), fields)


def from_legacy_sequence(obj: Mapping[str, Any], origin: str = "sequence JSON") -> PoseSequence:
    """Build a sequence from a serialized sequence dict (ours or the original's).

    ``frames`` may be keyed by frame number (as written to disk) or a list. ``origin`` names
    the source in error messages.
    """
    if not isinstance(obj, Mapping) or "frames" not in obj:
        raise PoseDataError(
            f"{origin}: expected an object with 'name', 'type' and 'frames' (a serialized sequence)"
        )
    version = obj.get("format_version", LEGACY_SEQUENCE_FORMAT_VERSION)
    if version != LEGACY_SEQUENCE_FORMAT_VERSION:
        raise PoseDataError(
            f"{origin}: format_version {version!r} is not one this version reads "
            f"({LEGACY_SEQUENCE_FORMAT_VERSION})"
        )
    raw = obj["frames"]
    if isinstance(raw, Mapping):
        frames = list(raw.values())
        entries = [f"{origin}: frames[{key!r}]" for key in raw]
        for key, entry, frame in zip(raw, entries, frames, strict=True):
            if (
                isinstance(frame, Mapping)
                and "frame_number" in frame
                and str(frame["frame_number"]) != str(key)
            ):
                raise PoseDataError(
                    f"{entry}: frame_number {frame.get('frame_number')!r} does not match its key"
                )
    elif isinstance(raw, list):
        frames = raw
        entries = [f"{origin}: frames[{i}]" for i in range(len(raw))]
    else:
        raise PoseDataError(f"{origin}: 'frames' must be an object or a list, got {describe(raw)}")

    fields: dict[str, Any] = {"name": _optional(obj, "name", str, origin) or ""}
    fps = _optional(obj, "fps", (int, float), origin)
    if fps is not None:
        fields["fps"] = fps
    size = obj.get("image_size")
    if size is not None:
        fields["image_size"] = check_image_size(size, f"{origin}: image_size")
    source = _optional(obj, "source", str, origin)
    if source is not None:
        fields["source"] = source
    metadata = _optional(obj, "metadata", Mapping, origin)
    if metadata is not None:
        fields["metadata"] = dict(metadata)
    names = _optional(obj, "landmark_names", list, origin)
    if names is None:
        names = list(BLAZEPOSE_33)
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise PoseDataError(f"{origin}: landmark_names must be distinct strings")
    return _from_frames(frames, entries, tuple(names), fields)


def read_legacy_sequence_json(path: str | Path) -> PoseSequence:
    """Read a ``*_sequence.json`` file written by us or by the original ``process_videos``."""
    return from_legacy_sequence(read_json(path), origin=str(path))


def _optional(obj: Mapping[str, Any], key: str, kind: Any, origin: str) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PoseDataError(f"{origin}: '{key}' has the wrong type ({describe(value)})")
    return value


# -- parsing -------------------------------------------------------------------------------
@dataclass
class _FrameHeaders:
    """Per-frame scalars of a list of per-frame keypoint dicts."""

    frame_numbers: list[Any]
    sources: list[Any]
    sequence_ids: list[Any]
    sizes: np.ndarray  # (frames, 2) width, height; NaN when unknown
    detected: list[int]  # indices of frames with joint positions
    values: list[Any]  # flat joint values of the detected frames, JOINT_KEYS order


def _from_frames(
    frames: list[Any], entries: list[str], names: tuple[str, ...], fields: dict[str, Any]
) -> PoseSequence:
    headers = _read_headers(frames, entries, names)
    n_frames, n_landmarks = len(frames), len(names)
    data = np.full((n_frames, n_landmarks, len(CHANNELS)), np.nan)
    if headers.detected:
        table, absent = _value_table(headers, entries, names)
        det = np.array(headers.detected)
        data[det] = _resolve(table, absent, headers.sizes[det], det, entries, names)

    numbers = headers.frame_numbers
    if all(n is None for n in numbers):
        frame_numbers = np.arange(n_frames)
    elif any(n is None for n in numbers):
        first = next(i for i, n in enumerate(numbers) if n is None)
        raise PoseDataError(f"{entries[first]}: frame_number is null while other frames have one")
    else:
        frame_numbers = np.array(numbers, dtype=np.int64)
    fields.setdefault("frame_numbers", frame_numbers)

    known = [i for i in range(n_frames) if not np.isnan(headers.sizes[i]).any()]
    if known and "image_size" not in fields:
        first = headers.sizes[known[0]]
        fields["image_size"] = (int(first[0]), int(first[1]))
        if (headers.sizes[known] != first).any():
            logger.warning(
                "%s: image_dimensions change between frames; the sequence keeps %dx%d",
                entries[known[0]],
                *fields["image_size"],
            )
    sources = [s for s in headers.sources if s is not None]
    if sources:
        fields.setdefault("source", sources[0])
    ids = [s for s in headers.sequence_ids if s is not None]
    if ids:
        metadata = dict(fields.get("metadata") or {})
        metadata.setdefault("sequence_id", ids[0])
        fields["metadata"] = metadata
    return PoseSequence(data=data, landmark_names=names, channels=CHANNELS, **fields)


def _read_headers(frames: list[Any], entries: list[str], names: tuple[str, ...]) -> _FrameHeaders:
    """Validate the per-frame keys and gather the joint values of detected frames."""
    name_set = set(names)
    numbers, sources, ids, detected, values = [], [], [], [], []
    sizes = np.full((len(frames), 2), np.nan)
    for i, frame in enumerate(frames):
        entry = entries[i]
        if not isinstance(frame, Mapping):
            raise PoseDataError(f"{entry}: expected a keypoint frame object, got {describe(frame)}")
        missing = [key for key in FRAME_KEYS if key not in frame]
        if missing:
            raise PoseDataError(
                f"{entry}: missing key(s) {', '.join(missing)}; a keypoint frame has "
                f"{', '.join(FRAME_KEYS)}"
            )
        number = frame["frame_number"]
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise PoseDataError(f"{entry}: frame_number must be an integer, got {describe(number)}")
        numbers.append(number)
        source = frame["sequence_source"]
        if source is not None and not isinstance(source, str):
            raise PoseDataError(
                f"{entry}: sequence_source must be a string, got {describe(source)}"
            )
        sources.append(source)
        ids.append(frame["sequence_id"])
        dims = frame["image_dimensions"]
        if dims is not None:
            if not isinstance(dims, Mapping) or not {"width", "height"} <= dims.keys():
                raise PoseDataError(
                    f"{entry}: image_dimensions must be {{'height': ..., 'width': ...}} or null, "
                    f"got {describe(dims)}"
                )
            sizes[i] = check_image_size(
                (dims["width"], dims["height"]), f"{entry}: image_dimensions"
            )
        joints = frame["joint_positions"]
        if not isinstance(joints, Mapping):
            raise PoseDataError(
                f"{entry}: joint_positions must be an object of landmarks, got {describe(joints)}"
            )
        if not joints:
            continue
        if len(joints) != len(names) or joints.keys() != name_set:
            lacking = [n for n in names if n not in joints]
            extra = [n for n in joints if n not in name_set]
            raise PoseDataError(
                f"{entry}: joint_positions has {len(joints)} landmarks"
                + (
                    f", expected {len(names)}"
                    if len(joints) != len(names)
                    else f" but not the {len(names)} expected"
                )
                + (f"; missing {', '.join(lacking[:5])}" if lacking else "")
                + (f"; unexpected {', '.join(map(str, extra[:5]))}" if extra else "")
            )
        detected.append(i)
        for name in names:
            joint = joints[name]
            if not isinstance(joint, Mapping):
                raise PoseDataError(
                    f"{entry}: landmark '{name}' must be an object of coordinates, "
                    f"got {describe(joint)}"
                )
            values.extend([joint.get(key, _ABSENT) for key in JOINT_KEYS])
    return _FrameHeaders(numbers, sources, ids, sizes, detected, values)


def _value_table(
    headers: _FrameHeaders, entries: list[str], names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """``(detected, landmarks, 7)`` floats (NaN for null or absent) and the absent-key mask."""
    values = headers.values
    bad = non_numbers(values, allowed=(None, _ABSENT))
    if bad:
        frame, rest = divmod(bad[0], len(names) * len(JOINT_KEYS))
        landmark, key = divmod(rest, len(JOINT_KEYS))
        raise PoseDataError(
            f"{entries[headers.detected[frame]]}: landmark '{names[landmark]}' "
            f"'{JOINT_KEYS[key]}' must be a number or null, got {describe(values[bad[0]])}"
        )
    shape = (len(headers.detected), len(names), len(JOINT_KEYS))
    absent = np.fromiter((v is _ABSENT for v in values), dtype=bool, count=len(values))
    table = np.array(values, dtype=np.float64)  # None -> NaN
    return table.reshape(shape), absent.reshape(shape)


def _resolve(
    table: np.ndarray,
    absent: np.ndarray,
    sizes: np.ndarray,
    frames: np.ndarray,
    entries: list[str],
    names: tuple[str, ...],
) -> np.ndarray:
    """``(detected, landmarks, 4)`` x, y, z, visibility from the joint values of each layout."""
    pixel, normed = table[..., 0:2], table[..., 3:5]
    known = ~np.isnan(sizes).any(axis=1)  # (detected,)
    scale = np.where(known[:, None], sizes, 1.0)[:, None, :]  # (detected, 1, 2)

    # every landmark needs x and y in some form, and z
    for axis, label in ((0, "x"), (1, "y")):
        lacking = absent[..., 3 + axis] & (absent[..., axis] | ~known[:, None])
        _raise_first(
            lacking,
            frames,
            entries,
            names,
            f"has neither {label}_normalized nor {label} with image_dimensions",
        )
    _raise_first(
        absent[..., 2] & absent[..., 5], frames, entries, names, "has neither z nor z_normalized"
    )

    both = ~np.isnan(pixel).any(axis=-1) & ~np.isnan(normed).any(axis=-1)  # (detected, L)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(pixel - normed * scale)
        documented_ok = _all_where(
            gap <= _PIXEL_ATOL * known[:, None, None] + _RTOL * np.abs(pixel) + 1e-12, both
        )
        pixel_ok = known & _all_where(
            np.abs(normed - pixel * scale) <= _PIXEL_ATOL + _RTOL * np.abs(normed), both
        )
        hip_ok = _hip_layout_ok(pixel, normed, both, names)
    checked = both.any(axis=1)
    earlier = checked & ~documented_ok & (hip_ok | pixel_ok)
    wrong = checked & ~documented_ok & ~earlier
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        j = int(np.flatnonzero(both[i])[0])
        size = f"{int(sizes[i, 0])}x{int(sizes[i, 1])}" if known[i] else "unknown"
        raise PoseDataError(
            f"{entries[frames[i]]}: x/y and x_normalized/y_normalized disagree (landmark "
            f"'{names[j]}': x={table[i, j, 0]!r}, x_normalized={table[i, j, 3]!r}, image size "
            f"{size}); expected x = x_normalized * width and y = y_normalized * height"
        )
    if earlier.any():
        logger.info(
            "%s: %d frame(s) in the original's earlier layout (x/y normalized); read x/y",
            entries[frames[int(np.flatnonzero(earlier)[0])]],
            int(earlier.sum()),
        )

    with np.errstate(invalid="ignore"):
        from_pixels = np.where(known[:, None, None], pixel / scale, np.nan)
    xy = np.where(np.isnan(normed), from_pixels, normed)
    xy = np.where(earlier[:, None, None], pixel, xy)
    z = np.where(absent[..., 5], table[..., 2], table[..., 5])
    z = np.where(earlier[:, None] & ~absent[..., 2], table[..., 2], z)
    return np.concatenate([xy, z[..., None], table[..., 6:7]], axis=-1)


def _all_where(ok: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per frame: ``ok`` holds for both coordinates of every landmark in ``mask``."""
    return (ok.all(axis=-1) | ~mask).all(axis=1)


def _hip_layout_ok(
    pixel: np.ndarray, normed: np.ndarray, both: np.ndarray, names: tuple[str, ...]
) -> np.ndarray:
    """Per frame: ``normed == pixel / hip width - mid hip`` (StreamPoseML 0.x's layout)."""
    if "left_hip" not in names or "right_hip" not in names:
        return np.zeros(len(pixel), dtype=bool)
    left, right = pixel[:, names.index("left_hip")], pixel[:, names.index("right_hip")]
    width = np.linalg.norm(left - right, axis=-1)[:, None, None]
    expected = pixel / width - ((left + right) / 2)[:, None, :]
    ok = np.abs(normed - expected) <= _RTOL * (1.0 + np.abs(normed))
    return _all_where(ok, both) & both.any(axis=1) & (width[:, 0, 0] > 0)


def _raise_first(
    mask: np.ndarray, frames: np.ndarray, entries: list[str], names: tuple[str, ...], what: str
) -> None:
    if mask.any():
        i, j = (int(k) for k in np.argwhere(mask)[0])
        raise PoseDataError(f"{entries[frames[i]]}: landmark '{names[j]}' {what}")
