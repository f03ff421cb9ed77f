"""Vectorized pose geometry: aspect correction, virtual points, angles, distances, vectors.

Every function works on any number of leading axes (frames, windows, ...): ``points`` has shape
``(..., P, D)`` with ``P`` points and ``D`` = 2 (X, Y) or 3 (X, Y, Z) coordinates in the
aspect-corrected space (units of the image height, see :func:`aspect_corrected`). Missing values are
NaN and propagate to NaN features; degenerate geometry (a zero-length segment, a zero torso) gives
NaN instead of a division warning.

The named angles, distances and bones below are data: the feature columns and
``docs/features.md`` are generated from exactly these tables.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33

#: Points computed from two landmarks: the midpoint ``(a + b) / 2``.
VIRTUAL_POINTS: dict[str, tuple[str, str]] = {
    "mid_hip": ("left_hip", "right_hip"),
    "mid_shoulder": ("left_shoulder", "right_shoulder"),
}

#: Every point a named feature may refer to: the 33 BlazePose landmarks, then the virtual points.
POINT_NAMES: tuple[str, ...] = BLAZEPOSE_33 + tuple(VIRTUAL_POINTS)

#: Reference directions an orientation angle may be measured against (unit vectors, image axes:
#: X right, Y down, Z away from the camera). ``image_up`` is the image vertical, pointing up.
DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "image_up": (0.0, -1.0, 0.0),
}


class AngleDef(NamedTuple):
    """A named angle in degrees at ``vertex``, between the rays to ``a`` and to ``c``.

    ``c`` may instead name a direction of :data:`DIRECTIONS`: then the angle is the one between the
    segment ``vertex -> a`` and that direction (a segment orientation).
    """

    name: str
    a: str
    vertex: str
    c: str


#: The named angles, in column order.
ANGLES: tuple[AngleDef, ...] = (
    AngleDef("left_elbow", "left_shoulder", "left_elbow", "left_wrist"),
    AngleDef("right_elbow", "right_shoulder", "right_elbow", "right_wrist"),
    AngleDef("left_shoulder", "left_elbow", "left_shoulder", "left_hip"),
    AngleDef("right_shoulder", "right_elbow", "right_shoulder", "right_hip"),
    AngleDef("left_hip", "left_shoulder", "left_hip", "left_knee"),
    AngleDef("right_hip", "right_shoulder", "right_hip", "right_knee"),
    AngleDef("left_knee", "left_hip", "left_knee", "left_ankle"),
    AngleDef("right_knee", "right_hip", "right_knee", "right_ankle"),
    AngleDef("left_ankle", "left_knee", "left_ankle", "left_foot_index"),
    AngleDef("right_ankle", "right_knee", "right_ankle", "right_foot_index"),
    AngleDef("left_wrist", "left_elbow", "left_wrist", "left_index"),
    AngleDef("right_wrist", "right_elbow", "right_wrist", "right_index"),
    AngleDef("left_hip_spread", "right_hip", "left_hip", "left_knee"),
    AngleDef("right_hip_spread", "left_hip", "right_hip", "right_knee"),
    AngleDef("neck", "nose", "mid_shoulder", "mid_hip"),
    AngleDef("trunk_lean", "mid_shoulder", "mid_hip", "image_up"),
    AngleDef("shoulder_line_tilt", "right_shoulder", "left_shoulder", "image_up"),
    AngleDef("hip_line_tilt", "right_hip", "left_hip", "image_up"),
    AngleDef("left_shin_lean", "left_knee", "left_ankle", "image_up"),
    AngleDef("right_shin_lean", "right_knee", "right_ankle", "image_up"),
)

#: Named point pairs ``(a, b)`` whose distance is a feature, in column order.
DISTANCES: tuple[tuple[str, str], ...] = (
    ("left_wrist", "right_wrist"),
    ("left_elbow", "right_elbow"),
    ("left_knee", "right_knee"),
    ("left_ankle", "right_ankle"),
    ("left_heel", "right_heel"),
    ("left_foot_index", "right_foot_index"),
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    ("left_wrist", "left_shoulder"),
    ("right_wrist", "right_shoulder"),
    ("left_wrist", "left_hip"),
    ("right_wrist", "right_hip"),
    ("left_ankle", "left_hip"),
    ("right_ankle", "right_hip"),
    ("left_wrist", "left_ankle"),
    ("right_wrist", "right_ankle"),
    ("nose", "left_wrist"),
    ("nose", "right_wrist"),
    ("nose", "mid_hip"),
    ("left_ankle", "mid_hip"),
    ("right_ankle", "mid_hip"),
)

#: The skeleton's main bones ``(from, to)``: the vector from ``from`` to ``to`` is a feature.
BONES: tuple[tuple[str, str], ...] = (
    ("mid_hip", "mid_shoulder"),
    ("mid_shoulder", "nose"),
    ("left_shoulder", "right_shoulder"),
    ("left_hip", "right_hip"),
    ("left_shoulder", "left_elbow"),
    ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"),
    ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"),
    ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"),
    ("right_knee", "right_ankle"),
    ("left_ankle", "left_foot_index"),
    ("right_ankle", "right_foot_index"),
)


def aspect_ratio(image_size: tuple[int, int] | None) -> float:
    """``width / height`` of an image given as ``(width, height)`` pixels; 1.0 when unknown."""
    if image_size is None:
        return 1.0
    width, height = image_size
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive (width, height), got {image_size}")
    return float(width) / float(height)


def aspect_corrected(xyz: np.ndarray, aspect: float | np.ndarray) -> np.ndarray:
    """Normalized image coordinates -> the geometry space, in units of the image height.

    ``xyz`` has shape ``(..., P, D)`` with ``D`` = 2 (x, y) or 3 (x, y, z); ``aspect`` is
    ``width / height``, a scalar or an array of the leading shape ``(...)`` (one per frame or
    window).
    Returns a new ``(..., P, D)`` array ``X = x * aspect``, ``Y = y``, ``Z = z * aspect``.
    """
    out = np.array(xyz, dtype=np.float64, copy=True)
    aspect = np.asarray(aspect, dtype=np.float64)
    if aspect.ndim:
        aspect = aspect.reshape(aspect.shape + (1,) * (out.ndim - aspect.ndim))[..., 0]
    out[..., 0] *= aspect
    if out.shape[-1] > 2:
        out[..., 2] *= aspect
    return out


def midpoint(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(a + b) / 2`` for points of shape ``(..., D)``."""
    return (a + b) * 0.5


