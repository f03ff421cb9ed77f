"""Landmarks as they arrive (JSON, MediaPipe results) -> one ``(33, 4)`` float64 array.

The one parser of BlazePose landmarks: the live server's messages (``serving.payload``) and
``PoseSequence.from_mediapipe`` both call it. Channels are ``x, y, z, visibility`` (x, y normalized
to the image width and height, as MediaPipe reports them).

- :func:`parse_landmarks` reads JSON values: 33 landmarks as objects ``{x, y, z?, visibility?}``
  or lists ``[x, y, z(, v)]``, or a list of poses (the browser's ``PoseLandmarkerResult
  .landmarks``: the first pose). ``strict`` (the live server) requires every value given to be
  a finite number (not a bool) within ``MAX_ABS_VALUE``; only an omitted ``z`` or ``visibility``
  becomes NaN. Otherwise a missing value is NaN.
- :func:`landmark_array` also takes MediaPipe results (``mediapipe.solutions`` or Tasks) and
  landmark objects, and gives ``None`` for a frame without a detection.

Errors are :class:`~stream_pose_ml.errors.LandmarkFormatError` with a stable ``code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

import numpy as np

from stream_pose_ml.errors import LandmarkFormatError
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS

N_LANDMARKS = len(BLAZEPOSE_33)
N_CHANNELS = len(CHANNELS)
#: Largest accepted absolute value of any channel (normalized coordinates live near [0, 1]).
MAX_ABS_VALUE = 1e4
#: Per channel: NaN allowed nowhere (a strictly parsed frame: only omitted values become NaN).
NONE_OPTIONAL = np.zeros(N_CHANNELS, dtype=bool)
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

    ``where`` names the value in error messages. With ``strict``, every value given must be a
    finite number (not a bool) within ``MAX_ABS_VALUE``; ``z`` and ``visibility`` may be left
    out (NaN), not sent as ``null`` or NaN. Without it, any missing value is NaN.
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
    omitted = None
    if isinstance(value[0], Mapping):
        rows, omitted = _object_rows(value, where, strict)
    else:
        rows = value
    try:
        array = np.array(rows)
        # null, non-numbers, integers beyond int64 or bools (which numpy takes as 1.0/0.0 next
        # to floats): keep the values' own types, checked one by one
        if array.dtype.kind not in "iuf" or (
            array.ndim == 2 and bool in set(map(type, chain.from_iterable(rows)))
        ):
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
    if strict:
        check_values(out, where, NONE_OPTIONAL)
    if omitted is not None:
        out[:, 2:][omitted] = np.nan
    if out.shape[1] == 3:
        out = np.concatenate([out, np.full((N_LANDMARKS, 1), np.nan)], axis=1)
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


def _object_rows(
    value: list[Any], where: str, strict: bool
) -> tuple[list[tuple[Any, ...]], np.ndarray | None]:
    """Landmark objects -> rows ``(x, y, z, visibility)``, and when ``strict`` the ``(33, 2)``
    mask of omitted z and visibility (0.0 in the rows until the values are checked; None if
    none is omitted). Only z and visibility may be absent when ``strict``."""
    try:
        if strict:
            rows = [(p["x"], p["y"], p.get("z", 0.0), p.get("visibility", 0.0)) for p in value]
            omitted = [("z" not in p, "visibility" not in p) for p in value]
            return rows, np.array(omitted) if any(map(any, omitted)) else None
        return [tuple(p.get(c) for c in CHANNELS) for p in value], None
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
    """Numeric array -> float64; ``None`` -> NaN (refused when ``strict``)."""
    if array.dtype.kind in "iuf":
        return array.astype(np.float64)
    out = np.empty(array.shape, dtype=np.float64)
    for (i, c), v in np.ndenumerate(array):  # only when a value is null or not a number
        if v is None:
            if strict:
                raise LandmarkFormatError(
                    "non_finite", f"{where}[{i}].{CHANNELS[c]} is null (NaN in JavaScript?)"
                )
            out[i, c] = np.nan
        elif isinstance(v, int | np.integer) and not isinstance(v, bool) and abs(int(v)) > 1e308:
            raise LandmarkFormatError(  # beyond float64; smaller ones are checked as floats
                "out_of_range",
                f"{where}[{i}].{CHANNELS[c]} is an integer of {int(v).bit_length()} bits; "
                "normalized coordinates lie near [0, 1]",
            )
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
