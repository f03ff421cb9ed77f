"""`RollingWindow`: the newest frames of one live session, and the windows that are due.

A session's frames since its last reset are a stream in the sense of
:mod:`stream_pose_ml.features.windows`: the windows a push completes are
``window_ends(total, n, size, stride)`` and are cut with ``cut_windows``, the definitions the
dataset builder and ``sliding_windows`` use. So the live rows of a session are the offline rows of
the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stream_pose_ml.features.windows import check_window, cut_windows, window_ends


@dataclass(eq=False)
class FrameFeatures:
    """Per-frame feature vectors of one rolling window's frames, by the frame's position since
    the window's last reset, for one ``key`` (a classifier and an image size): with a stride
    below the window size each frame is in several windows, and is featurized once. Only the
    session's worker reads and writes it (a session has one job at a time); a window's reset
    gives it a new, empty one, so a job still running for the old frames cannot mix them in."""

    key: tuple[int, tuple[int, int] | None] | None = None
    by_position: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DueWindows:
    """Windows completed by one push: ``data`` ``(k, size, landmarks, channels)`` (a copy),
    ``frame_ids`` and ``timestamps`` ``(k,)`` of each window's newest frame, ``starts`` ``(k,)``
    the position of its oldest frame since the window's reset, and the window's ``features``."""

    data: np.ndarray
    frame_ids: np.ndarray
    timestamps: np.ndarray
    starts: np.ndarray
    features: FrameFeatures

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
        self.size, self.stride = check_window(size, stride)
        capacity = max(2 * self.size, 64)
        self._data = np.full((capacity, n_landmarks, n_channels), np.nan)
        self._ids = np.zeros(capacity, dtype=np.int64)
        self._stamps = np.full(capacity, np.nan)
        self._end = 0  # frames [max(0, end - size), end) of the buffer are the window
        self.total = 0  # frames pushed (or skipped) since the last reset
        self._first = 0  # the first frame after the last skip: no window starts before it
        self.features = FrameFeatures()

    @property
    def fill(self) -> int:
        """Frames in the window, ``0..size``."""
        return min(self.total - self._first, self.size)

    def reset(self) -> None:
        self._end = 0
        self.total = self._first = 0
        self.features = FrameFeatures()

    def skip(self, n: int) -> None:
        """``n`` frames were shed unread: the count goes on, so later windows are due where
        they would have been (the client's schedule stays right), and no window spans the gap
        (the frames before it are forgotten; the window refills from the next frame)."""
        if n > 0:
            self._end = 0
            self.total += n
            self._first = self.total

    def frames(self) -> np.ndarray:
        """The current window (oldest to newest), ``(fill, landmarks, channels)``, a copy."""
        return self._data[max(0, self._end - self.size) : self._end].copy()

    def push(self, data: np.ndarray, frame_ids: np.ndarray, timestamps: np.ndarray) -> DueWindows:
        """Append ``(n, landmarks, channels)`` frames; return the windows they complete."""
        n = data.shape[0]
        chunks = [self._push(data[:0], frame_ids[:0], timestamps[:0])] if n == 0 else []
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
            starts=np.concatenate([c.starts for c in chunks]),
            features=self.features,
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
        # the windows the new frames complete, counted since the reset, then as buffer positions
        starts = window_ends(self.total, n, self.size, self.stride) - (self.size - 1)
        starts = starts[starts >= self._first]  # no window spans skipped frames
        ends = starts + (self.size - 1) - self.total + first
        self.total += n
        windows = cut_windows(self._data, ends - (self.size - 1), self.size, copy=True)
        return DueWindows(
            data=windows,
            frame_ids=self._ids[ends],
            timestamps=self._stamps[ends],
            starts=starts,
            features=self.features,
        )
