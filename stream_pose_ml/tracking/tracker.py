"""`PoseTracker`: stable identities for the poses detected frame by frame.

Each frame: detections that repeat another are dropped, tracks unseen for too long end, every
track's position is predicted (constant velocity), the cost ``1 - OKS`` of every track with
every detection is computed (OKS of the detection as given or mirrored, whichever is higher),
pairs below the similarity gate are barred, and the Hungarian method
(`scipy.optimize.linear_sum_assignment`) gives each track at most one detection. Matched
detections get their left/right groups swapped back where the mirror matches the track much
better; the others start tentative tracks, confirmed after a few hits. Parameters:
`TrackerSettings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from stream_pose_ml.errors import PoseDataError
from stream_pose_ml.keypoints.landmarks import BLAZEPOSE_33, CHANNELS
from stream_pose_ml.tracking.settings import TrackerSettings
from stream_pose_ml.tracking.similarity import (
    box_corners,
    box_sizes,
    boxes_iou,
    boxes_overlap,
    landmark_falloffs,
    mirror_permutation,
    oks_from_terms,
    oks_terms,
    swap_groups,
)

#: Cost of a barred (gated) track-detection pair; real costs lie in [0, 1].
_BARRED = 1e6


@dataclass(frozen=True, eq=False)
class TrackedPose:
    """One detection of a frame, given to a track.

    ``detection`` is its index in the frame's detections, ``key`` the tracker's number for the
    track (from its first frame on), ``track_id`` the stable id (None while the track is
    tentative), ``pose`` the ``(landmarks, channels)`` detection with ``swapped`` left/right
    groups (names from `SWAP_GROUP_PARTS`) swapped back.
    """

    detection: int
    key: int
    track_id: int | None
    pose: np.ndarray
    swapped: tuple[str, ...] = ()


class PoseTracker:
    """Gives the poses of each frame stable track ids; call `update` once per frame, in order.

    ``landmark_names`` and ``channels`` describe the detections (BlazePose-33 ``x, y, z,
    visibility`` by default, x and y normalized to the image); ``image_size`` ``(width,
    height)`` makes distances isotropic (without it x and y are compared as given). Track
    state is kept as arrays, one row per live track.
    """

    def __init__(
        self,
        settings: TrackerSettings | None = None,
        landmark_names: tuple[str, ...] = BLAZEPOSE_33,
        channels: tuple[str, ...] = CHANNELS,
        image_size: tuple[int, int] | None = None,
    ) -> None:
        self.settings = settings or TrackerSettings()
        self.landmark_names = tuple(landmark_names)
        self.channels = tuple(channels)
        if self.channels[:2] != ("x", "y"):
            raise PoseDataError(f"the tracker needs channels starting x, y; got {self.channels}")
        self.image_size = image_size
        aspect = 1.0 if image_size is None else float(image_size[0]) / float(image_size[1])
        self._to_units = np.array([aspect, 1.0])
        self._visibility = self.channels.index("visibility") if "visibility" in channels else None
        self._falloffs = landmark_falloffs(self.landmark_names)
        self._mirror = mirror_permutation(self.landmark_names)
        self._identity = np.arange(len(self.landmark_names))
        self._group_names, membership = swap_groups(self.landmark_names)
        self._groups = membership.astype(np.float64)
        self.reset()

    def reset(self) -> None:
        """Forget every track (ids start again from 0)."""
        n = len(self.landmark_names)
        self._keys = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)  # -1 while tentative
        self._xy = np.zeros((0, n, 2))  # last seen, image heights
        self._usable = np.zeros((0, n), dtype=bool)
        self._scale = np.zeros(0)
        self._velocity = np.zeros((0, 2))  # image heights per second
        self._seen_s = np.zeros(0)
        self._hits = np.zeros(0, dtype=np.int64)
        self._first_s = np.zeros(0)  # time of each track's first detection
        self._next_key = 0
        self._next_id = 0
        self._time_s: float | None = None

    @property
    def confirmed_ids(self) -> list[int]:
        """Ids of the confirmed tracks alive (seen within ``max_unseen_s`` of the last frame)."""
        return [int(i) for i in self._ids if i >= 0]

    # -- one frame ---------------------------------------------------------------------------
    def update(
        self, detections: np.ndarray | Sequence[np.ndarray], time_s: float
    ) -> list[TrackedPose]:
        """Assign one frame's detections, ``(n, landmarks, channels)`` or a list of
        ``(landmarks, channels)`` arrays, at ``time_s`` seconds (increasing from call to call).

        Returns the detections given to a track (tentative ones included), by detection index;
        ignored detections (too few usable landmarks, duplicates, over ``max_tracks``) are
        left out.
        """
        poses = self._as_poses(detections)
        time_s = float(time_s)
        if self._time_s is not None and not time_s > self._time_s:
            raise PoseDataError(
                f"tracker times must increase: got {time_s} s after {self._time_s} s"
            )
        self._time_s = time_s
        settings = self.settings
        xy = poses[..., :2] * self._to_units
        usable = ~np.isnan(xy).any(axis=-1)
        if self._visibility is not None:
            usable &= ~(poses[..., self._visibility] < settings.min_visibility)
        candidates = np.flatnonzero(usable.sum(axis=1) >= settings.min_landmarks)
        low, high = box_corners(xy, usable)
        sizes = box_sizes(low, high)  # each detection's size (its mirror has the same box)
        self._keep(time_s - self._seen_s <= settings.max_unseen_s)

        rows, cols, order, swapped = self._match(xy[candidates], usable[candidates], time_s)
        keep = self._not_repeats(rows, candidates[cols], low, high)
        if not keep.all():
            rows, cols, order, swapped = rows[keep], cols[keep], order[keep], swapped[keep]
        dets = candidates[cols]
        if rows.size:
            self._hit(
                rows, xy[dets[:, None], order], usable[dets[:, None], order], sizes[dets], time_s
            )
        results = []
        keys, ids = self._keys[rows].tolist(), self._ids[rows].tolist()
        for m, det in enumerate(dets.tolist()):
            groups: tuple[str, ...] = ()
            if swapped[m].any():
                groups = tuple(g for g, s in zip(self._group_names, swapped[m], strict=True) if s)
            pose = poses[det][order[m]] if groups else poses[det]
            track_id = ids[m] if ids[m] >= 0 else None
            results.append(TrackedPose(det, keys[m], track_id, pose, groups))
        # a tentative track must be seen in every frame until it is confirmed
        matched = np.zeros(len(self._keys), dtype=bool)
        matched[rows] = True
        self._keep(matched | (self._ids >= 0))
        unmatched = np.ones(len(candidates), dtype=bool)
        unmatched[cols] = False
        fresh = self._newcomers(candidates[unmatched], dets, xy, usable, low, high)
        if fresh.size:
            first = len(self._keys)
            self._start(xy[fresh], usable[fresh], sizes[fresh], time_s)
            for k, det in enumerate(fresh.tolist()):
                row = first + k
                results.append(TrackedPose(det, int(self._keys[row]), self._id(row), poses[det]))
        return sorted(results, key=lambda r: r.detection)

    def _match(
        self, xy: np.ndarray, usable: np.ndarray, time_s: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hungarian assignment of tracks to candidates: track rows, candidate columns, the
        landmark order of each matched candidate (swaps undone) and its swapped groups."""
        n_tracks, n_candidates, n_landmarks = len(self._keys), len(xy), len(self.landmark_names)
        none = np.zeros(0, dtype=np.int64)
        if not n_tracks or not n_candidates:
            return (
                none,
                none,
                np.zeros((0, n_landmarks), np.int64),
                np.zeros((0, len(self._groups)), bool),
            )
        settings = self.settings
        elapsed = time_s - self._seen_s
        reference, motion = self._xy, None
        if settings.predict:
            step = self._velocity * elapsed[:, None]
            reference = reference + step[:, None, :]
            motion = settings.prediction_doubt * np.hypot(step[:, 0], step[:, 1])
        scale = self._scale * (1.0 + settings.scale_growth_per_s * elapsed)
        if settings.swap_correction:  # candidates as given, then mirrored
            xy = np.concatenate([xy, xy[:, self._mirror]])
            usable = np.concatenate([usable, usable[:, self._mirror]])
        terms, shared = oks_terms(
            reference, self._usable, scale, xy, usable, self._falloffs, motion
        )
        similarity = oks_from_terms(terms, shared, settings.min_landmarks)
        if settings.swap_correction:
            similarity = np.maximum(similarity[:, :n_candidates], similarity[:, n_candidates:])
        allowed = (similarity >= settings.min_similarity) & (similarity > 0)
        # a confirmed track goes before a tentative one: a cost above any confirmed pair's
        cost = 1.0 - similarity + (self._ids < 0)[:, None]
        rows, cols = linear_sum_assignment(np.where(allowed, cost, _BARRED))
        keep = allowed[rows, cols]
        rows, cols = rows[keep], cols[keep]
        if not settings.swap_correction or not rows.size or not len(self._groups):
            order = np.tile(self._identity, (rows.size, 1))
            return rows, cols, order, np.zeros((rows.size, len(self._groups)), bool)
        # per pair and group: sums of the similarity terms and counts of shared landmarks
        group_terms = (
            terms[rows[:, None], np.stack([cols, cols + n_candidates], 1)] @ self._groups.T
        )
        group_count = (
            shared[rows[:, None], np.stack([cols, cols + n_candidates], 1)] @ self._groups.T
        )
        mean = group_terms / np.maximum(group_count, 1)
        swapped = (mean[:, 1] - mean[:, 0] > settings.swap_margin) & (group_count > 0).all(axis=1)
        order = np.where(
            (swapped.astype(np.float64) @ self._groups) > 0, self._mirror, self._identity
        )
        return rows, cols, order, swapped

    def _not_repeats(
        self, rows: np.ndarray, dets: np.ndarray, low: np.ndarray, high: np.ndarray
    ) -> np.ndarray:
        """Which matches to keep: not those of a tentative track whose detection repeats a
        confirmed track's (boxes' IoU of at least ``duplicate_iou``), so that a track started
        on a stray detection that drifts onto someone already tracked is never confirmed."""
        tentative = self._ids[rows] < 0
        keep = np.ones(rows.size, dtype=bool)
        if not tentative.any() or tentative.all():
            return keep
        others = np.concatenate([dets[tentative], dets[~tentative]])
        iou = boxes_iou(low[others], high[others])[: tentative.sum(), tentative.sum() :]
        keep[np.flatnonzero(tentative)[(iou >= self.settings.duplicate_iou).any(axis=1)]] = False
        return keep

    def _newcomers(
        self,
        fresh: np.ndarray,
        matched: np.ndarray,
        xy: np.ndarray,
        usable: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
    ) -> np.ndarray:
        """The unmatched detections ``fresh`` that start tracks: not repeating a matched
        detection or a fuller unmatched one (OKS of at least ``duplicate_similarity`` with
        overlapping boxes, or boxes' IoU of at least ``duplicate_iou``), at most the room left
        under ``max_tracks``."""
        if not fresh.size:
            return fresh
        fresh = fresh[np.argsort(-usable[fresh].sum(axis=1), kind="stable")]
        others = np.concatenate([matched, fresh])
        overlap = boxes_overlap(low[others], high[others])[:, matched.size :]
        overlap[matched.size + np.arange(fresh.size), np.arange(fresh.size)] = False
        if overlap.any():
            settings = self.settings
            reference, reference_usable = xy[others], usable[others]
            oks = self._similarity(
                reference,
                reference_usable,
                box_sizes(low[others], high[others]),
                xy[fresh],
                usable[fresh],
            )
            iou = boxes_iou(low[others], high[others])[:, matched.size :]
            similar = overlap & (
                (oks >= settings.duplicate_similarity) | (iou >= settings.duplicate_iou)
            )
            kept: list[int] = []
            for j in range(fresh.size):
                if not (
                    similar[: matched.size, j].any()
                    or similar[matched.size + np.array(kept, int), j].any()
                ):
                    kept.append(j)
            fresh = fresh[kept]
        return fresh[: max(self.settings.max_tracks - len(self._keys), 0)]

    def _similarity(
        self,
        reference: np.ndarray,
        reference_usable: np.ndarray,
        scale: np.ndarray,
        xy: np.ndarray,
        usable: np.ndarray,
    ) -> np.ndarray:
        """OKS ``(references, candidates)`` of the candidates as given or mirrored (the higher)."""
        n = len(xy)
        mirror = self._mirror
        terms, shared = oks_terms(
            reference,
            reference_usable,
            scale,
            np.concatenate([xy, xy[:, mirror]]),
            np.concatenate([usable, usable[:, mirror]]),
            self._falloffs,
        )
        similarity = oks_from_terms(terms, shared, self.settings.min_landmarks)
        return np.maximum(similarity[:, :n], similarity[:, n:])

    # -- track state -------------------------------------------------------------------------
    def _hit(
        self,
        rows: np.ndarray,
        xy: np.ndarray,
        usable: np.ndarray,
        sizes: np.ndarray,
        time_s: float,
    ) -> None:
        """Matched tracks ``rows`` seen again at ``xy`` ``(m, landmarks, 2)``, of ``sizes``."""
        both = usable & self._usable[rows]
        count = both.sum(axis=1)
        moved = np.where(both[..., None], xy - self._xy[rows], np.nan)
        step = _median_over_landmarks(moved, count) / (time_s - self._seen_s[rows])[:, None]
        weight = np.where(self._hits[rows] == 1, 1.0, self.settings.velocity_weight)[:, None]
        smoothed = weight * step + (1.0 - weight) * self._velocity[rows]
        self._velocity[rows] = np.where(count[:, None] > 0, smoothed, self._velocity[rows])
        self._xy[rows], self._usable[rows] = xy, usable
        self._scale[rows] = sizes
        self._seen_s[rows] = time_s
        self._hits[rows] += 1
        self._confirm()

    def _start(self, xy: np.ndarray, usable: np.ndarray, sizes: np.ndarray, time_s: float) -> None:
        """New tentative tracks, one per pose of ``xy`` ``(n, landmarks, 2)``, of ``sizes``."""
        n = len(xy)
        self._keys = np.concatenate([self._keys, self._next_key + np.arange(n)])
        self._next_key += n
        self._ids = np.concatenate([self._ids, np.full(n, -1)])
        self._xy = np.concatenate([self._xy, xy])
        self._usable = np.concatenate([self._usable, usable])
        self._scale = np.concatenate([self._scale, sizes])
        self._velocity = np.concatenate([self._velocity, np.zeros((n, 2))])
        self._seen_s = np.concatenate([self._seen_s, np.full(n, time_s)])
        self._hits = np.concatenate([self._hits, np.ones(n, dtype=np.int64)])
        self._first_s = np.concatenate([self._first_s, np.full(n, time_s)])
        self._confirm()

    def _confirm(self) -> None:
        """Ids for tentative tracks with enough hits, or seen for ``confirm_s`` (two hits at
        least), in the order the tracks started."""
        tentative = self._ids < 0
        if not tentative.any():
            return
        settings = self.settings
        enough = (self._hits >= settings.min_hits) | (
            (self._hits >= 2) & (self._seen_s - self._first_s >= settings.confirm_s)
        )
        ready = np.flatnonzero(tentative & enough)
        if ready.size:
            self._ids[ready] = self._next_id + np.arange(ready.size)
            self._next_id += ready.size

    def _keep(self, mask: np.ndarray) -> None:
        if mask.all():
            return
        for name in _STATE:
            setattr(self, name, getattr(self, name)[mask])

    def _id(self, row: int) -> int | None:
        track_id = int(self._ids[row])
        return None if track_id < 0 else track_id

    def _as_poses(self, detections: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        shape = (len(self.landmark_names), len(self.channels))
        if isinstance(detections, np.ndarray):
            poses = np.array(detections, dtype=np.float64)  # a copy: results must not alias it
        elif len(detections) == 0:
            poses = np.zeros((0, *shape))
        else:
            try:
                poses = np.stack([np.asarray(d, dtype=np.float64) for d in detections])
            except (ValueError, TypeError) as exc:
                raise PoseDataError(
                    f"detections must be {shape} arrays of numbers ({exc})"
                ) from exc
        if poses.size == 0 and poses.ndim != 3:
            poses = poses.reshape(0, *shape)
        if poses.ndim != 3 or poses.shape[1:] != shape:
            raise PoseDataError(
                f"detections must have shape (people, {shape[0]}, {shape[1]}), got {poses.shape}"
            )
        return poses


#: The per-track arrays of `PoseTracker`, one row per track.
_STATE = ("_keys", "_ids", "_xy", "_usable", "_scale", "_velocity", "_seen_s", "_hits", "_first_s")


def _median_over_landmarks(values: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Median over axis 1 of ``(m, landmarks, 2)`` values with NaN for the missing ones, given
    ``count`` ``(m,)`` values present per row (NaN where none is)."""
    ordered = np.sort(values, axis=1)  # NaN last
    low = np.maximum(count - 1, 0) // 2
    high = np.maximum(count, 1) // 2
    rows = np.arange(len(values))
    median = 0.5 * (ordered[rows, low] + ordered[rows, np.minimum(high, values.shape[1] - 1)])
    return np.where(count[:, None] > 0, median, np.nan)
