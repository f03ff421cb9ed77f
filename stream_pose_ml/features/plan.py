"""The computation plan of the feature transform: which per-frame features to compute, how.

A plan is built once per ``(spec, columns)`` pair (and cached): the landmarks the geometry
needs, each feature group's positions in the per-frame vector, and the pooled statistics. Per
frame features are then computed for any leading axes ``(windows, frames)`` at once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from stream_pose_ml.errors import FeatureSpecError
from stream_pose_ml.features import geometry
from stream_pose_ml.features.columns import FeatureColumn, parse_column, window_column_names
from stream_pose_ml.features.geometry import ANGLES, DIRECTIONS, VIRTUAL_POINTS
from stream_pose_ml.features.spec import FeatureSpec
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_INDEX

_ANGLE_DEFS = {angle.name: angle for angle in ANGLES}
_AXIS_INDEX = {"x": 0, "y": 1, "z": 2}


@dataclass(frozen=True)
class FeatureGroup:
    """A block of per-frame features: where they go (``positions``) and their index data."""

    positions: np.ndarray  # (K,) positions in the per-frame feature vector
    index: np.ndarray  # point indices: (K,) or (K, 2) or (K, 3)
    axes: np.ndarray | None = None  # (K,) coordinate axis of each feature, if coordinate-valued
    directions: np.ndarray | None = None  # (K, D) reference directions of orientation angles


@dataclass(frozen=True)
class FeaturePlan:
    """What to compute for one (spec, columns) pair; built once and cached."""

    spec: FeatureSpec
    output_names: tuple[str, ...]
    n_frame_features: int
    dims: int  # 2 or 3
    stats: tuple[str, ...]  # pooled statistics to compute
    select: np.ndarray | None  # output columns taken from the full window layout, or None = all
    geometry_landmarks: np.ndarray  # (U,) BlazePose indices the geometry needs
    point_names: tuple[str, ...]  # the U landmarks, then the virtual points
    needs_torso: bool
    joints: FeatureGroup | None
    normalized: FeatureGroup | None
    angles: FeatureGroup | None
    orientations: FeatureGroup | None
    distances: FeatureGroup | None
    vectors: FeatureGroup | None


@lru_cache(maxsize=128)
def build_plan(spec: FeatureSpec, columns: tuple[str, ...] | None) -> FeaturePlan:
    all_columns = spec.columns
    frame_names = spec.frame_feature_names
    stats = spec.pool_stats if spec.window_mode == "pool" and spec.window > 1 else ()
    select = None
    if columns is not None:
        duplicates = sorted(c for c, count in Counter(columns).items() if count > 1)
        if duplicates:
            raise FeatureSpecError(f"columns repeat {duplicates}")
        missing = spec.missing_columns(columns)
        if missing:
            raise FeatureSpecError(
                f"the feature spec does not produce the columns {missing[:20]}"
                f"{' ...' if len(missing) > 20 else ''} ({len(missing)} missing); "
                "use the spec the model was trained with, or FeatureSpec.from_columns(columns)"
            )
        parsed = [parse_column(c) for c in columns]
        needed = {p.base for p in parsed}
        frame_names = tuple(n for n in frame_names if n in needed)
        if stats:
            used = {p.stat for p in parsed}
            stats = tuple(s for s in stats if s in used)
        layout = window_column_names(frame_names, spec.window, spec.window_mode, stats)
        position = {name: i for i, name in enumerate(layout)}
        select = np.array([position[c] for c in columns], dtype=np.intp)
    output_names = tuple(columns) if columns is not None else all_columns

    by_kind: dict[str, list[tuple[int, FeatureColumn]]] = {}
    for i, name in enumerate(frame_names):
        parsed_name = parse_column(name)
        by_kind.setdefault(parsed_name.kind, []).append((i, parsed_name))

    # Landmarks the geometry needs, in BlazePose order, then the virtual points.
    geometric: set[str] = set()
    for kind, items in by_kind.items():
        for _, col in items:
            if kind == "normalized":
                geometric.add(col.subject)
            elif kind == "angles":
                angle = _ANGLE_DEFS[col.subject]
                geometric.update(p for p in (angle.a, angle.vertex, angle.c) if p not in DIRECTIONS)
            elif kind in ("distances", "vectors"):
                geometric.update(col.subject.split("-"))
    needs_torso = bool({"normalized", "distances", "vectors"} & set(by_kind))
    if needs_torso:
        geometric.update(("mid_hip", "mid_shoulder"))
    for virtual, parts in VIRTUAL_POINTS.items():
        if virtual in geometric:
            geometric.discard(virtual)
            geometric.update(parts)
    landmarks = sorted(geometric, key=BLAZEPOSE_INDEX.__getitem__)
    point_names = tuple(landmarks) + tuple(VIRTUAL_POINTS)
    point = {name: i for i, name in enumerate(point_names)}
    dims = 3 if spec.include_z else 2

    def group(kind: str) -> list[tuple[int, FeatureColumn]]:
        return by_kind.get(kind, [])

    def positions(items: list[tuple[int, Any]]) -> np.ndarray:
        return np.array([i for i, _ in items], dtype=np.intp)

    def axes(items: list[tuple[int, FeatureColumn]]) -> np.ndarray:
        return np.array([_AXIS_INDEX[str(c.axis)] for _, c in items], dtype=np.intp)

    def pairs(items: list[tuple[int, FeatureColumn]]) -> np.ndarray:
        return np.array([[point[p] for p in c.subject.split("-")] for _, c in items], dtype=np.intp)

    joints = normalized = angles = orientations = distances = vectors = None
    if group("joints"):
        items = group("joints")
        lms = np.array([BLAZEPOSE_INDEX[c.subject] for _, c in items], dtype=np.intp)
        joints = FeatureGroup(positions(items), lms, axes(items))
    if group("normalized"):
        items = group("normalized")
        pts = np.array([point[c.subject] for _, c in items], dtype=np.intp)
        normalized = FeatureGroup(positions(items), pts, axes(items))
    if group("angles"):
        defs = [(i, _ANGLE_DEFS[c.subject]) for i, c in group("angles")]
        at_vertex = [(i, d) for i, d in defs if d.c not in DIRECTIONS]
        oriented = [(i, d) for i, d in defs if d.c in DIRECTIONS]
        if at_vertex:
            triplets = [[point[d.a], point[d.vertex], point[d.c]] for _, d in at_vertex]
            angles = FeatureGroup(positions(at_vertex), np.array(triplets, dtype=np.intp))
        if oriented:
            segments = [[point[d.vertex], point[d.a]] for _, d in oriented]
            directions = np.array([DIRECTIONS[d.c][:dims] for _, d in oriented])
            orientations = FeatureGroup(
                positions(oriented), np.array(segments, dtype=np.intp), None, directions
            )
    if group("distances"):
        distances = FeatureGroup(positions(group("distances")), pairs(group("distances")))
    if group("vectors"):
        items = group("vectors")
        vectors = FeatureGroup(positions(items), pairs(items), axes(items))

    return FeaturePlan(
        spec=spec,
        output_names=output_names,
        n_frame_features=len(frame_names),
        dims=dims,
        stats=stats,
        select=select,
        geometry_landmarks=np.array([BLAZEPOSE_INDEX[n] for n in landmarks], dtype=np.intp),
        point_names=point_names,
        needs_torso=needs_torso,
        joints=joints,
        normalized=normalized,
        angles=angles,
        orientations=orientations,
        distances=distances,
        vectors=vectors,
    )


@lru_cache(maxsize=32)
def spec_from_columns(columns: tuple[str, ...]) -> FeatureSpec:
    return FeatureSpec.from_columns(columns)


def frame_features(plan: FeaturePlan, coords: np.ndarray, aspect: float | np.ndarray) -> np.ndarray:
    """Per-frame features ``(..., F)`` from BlazePose coordinates ``(..., 33, D)``."""
    out = np.empty((*coords.shape[:-2], plan.n_frame_features), dtype=np.float64)
    if plan.joints is not None:
        out[..., plan.joints.positions] = coords[..., plan.joints.index, plan.joints.axes]
    if plan.geometry_landmarks.size == 0:
        return out
    points = geometry.aspect_corrected(coords[..., plan.geometry_landmarks, :], aspect)
    points = geometry.with_virtual_points(points, plan.point_names[: -len(VIRTUAL_POINTS)])
    mid_hip = torso = np.empty(0)  # set below whenever a group uses them (plan.needs_torso)
    if plan.needs_torso:
        mid_hip = points[..., plan.point_names.index("mid_hip"), :]
        mid_shoulder = points[..., plan.point_names.index("mid_shoulder"), :]
        torso = geometry.torso_length(mid_shoulder, mid_hip)
    if plan.normalized is not None:
        group = plan.normalized
        norm = geometry.normalized_coordinates(points[..., group.index, :], mid_hip, torso)
        out[..., group.positions] = norm[..., np.arange(group.index.size), group.axes]
    if plan.angles is not None:
        out[..., plan.angles.positions] = geometry.joint_angles(points, plan.angles.index)
    if plan.orientations is not None:
        group = plan.orientations
        assert group.directions is not None  # orientation groups always have directions
        out[..., group.positions] = geometry.orientation_angles(
            points, group.index, group.directions
        )
    if plan.distances is not None:
        group = plan.distances
        out[..., group.positions] = geometry.pairwise_distances(points, group.index, torso)
    if plan.vectors is not None:
        group = plan.vectors
        vecs = geometry.bone_vectors(points, group.index, torso)
        out[..., group.positions] = vecs[..., np.arange(group.index.shape[0]), group.axes]
    return out


def pool_frames(frames: np.ndarray, stats: tuple[str, ...]) -> np.ndarray:
    """NaN-aware statistics over the window axis: ``(n, W, F)`` -> ``(n, len(stats), F)``.

    A feature that is NaN in every frame of a window gives NaN; ``std`` is the population
    standard deviation (ddof 0) of the frames that have a value.
    """
    valid = ~np.isnan(frames)
    count = valid.sum(axis=1)
    values = np.where(valid, frames, 0.0)
    mean = values.sum(axis=1) / count
    out = []
    for stat in stats:
        if stat == "mean":
            out.append(mean)
        elif stat == "std":
            deviation = np.where(valid, frames - mean[:, None, :], 0.0)
            out.append(np.sqrt((deviation * deviation).sum(axis=1) / count))
        elif stat == "min":
            out.append(np.fmin.reduce(frames, axis=1))
        else:
            out.append(np.fmax.reduce(frames, axis=1))
    return np.stack(out, axis=1)
