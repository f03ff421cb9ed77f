"""`RollingWindow`: the newest frames of one live session, and the windows that are due.

Windows are cut exactly as :func:`stream_pose_ml.features.sliding_windows` cuts a recorded
sequence: the window ending at frame ``g`` (counting from 0 since the last reset) is due when
``g + 1 >= size`` and ``(g + 1 - size) % stride == 0``. So the live rows of a session are the
offline rows of the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stream_pose_ml.errors import PoseDataError


@dataclass(frozen=True, eq=False)
class DueWindows:
    """Windows completed by one push: ``data`` ``(k, size, landmarks, channels)`` (a copy),
    ``frame_ids`` and ``timestamps`` ``(k,)`` of each window's newest frame."""

    data: np.ndarray
    frame_ids: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return self.data.shape[0]


class RollingWindow:
    """Ring buffer of the last ``size`` frames, ``(size, landmarks, channels)`` float64.

    Frames are appended into a buffer of ``capacity`` >= 2 x size frames; when it is full the last
    ``size - 1`` frames move to the front, so every window is a contiguous slice and memory stays
    ``O(capacity)`` whatever the client sends.
    """

    def __init__(
        self, size: int, stride: int = 1, n_landmarks: int = 33, n_channels: int = 4
    ) -> None:
        if size < 1 or stride < 1:
            raise PoseDataError(f"window size and stride must be >= 1, got {size}, {stride}")
        self.size = int(size)
        self.stride = int(stride)
        capacity = max(2 * self.size, 64)
        self._data = np.full((capacity, n_landmarks, n_channels), np.nan)
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._stamps = np.full(capacity, np.nan)
        self._end = 0  # frames [max(0, end - size), end) of the buffer are the window
        self.total = 0  # frames pushed since the last reset

    @property
    def fill(self) -> int:
        """Frames in the window, ``0..size``."""
        return min(self.total, self.size)

    def reset(self) -> None:
        self._end = 0
        self.total = 0

    def frames(self) -> np.ndarray:
        """The current window (oldest to newest), ``(fill, landmarks, channels)``, a copy."""
        return self._data[max(0, self._end - self.size) : self._end].copy()

    def push(self, data: np.ndarray, frame_ids: np.ndarray, timestamps: np.ndarray) -> DueWindows:
        """Append ``(n, landmarks, channels)`` frames; return the windows they complete."""
        n = data.shape[0]
        chunks = []
        start = 0
        room = self._data.shape[0] - (self.size - 1)  # frames that fit after a compaction
        while start < n:
            stop = min(n, start + room)
            chunks.append(
                self._push(data[start:stop], frame_ids[start:stop], timestamps[start:stop])
            )
            start = stop
        if len(chunks) == 1:
            return chunks[0]
        return DueWindows(
            data=np.concatenate([c.data for c in chunks]),
            frame_ids=np.concatenate([c.frame_ids for c in chunks]),
            timestamps=np.concatenate([c.timestamps for c in chunks]),
        )

    def _push(self, data: np.ndarray, frame_ids: np.ndarray, timestamps: np.ndarray) -> DueWindows:
        n = data.shape[0]
        capacity = self._data.shape[0]
        if self._end + n > capacity:  # keep the last size - 1 frames, at the front
            keep = min(self.size - 1, self._end)
            lo = self._end - keep
            self._data[:keep] = self._data[lo : self._end]
            self._ids[:keep] = self._ids[lo : self._end]
            self._stamps[:keep] = self._stamps[lo : self._end]
            self._end = keep
        first = self._end
        self._data[first : first + n] = data
        self._ids[first : first + n] = frame_ids
        self._stamps[first : first + n] = timestamps
        self._end += n
        # Global index g of each new frame; due when a full window ends on a stride boundary.
        g = np.arange(self.total, self.total + n)
        self.total += n
        due = (g + 1 >= self.size) & ((g + 1 - self.size) % self.stride == 0)
        ends = first + np.flatnonzero(due)  # buffer positions of the due windows' newest frames
        if ends.size == 0:
            shape = (0, self.size, *self._data.shape[1:])
            return DueWindows(np.empty(shape), np.empty(0, np.int64), np.empty(0))
        index = ends[:, None] + np.arange(1 - self.size, 1)[None, :]  # (k, size) positions
        return DueWindows(
            data=self._data[index], frame_ids=self._ids[ends], timestamps=self._stamps[ends]
        )
