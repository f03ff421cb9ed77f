"""Windows of frames: the one definition that datasets, the offline transform and live serving use.

A stream of frames (a recorded sequence, or a live session since its last reset) has windows of
``size`` consecutive frames every ``stride`` frames: window ``k`` holds frames
``k * stride ... k * stride + size - 1`` and is complete once its last frame has arrived. So a
sequence of ``n`` frames has :func:`window_count` windows (a shorter tail makes none), and the
frames that complete a window are those :func:`window_ends` lists. :func:`cut_windows` gathers
windows at any start frames (segmentation strategies choose starts of their own) into one
``(windows, size, landmarks, channels)`` array.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from stream_pose_ml.errors import PoseDataError

if TYPE_CHECKING:
    from stream_pose_ml.keypoints.sequence import PoseSequence


def check_window(size: object, stride: object = 1) -> tuple[int, int]:
    """``(size, stride)`` as ints, or a `PoseDataError` unless both are integers >= 1."""
    for name, value in (("window", size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise PoseDataError(f"{name} must be an integer >= 1, got {value!r}")
    return int(size), int(stride)  # type: ignore[call-overload]


def window_count(n_frames: ArrayLike, size: int, stride: int = 1) -> np.ndarray:
    """Complete windows in streams of ``n_frames`` frames (any shape, elementwise): window ``k``
    exists when ``k * stride + size <= n_frames``."""
    n = np.asarray(n_frames, dtype=np.int64)
    return np.where(n >= size, (n - size) // stride + 1, 0)


def window_starts(n_frames: int, size: int, stride: int = 1) -> np.ndarray:
    """``(window_count,)`` first frame of each window of a stream of ``n_frames`` frames."""
    return np.arange(int(window_count(n_frames, size, stride)), dtype=np.int64) * stride


def window_ends(first: int, n_new: int, size: int, stride: int = 1) -> np.ndarray:
    """Frames among ``first ... first + n_new - 1`` (counted from the stream's start) that are
    the last frame of a window, in order: the windows ``n_new`` new frames complete."""
    lowest = -(-max(0, first - size + 1) // stride)  # first window whose end is >= first
    highest = (first + n_new - size) // stride  # last window whose end is < first + n_new
    k = np.arange(lowest, highest + 1, dtype=np.int64)
    return k * stride + size - 1


def cut_windows(
    data: np.ndarray,
    starts: ArrayLike,
    size: int,
    lengths: ArrayLike | None = None,
    copy: bool = False,
) -> np.ndarray:
    """Windows ``data[s : s + size]`` for each start ``s``: ``(len(starts), size, ...)``.

    ``data`` is ``(frames, ...)``. With ``lengths``, window ``i`` holds only ``lengths[i]``
    frames and is padded with NaN frames at its end (NaN-aware pooling ignores them). Evenly
    spaced full windows are a read-only view of ``data`` unless ``copy``; others are a copy.
    Every window must lie inside ``data``.
    """
    starts = np.asarray(starts, dtype=np.int64).reshape(-1)
    k = starts.shape[0]
    if k == 0:
        return np.empty((0, size, *data.shape[1:]), dtype=data.dtype)
    full = lengths is None or (np.asarray(lengths) == size).all()
    counts = np.full(k, size) if full else np.asarray(lengths, dtype=np.int64).reshape(-1)
    if starts.min() < 0 or (starts + counts).max() > data.shape[0] or counts.min() < 1:
        raise PoseDataError(
            f"windows starting at frames {starts.min()}..{starts.max()} do not fit in "
            f"{data.shape[0]} frames"
        )
    if not full:
        index = np.minimum(starts[:, None] + np.arange(size), data.shape[0] - 1)
        block = data[index]
        block[np.arange(size)[None, :] >= counts[:, None]] = np.nan
        return block
    step = int(starts[1] - starts[0]) if k > 1 else 1
    if step >= 1 and (k == 1 or (np.diff(starts) == step).all()):
        view = np.moveaxis(sliding_window_view(data, size, axis=0), -1, 1)
        windows = view[starts[0] : starts[0] + (k - 1) * step + 1 : step]
        return windows.copy() if copy else windows
    return data[starts[:, None] + np.arange(size)]


def sliding_windows(seq: PoseSequence, window: int, stride: int = 1) -> np.ndarray:
    """Every window of a sequence (see the module docstring), as a read-only view.

    Returns ``(window_count, window, landmarks, channels)``; window ``i`` starts at frame
    ``i * stride`` (none when the sequence is shorter than the window).
    """
    window, stride = check_window(window, stride)
    return cut_windows(seq.data, window_starts(len(seq), window, stride), window)
