"""Landmarks as they arrive (JSON, MediaPipe results) -> one ``(33, 4)`` float64 array.

The one parser of BlazePose landmarks: the live server's messages (``serving.payload``) and
``PoseSequence.from_mediapipe`` both call it. Channels are ``x, y, z, visibility`` (x, y normalized
to the image width and height, as MediaPipe reports them).

- :func:`parse_landmarks` reads JSON values: 33 landmarks as objects ``{x, y, z?, visibility?}``
  or lists ``[x, y, z(, v)]``, or a list of poses (the browser's ``PoseLandmarkerResult
  .landmarks``: the first pose). ``strict`` (the live server) requires finite ``x`` and ``y``
  within ``MAX_ABS_VALUE``; otherwise a missing value is NaN.
- :func:`landmark_array` also takes MediaPipe results (``mediapipe.solutions`` or Tasks) and
  landmark objects, and gives ``None`` for a frame without a detection.

Errors are :class:`~stream_pose_ml.errors.LandmarkFormatError` with a stable ``code``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from stream_pose_ml.errors import LandmarkFormatError
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS

N_LANDMARKS = len(BLAZEPOSE_33)
N_CHANNELS = len(CHANNELS)
#: Largest accepted absolute value of any channel (normalized coordinates live near [0, 1]).
MAX_ABS_VALUE = 1e4
#: Per channel: may the value be missing (NaN) in a strictly parsed frame? (z and visibility)
OPTIONAL_CHANNELS = np.array([False, False, True, True])
#: Per channel: NaN allowed everywhere (a missing landmark in binary frames).
ALL_OPTIONAL = np.ones(N_CHANNELS, dtype=bool)


def json_kind(value: Any) -> str:
    """What a JSON value is, for error messages: ``"an object"``, ``"a list"``, ``"a number"``."""
    names: dict[type, str] = {
        dict: "an object",
        list: "a list",
        str: "a string",
        type(None): "null",
        bool: "a bool",
    }
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def parse_landmarks(value: Any, where: str = "landmarks", *, strict: bool = True) -> np.ndarray:
    """``(33, 4)`` float64 from 33 landmarks as objects or lists; all NaN for an empty list.

    ``where`` names the value in error messages. With ``strict``, ``x`` and ``y`` must be
    finite numbers and no value may be infinite or beyond ``MAX_ABS_VALUE``; ``z`` and
    ``visibility`` may be missing or ``null`` (NaN). Without it, any missing value is NaN.
    """
    if not isinstance(value, list):
        raise LandmarkFormatError(
            "bad_type", f"{where} must be a list of {N_LANDMARKS} landmarks, not {json_kind(value)}"
        )
    if (
        value
        and isinstance(value[0], list)
        and (not value[0] or isinstance(value[0][0], (Mapping, list)))
    ):
        value = value[0]  # a list of poses: the first person
    if not value:
        return np.full((N_LANDMARKS, N_CHANNELS), np.nan)
    if len(value) != N_LANDMARKS:
        raise LandmarkFormatError(
            "landmark_count",
            f"{where}: expected {N_LANDMARKS} landmarks, got {len(value)} "
            f"(BlazePose frames have {N_LANDMARKS})",
        )
    rows = _object_rows(value, where, strict) if isinstance(value[0], Mapping) else value
    try:
        array = np.array(rows)
        if array.dtype.kind not in "biuf":  # null or non-numbers: keep the values' own types
            array = np.array(rows, dtype=object)
    except (ValueError, TypeError):
        raise LandmarkFormatError(
            "bad_type", f"{where} mixes landmarks of different shapes; send 33 x [x, y, z, v]"
        ) from None
    if array.ndim != 2 or array.shape[1] not in (3, 4):
        raise LandmarkFormatError(
            "bad_type",
            f"{where} must hold objects {{x, y, z, visibility}} or lists [x, y, z(, visibility)]",
        )
    out = _as_float(array, where, strict)
    if out.shape[1] == 3:
        out = np.concatenate([out, np.full((N_LANDMARKS, 1), np.nan)], axis=1)
    if strict:
        check_values(out, where, OPTIONAL_CHANNELS)
    return out


def landmark_array(item: Any, where: str = "landmarks") -> np.ndarray | None:
    """``(33, 4)`` x, y, z, visibility of one detection, or ``None`` if there is none.

    ``item`` is a ``mediapipe.solutions.pose`` result, a Tasks ``PoseLandmarkerResult`` (first
    pose), a list of landmark objects (attributes ``x``, ``y``, ``z``, ``visibility``) or of
    JSON landmarks (see :func:`parse_landmarks`), a ``(33, 4)`` array, or ``None``. Missing
    values are NaN.
    """
    if item is None:
        return None
    if isinstance(item, np.ndarray):  # already an array, e.g. from PoseEstimator.detect
        if item.shape != (N_LANDMARKS, N_CHANNELS):
            raise LandmarkFormatError(
                "landmark_count",
                f"expected a ({N_LANDMARKS}, {N_CHANNELS}) landmark array, got {item.shape}",
            )
        return item.astype(np.float64)
    if hasattr(item, "pose_landmarks"):  # solutions result or Tasks PoseLandmarkerResult
        landmarks = item.pose_landmarks
        if landmarks is None:
            return None
        if hasattr(landmarks, "landmark"):  # solutions: NormalizedLandmarkList
            landmarks = landmarks.landmark
        elif len(landmarks) and isinstance(landmarks[0], (list, tuple)):  # Tasks: one per pose
            landmarks = landmarks[0]
        item = landmarks
    points = list(item)
    if not points:
        return None
    if not isinstance(points[0], (Mapping, list, tuple)):  # landmark objects (protobuf, Tasks)
        points = [[getattr(p, c, None) for c in CHANNELS] for p in points]
    return parse_landmarks(points, where, strict=False)


def _object_rows(value: list[Any], where: str, strict: bool) -> list[tuple[Any, ...]]:
    """Landmark objects -> rows ``(x, y, z, visibility)``; only z and visibility may be absent
    when ``strict``."""
    try:
        if strict:
            return [
                (p["x"], p["y"], p.get("z", math.nan), p.get("visibility", math.nan)) for p in value
            ]
        return [tuple(p.get(c) for c in CHANNELS) for p in value]
    except (KeyError, TypeError, AttributeError):
        bad = next(
            i
            for i, p in enumerate(value)
            if not isinstance(p, Mapping) or (strict and not {"x", "y"} <= set(p))
        )
        raise LandmarkFormatError(
            "bad_type", f"{where}[{bad}] must be an object with numbers x, y (and z, visibility)"
        ) from None


def _as_float(array: np.ndarray, where: str, strict: bool) -> np.ndarray:
    """Numeric array -> float64; ``None`` -> NaN (only in z/visibility when ``strict``)."""
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    out = np.empty(array.shape, dtype=np.float64)
    for (i, c), v in np.ndenumerate(array):  # only when a value is null or not a number
        if v is None:
            if strict and c < 2:
                raise LandmarkFormatError(
                    "non_finite", f"{where}[{i}].{CHANNELS[c]} is null (NaN in JavaScript?)"
                )
            out[i, c] = np.nan
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[i, c] = v
        else:
            raise LandmarkFormatError(
                "bad_type",
                f"{where}[{i}].{CHANNELS[c]} is {json_kind(v)} {v!r:.40}; coordinates must be "
                "numbers",
            )
    return out


def check_values(data: np.ndarray, where: str, nan_allowed: np.ndarray) -> None:
    """Reject inf anywhere, NaN where ``nan_allowed`` (per channel) is False, and magnitudes
    over ``MAX_ABS_VALUE``; ``data`` is ``(..., landmarks, channels)``."""
    # The common case, every value a number within range, in two reductions.
    magnitude = np.abs(data).max(initial=0.0)
    if magnitude <= MAX_ABS_VALUE:  # False for NaN: then the full checks below
        return
    with np.errstate(invalid="ignore"):
        non_finite = np.isinf(data) | (np.isnan(data) & ~nan_allowed)
        too_big = np.abs(data) > MAX_ABS_VALUE
    checks = (
        ("non_finite", non_finite, "send finite numbers"),
        ("out_of_range", too_big, "normalized coordinates lie near [0, 1]"),
    )
    for code, bad, advice in checks:
        if bad.any():
            index = tuple(np.argwhere(bad)[0])
            raise LandmarkFormatError(
                code,
                f"{where}: landmark {int(index[-2])} {CHANNELS[int(index[-1])]} is "
                f"{data[index]:.6g}; {advice}",
            )
