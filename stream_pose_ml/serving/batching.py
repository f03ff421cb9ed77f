"""`StrideBatcher`: what a live client sends together, so that no result leaves later.

A session classifies the window that ends on frame ``g`` (counted since its window was last
reset) when ``features.windows.window_ends`` says so: every ``stride`` frames once ``size``
frames have arrived. A frame that completes no window gains nothing from being sent at once, so
a client can hold frames until the one that completes the next due window and send them in one
binary message (``payload.encode_frames``): each result leaves as early as with one message per
frame, with ``1 / stride`` of the messages. With stride 1 every frame is sent alone. The web UI
does the same (``web_ui/src/lib/batching.ts``); docs/api.md, "Sending frames", describes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stream_pose_ml.features.windows import check_window, window_ends
from stream_pose_ml.serving.payload import NO_FRAME_ID, encode_frames


@dataclass(frozen=True, eq=False)
class HeldFrames:
    """Frames released together: ``data`` ``(n, 33, 4)``, ``frame_ids`` and ``timestamps``."""

    data: np.ndarray
    frame_ids: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return self.data.shape[0]

    def encode(self, image_size: tuple[int, int] | None = None) -> bytes:
        """The binary ``keypoints`` message of these frames (``payload.encode_frames``)."""
        return encode_frames(self.data, self.frame_ids, self.timestamps, image_size)


class StrideBatcher:
    """Collects a session's frames and releases them when a window is due.

    ``size`` and ``stride`` are the session's (the ``configured`` event says them);
    ``frames_seen`` the frames the server's window already holds (0 after a reset, e.g. a new
    ``configure``). ``max_frames`` caps a message (the server's ``MAX_FRAMES_PER_MESSAGE``).
    """

    def __init__(self, size: int, stride: int, frames_seen: int = 0, max_frames: int = 120) -> None:
        self.size, self.stride = check_window(size, stride)
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self.max_frames = max_frames
        self.frames_seen = frames_seen
        self._held: list[tuple[np.ndarray, int, float]] = []

    @property
    def held(self) -> int:
        """Frames waiting to be sent."""
        return len(self._held)

    def add(
        self, frame: np.ndarray, frame_id: int = NO_FRAME_ID, timestamp: float = math.nan
    ) -> HeldFrames | None:
        """Take one ``(33, 4)`` frame (all NaN: no detection); the frames to send now, or None."""
        self._held.append((np.asarray(frame, dtype=np.float32), int(frame_id), float(timestamp)))
        due = window_ends(self.frames_seen, 1, self.size, self.stride).size > 0
        self.frames_seen += 1
        if due or len(self._held) >= self.max_frames:
            return self.flush()
        return None

    def flush(self) -> HeldFrames | None:
        """Everything held, to send now (when the client pauses or stops); None if nothing."""
        if not self._held:
            return None
        held, self._held = self._held, []
        return HeldFrames(
            data=np.stack([frame for frame, _, _ in held]),
            frame_ids=np.array([frame_id for _, frame_id, _ in held], dtype=np.int64),
            timestamps=np.array([stamp for _, _, stamp in held], dtype=np.float64),
        )