def with_virtual_points(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Append the :data:`VIRTUAL_POINTS` to ``points`` ``(..., P, D)`` -> ``(..., P + 2, D)``.

    ``names`` are the ``P`` point names; a virtual point whose landmarks are absent is NaN.
    """
    extra = np.full((*points.shape[:-2], len(VIRTUAL_POINTS), points.shape[-1]), np.nan)
    for i, (a, b) in enumerate(VIRTUAL_POINTS.values()):
        if a in names and b in names:
            extra[..., i, :] = midpoint(
                points[..., names.index(a), :], points[..., names.index(b), :]
            )
    return np.concatenate([points, extra], axis=-2)


def positive_or_nan(length: np.ndarray) -> np.ndarray:
    """``length`` ``(...)`` with zero (or negative) values replaced by NaN: a safe divisor."""
    length = np.asarray(length, dtype=np.float64)
    return np.where(length > 0.0, length, np.nan)


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``sum(u * v)`` over a short last axis (2 or 3); explicit terms beat a reduction there."""
    out = u[..., 0] * v[..., 0]
    for d in range(1, u.shape[-1]):
        out += u[..., d] * v[..., d]
    return out


def norm(v: np.ndarray) -> np.ndarray:
    """Euclidean length ``(...)`` of vectors ``(..., D)``."""
    return np.sqrt(_dot(v, v))


def torso_length(mid_shoulder: np.ndarray, mid_hip: np.ndarray) -> np.ndarray:
    """``|mid_shoulder - mid_hip|`` ``(...)`` for points ``(..., D)``; 0 or missing gives NaN."""
    return positive_or_nan(norm(mid_shoulder - mid_hip))


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle in degrees ``[0, 180]`` between vectors ``u`` and ``v`` ``(..., D)``.

    Computed as ``atan2(|u x v|, u . v)`` (exact at 0, 90 and 180 degrees, no division); NaN when
    either vector has zero length or a NaN component. Returns shape ``(...)``.
    """
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = norm(np.cross(u, v))
    degrees = np.degrees(np.arctan2(cross, _dot(u, v)))
    degrees[~(_dot(u, u) > 0.0) | ~(_dot(v, v) > 0.0)] = np.nan
    return degrees


def joint_angles(points: np.ndarray, triplets: np.ndarray) -> np.ndarray:
    """Angles in degrees at the middle point of each triplet.

    ``points`` ``(..., P, D)``; ``triplets`` ``(K, 3)`` point indices ``(a, vertex, c)``.
    Returns ``(..., K)``: the angle between ``a - vertex`` and ``c - vertex``, in ``[0, 180]``.
    """
    triplets = np.asarray(triplets, dtype=np.intp).reshape(-1, 3)
    vertex = points[..., triplets[:, 1], :]
    return angle_between(
        points[..., triplets[:, 0], :] - vertex, points[..., triplets[:, 2], :] - vertex
    )


def orientation_angles(points: np.ndarray, pairs: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Angle in degrees between each segment ``from -> to`` and a fixed direction.

    ``points`` ``(..., P, D)``; ``pairs`` ``(K, 2)`` point indices ``(from, to)``; ``directions``
    ``(K, D)`` reference vectors. Returns ``(..., K)`` in ``[0, 180]``.
    """
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    segment = points[..., pairs[:, 1], :] - points[..., pairs[:, 0], :]
    return angle_between(segment, np.broadcast_to(directions, segment.shape))


def pairwise_distances(points: np.ndarray, pairs: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Distances ``|b - a| / scale`` ``(..., K)`` for ``pairs`` ``(K, 2)`` of point indices.

    ``points`` ``(..., P, D)``; ``scale`` ``(...)`` (the torso length; 0 or NaN gives NaN).
    """
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    diff = points[..., pairs[:, 1], :] - points[..., pairs[:, 0], :]
    return norm(diff) / positive_or_nan(scale)[..., None]


def normalized_coordinates(points: np.ndarray, center: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Body-centred, scale-free coordinates ``(points - center) / scale`` ``(..., P, D)``.

    ``center`` ``(..., D)`` (the mid hip); ``scale`` ``(...)`` (the torso length; 0 or NaN gives
    NaN).
    """
    return (points - center[..., None, :]) / positive_or_nan(scale)[..., None, None]


def bone_vectors(points: np.ndarray, pairs: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Vectors ``(to - from) / scale`` ``(..., K, D)`` for ``pairs`` ``(K, 2)`` of point indices."""
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    diff = points[..., pairs[:, 1], :] - points[..., pairs[:, 0], :]
    return diff / positive_or_nan(scale)[..., None, None]
