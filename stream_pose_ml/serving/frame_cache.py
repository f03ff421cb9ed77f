"""Feature rows of live windows, each frame featurized once.

With a stride below the window size, every frame of a session is in ``window / stride`` windows
(6 for a window of 30 and stride 5); the transform would compute its per-frame features that many
times. :func:`cached_rows` keeps each frame's features in its rolling window's
:class:`~stream_pose_ml.serving.window.FrameFeatures` and computes only the frames it has not seen,
for the windows of several sessions in one call, then makes the rows from the per-frame features
with the transform's own second half (``rows_from_frame_features``): the rows are the ones
``transform`` gives for the same windows, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from stream_pose_ml.serving.window import DueWindows

if TYPE_CHECKING:
    from stream_pose_ml.features.transform import PoseFeatureTransform

CacheKey = tuple[int, tuple[int, int] | None]


def cached_rows(
    transform: PoseFeatureTransform, windows: Sequence[DueWindows], key: CacheKey
) -> np.ndarray:
    """Rows ``(k, columns)`` of the windows of ``windows`` (in order), each new frame's features
    computed once and kept for the next windows; ``key`` says which classifier and image size
    the kept features are for (another key clears them)."""
    new_frames: list[np.ndarray] = []
    slots: list[tuple[dict[int, np.ndarray], int]] = []
    for due in windows:
        cache = due.features
        if cache.key != key:
            cache.by_position.clear()
            cache.key = key
        known = cache.by_position
        size = due.data.shape[1]
        taken: set[int] = set()
        for j, start in enumerate(due.starts.tolist()):
            for t in range(size):
                position = start + t
                if position not in known and position not in taken:
                    taken.add(position)
                    new_frames.append(due.data[j, t])
                    slots.append((known, position))
    if new_frames:
        features = transform.frame_features(np.stack(new_frames))
        for (known, position), vector in zip(slots, features, strict=True):
            known[position] = vector
    per_window: list[list[np.ndarray]] = []
    for due in windows:
        known = due.features.by_position
        size = due.data.shape[1]
        starts = due.starts.tolist()
        per_window.extend([known[s + t] for t in range(size)] for s in starts)
        if starts:  # later windows start after this one's first frame
            for position in [p for p in known if p <= starts[-1]]:
                del known[position]
    if not per_window:
        return np.empty((0, len(transform.get_feature_names_out())), dtype=np.float64)
    return transform.rows_from_frame_features(np.array(per_window, dtype=np.float64))
