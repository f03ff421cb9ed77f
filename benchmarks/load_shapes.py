"""The client shapes of the load benchmark: how a session's frames become ``keypoints`` messages.

Every shape takes the session's frames one at a time, in capture order (:meth:`Shape.add`), and
says when a message leaves and what it holds:

- ``json``: every frame at once, one JSON frame per message, as the web UI sends it
  (``web_ui/src/lib/payload.ts``: 33 ``{x, y, z, visibility}`` objects or ``[]`` when nobody was
  detected, ``frame_id``, ``timestamp`` in ms, ``image_size``);
- ``batched``: ``stream_pose_ml.serving.batching.StrideBatcher``: frames are held until the one
  that completes the session's next due window, then sent as one binary (SPK1) message;
- ``binary``: every ``batch`` frames as one binary message, whatever the window;
- ``batch``: every ``batch`` frames as one JSON ``{"frames": [...]}`` message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# imported here, not in the sessions' event loop: an import there stalls every session's sending
from stream_pose_ml.serving.batching import StrideBatcher
from stream_pose_ml.serving.payload import encode_frames

SHAPES = ("json", "batched", "binary", "batch")


@dataclass(frozen=True)
class Outgoing:
    """One message to send: ``payload`` holds frames ``first ... last`` (session frame indices,
    which are also their frame ids)."""

    payload: Any
    first: int
    last: int


def json_landmarks(frames: np.ndarray) -> list[list[dict[str, float]]]:
    """The web UI's landmark objects of each ``(33, 4)`` frame; ``[]`` for a frame without a
    detection (any non-finite x, y or z), and no ``visibility`` key where it is NaN."""
    out: list[list[dict[str, float]]] = []
    for frame in np.asarray(frames, dtype=np.float64):
        if not np.isfinite(frame[:, :3]).all():
            out.append([])
            continue
        points = []
        for x, y, z, visibility in frame.tolist():
            point = {"x": x, "y": y, "z": z}
            if visibility == visibility:  # not NaN
                point["visibility"] = visibility
            points.append(point)
        out.append(points)
    return out


class Shape:
    """Turns a session's frames into messages. ``frames`` is the ``(L, 33, 4)`` video the
    session loops over, ``video_index`` says which video frame a session frame shows."""

    def __init__(self, frames: np.ndarray, image_size: tuple[int, int]) -> None:
        self.frames = np.asarray(frames, dtype=np.float32)
        self.image_size = image_size
        self._size_json = {"width": image_size[0], "height": image_size[1]}

    def add(self, index: int, video_index: int, timestamp_ms: float) -> Outgoing | None:
        """Session frame ``index`` (video frame ``video_index``) was captured; a message to send
        now, or None."""
        raise NotImplementedError

    def flush(self) -> Outgoing | None:
        """What is still held, as one message (the session stops); None if nothing."""
        return None


class JsonFrames(Shape):
    """One JSON frame per message (the web UI)."""

    def __init__(self, frames: np.ndarray, image_size: tuple[int, int]) -> None:
        super().__init__(frames, image_size)
        self._landmarks = json_landmarks(self.frames)

    def add(self, index: int, video_index: int, timestamp_ms: float) -> Outgoing | None:
        message = {
            "landmarks": self._landmarks[video_index],
            "frame_id": index,
            "timestamp": round(timestamp_ms, 3),
            "image_size": self._size_json,
        }
        return Outgoing(message, index, index)


class Held(Shape):
    """Frames held and sent ``per_message`` at a time (binary or JSON batches)."""

    def __init__(
        self, frames: np.ndarray, image_size: tuple[int, int], per_message: int, binary: bool
    ) -> None:
        super().__init__(frames, image_size)
        self.per_message, self.binary = per_message, binary
        self._landmarks = None if binary else json_landmarks(self.frames)
        self._held: list[tuple[int, int, float]] = []

    def add(self, index: int, video_index: int, timestamp_ms: float) -> Outgoing | None:
        self._held.append((index, video_index, timestamp_ms))
        return self.flush() if len(self._held) >= self.per_message else None

    def flush(self) -> Outgoing | None:
        if not self._held:
            return None
        held, self._held = self._held, []
        ids = [index for index, _, _ in held]
        if self.binary:
            data = self.frames[[video for _, video, _ in held]]
            payload: Any = encode_frames(data, ids, [t for _, _, t in held], self.image_size)
        else:
            assert self._landmarks is not None
            payload = {
                "frames": [
                    {"landmarks": self._landmarks[video], "frame_id": i, "timestamp": round(t, 3)}
                    for i, video, t in held
                ],
                "image_size": self._size_json,
            }
        return Outgoing(payload, ids[0], ids[-1])


class StrideBatched(Shape):
    """Frames held by a ``StrideBatcher`` until one completes the next due window."""

    def __init__(
        self,
        frames: np.ndarray,
        image_size: tuple[int, int],
        window_size: int,
        stride: int,
        max_frames: int,
    ) -> None:
        super().__init__(frames, image_size)
        self.batcher = StrideBatcher(window_size, stride, frames_seen=0, max_frames=max_frames)

    def add(self, index: int, video_index: int, timestamp_ms: float) -> Outgoing | None:
        return self._outgoing(self.batcher.add(self.frames[video_index], index, timestamp_ms))

    def flush(self) -> Outgoing | None:
        return self._outgoing(self.batcher.flush())

    def _outgoing(self, held: Any) -> Outgoing | None:
        if held is None:
            return None
        ids = held.frame_ids
        return Outgoing(held.encode(self.image_size), int(ids[0]), int(ids[-1]))


def make_shape(
    name: str,
    frames: np.ndarray,
    image_size: tuple[int, int],
    *,
    batch: int,
    window_size: int,
    stride: int,
    max_frames: int = 120,
) -> Shape:
    """The shape ``name`` (one of ``SHAPES``) for a session with this window and stride."""
    if name == "json":
        return JsonFrames(frames, image_size)
    if name == "batched":
        return StrideBatched(frames, image_size, window_size, stride, max_frames)
    if name in ("binary", "batch"):
        return Held(frames, image_size, batch, binary=name == "binary")
    raise ValueError(f"unknown client shape {name!r}; choose one of {', '.join(SHAPES)}")
