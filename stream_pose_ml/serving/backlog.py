"""Frames that waited too long before the server read them: found, shed, and said.

When a server gets more frames than it can read, they wait in socket buffers, where nothing
drops them, and every answer comes later and later. A client's frame timestamps say when it
sent each frame: the smallest ``read time - client time`` a session has shown is its transport
delay, and a frame read ``stale_ms`` later than that, in a burst (read sooner after the previous
frame than half their client spacing: the reader is working through a queue), waited in a
buffer. A client that is itself slower than its timestamps reads no bursts and is never shed.
Such frames are shed
unread (no landmark parsing, no window, no classification), except the last ones the window
needs: when the session catches up, they refill its window, so its first fresh frame can be
classified at once. The session is told (a ``warning`` event, at most once a second).

A frame without a client timestamp is never stale (there is nothing to compare it with).
"""

from __future__ import annotations

import math
import struct
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stream_pose_ml.serving.payload import BINARY_HEADER

_STAMP = struct.Struct("<d")


def peek_frames(message: Any) -> tuple[int, float]:
    """``(frames, newest client timestamp in ms or NaN)`` of a ``keypoints`` message, without
    validating it; ``(0, NaN)`` for anything it cannot tell (the parser reports the problem)."""
    try:
        if isinstance(message, (bytes, bytearray, memoryview)):
            n = BINARY_HEADER.unpack_from(message)[1]
            offset = BINARY_HEADER.size + 8 * n + 8 * (n - 1)  # the last of n timestamps
            return (n, _STAMP.unpack_from(message, offset)[0]) if n else (0, math.nan)
        if isinstance(message, Mapping):
            frames = message.get("frames")
            if isinstance(frames, list):
                last = frames[-1] if frames else None
                stamp = last.get("timestamp") if isinstance(last, Mapping) else None
                return len(frames), _number(stamp)
            return 1, _number(message.get("timestamp"))
    except (struct.error, TypeError, AttributeError):
        pass
    return 0, math.nan


def _number(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else math.nan


@dataclass
class Backlog:
    """One session's reading delay and the messages kept while it is behind.

    ``keep`` messages at most are kept (the window's size: a message holds at least one frame).
    """

    stale_ms: float
    keep: int
    offset_ms: float = math.inf  # smallest read time - client time seen: the transport delay
    last_read_s: float = -math.inf
    last_client_ms: float = math.nan
    behind: bool = False
    frames_shed: int = 0
    warned_at: float = -math.inf
    kept: deque[tuple[Any, int]] = field(default_factory=deque)

    def lag_ms(self, client_ms: float, read_s: float) -> float:
        """How long the frame waited in a queue beyond the transport delay: 0 without a
        timestamp, or when it was not read in a burst."""
        if math.isnan(client_ms):
            return 0.0
        delay = read_s * 1000.0 - client_ms
        self.offset_ms = min(self.offset_ms, delay)
        read_gap_ms = (read_s - self.last_read_s) * 1000.0
        client_gap_ms = client_ms - self.last_client_ms  # NaN at first: no burst
        self.last_read_s, self.last_client_ms = read_s, client_ms
        burst = read_gap_ms < 0.5 * client_gap_ms
        return delay - self.offset_ms if burst or self.behind else 0.0

    def shed(self, message: Any, n_frames: int) -> int:
        """Keep a stale message (the newest ones only); the frames that fell out, shed."""
        self.behind = True
        self.kept.append((message, n_frames))
        dropped = 0
        while len(self.kept) > max(1, self.keep):
            dropped += self.kept.popleft()[1]
        self.frames_shed += dropped
        return dropped

    def catch_up(self) -> list[Any]:
        """The kept messages, oldest first, once the session reads fresh frames again."""
        self.behind = False
        kept, self.kept = [message for message, _ in self.kept], deque()
        return kept

    def should_warn(self, now_s: float) -> bool:
        if now_s - self.warned_at < 1.0:
            return False
        self.warned_at = now_s
        return True
