"""`FrameRing`: the bounded buffer between a real-time capture thread and inference.

The capture thread never waits: when the ring is full the oldest frame is dropped (counted),
so memory is ``capacity`` frames whatever the source's rate. Frames are handed over by
reference inside one process; nothing is copied or pickled per frame.
"""

from __future__ import annotations

import threading
from collections import deque

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.frames import Frame


class FrameRing:
    """A bounded FIFO of frames that drops its oldest frame when full.

    Dropped frames are kept aside (at most ``capacity`` of them, oldest lost first) for a
    consumer that still wants to see them, e.g. to write them into the annotated video.
    """

    def __init__(self, capacity: int = 8, keep_dropped: bool = False) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise StreamError(f"buffer must be an integer >= 1 frame, got {capacity!r}")
        self.capacity = capacity
        self._frames: deque[Frame] = deque()
        self._dropped: deque[Frame] | None = deque(maxlen=capacity) if keep_dropped else None
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.high_water = 0

    def put(self, frame: Frame) -> bool:
        """Append a frame; False if the oldest was dropped to make room."""
        with self._cond:
            room = len(self._frames) < self.capacity
            if not room:
                old = self._frames.popleft()
                self.dropped += 1
                if self._dropped is not None:
                    self._dropped.append(old)
            self._frames.append(frame)
            self.high_water = max(self.high_water, len(self._frames))
            self._cond.notify()
            return room

    def put_aside(self, frame: Frame) -> None:
        """Keep a frame that inference skips (decimated) for the consumer of dropped frames."""
        if self._dropped is not None:
            with self._cond:
                self._dropped.append(frame)

    def get(self, timeout: float | None = None) -> tuple[Frame | None, list[Frame]]:
        """``(oldest frame, frames dropped or put aside before it)``, waiting up to ``timeout``
        s for a frame; the frame is None when closed and empty (or on timeout). The frames
        aside are all older than the one returned (taken under the same lock)."""
        with self._cond:
            if not self._frames and not self._closed:
                self._cond.wait(timeout)
            frame = self._frames.popleft() if self._frames else None
            aside: list[Frame] = []
            if self._dropped:
                aside = list(self._dropped)
                self._dropped.clear()
            return frame, aside

    def close(self) -> None:
        """No more frames will come; waiting consumers wake up."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._frames)

    def finished(self) -> bool:
        """Closed and drained."""
        with self._cond:
            return self._closed and not self._frames
