"""`BaseAlgo`, what a user algorithm subclasses, and the `FrameWindow` it runs on.

As in stream-infer's API, an algorithm has ``init()`` (load models once) and ``run(frames)``
(the window's images, oldest first, newest last; frames the window lacks are left out).
Algorithms that need more than images override :meth:`BaseAlgo.process`, which gets the whole
`FrameWindow`: indices, presentation times, the mask of frames present, and the results of the
algorithms that ran before on the same frame (the pose for a classifier, say).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.frames import Frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FrameWindow:
    """The frames an algorithm runs on: ``frames[j]`` is source frame ``indices[j]`` or None
    when the window lacks it (``mask[j]`` False); the last one is the frame that ran.
    ``results`` holds what earlier algorithms returned for that newest frame, by name."""

    indices: tuple[int, ...]
    frames: tuple[Frame | None, ...]
    results: Mapping[str, Any] = field(default_factory=dict)

    def needs(self, algorithm: str, by: str) -> Any:
        """What ``algorithm`` returned for the newest frame; a `StreamError` naming ``by`` (the
        algorithm that needs it) when it did not run on that frame before it."""
        value = self.results.get(algorithm)
        if value is None:
            raise StreamError(
                f"{by} needs the result of algorithm {algorithm!r} on the same frame; "
                f"load a PoseAlgo named {algorithm!r} before it, on the same schedule"
            )
        return value

    @property
    def newest(self) -> Frame:
        frame = self.frames[-1]
        assert frame is not None  # a window always ends at the frame that ran
        return frame

    @property
    def mask(self) -> np.ndarray:
        """``(count,)`` bool, True where the frame is present."""
        return np.array([f is not None for f in self.frames], dtype=bool)

    @property
    def complete(self) -> bool:
        return all(f is not None for f in self.frames)

    @property
    def images(self) -> list[np.ndarray]:
        """Images of the present frames, oldest first (what ``BaseAlgo.run`` receives)."""
        return [f.image for f in self.frames if f is not None]


@dataclass(frozen=True)
class AlgoResult:
    """A result with the frames it covers, when they are not the scheduled window (a
    classifier's model window, say): ``window_start`` .. ``window_end`` source indices."""

    value: Any
    window_start: int
    window_end: int


@dataclass(frozen=True)
class Overlay:
    """What an algorithm draws on the annotated video for its latest value: one untracked
    ``pose`` ``(33, 4)``, tracked ``people`` as ``(id, (33, 4) landmarks)``, ``labels`` (text or
    ``(label, probability)``), and ``marks`` (text, or ``drawing.Mark`` with a severity)."""

    pose: np.ndarray | None = None
    people: tuple[tuple[int | str, np.ndarray], ...] = ()
    labels: tuple[Any, ...] = ()
    marks: tuple[Any, ...] = ()


class BaseAlgo:
    """An algorithm the runner calls on schedule: override ``init`` and ``run`` (or ``process``).

    ``name`` defaults to the class name; results are collected under it. ``init`` runs once,
    before the first frame, in the thread that will run the algorithm.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self._initialized = False

    def init(self) -> None:
        """Load what the algorithm needs (models, tables). Called once."""

    def run(self, frames: list[np.ndarray]) -> Any:
        """The result for a window's images (oldest first); ``None``: no result."""
        raise NotImplementedError(f"{type(self).__name__} must implement run(frames)")

    def process(self, window: FrameWindow) -> Any:
        """The result for a window; the default calls :meth:`run` with its images."""
        return self.run(window.images)

    def overlay(self, value: Any, frame: Frame) -> Overlay | None:
        """What to draw for ``value`` (this algorithm's latest result) on ``frame``; None."""
        return None

    def ensure_init(self) -> None:
        if not getattr(self, "_initialized", False):  # a subclass __init__ may skip ours
            self.init()
            self._initialized = True

    def close(self) -> None:
        """Release what ``init`` loaded; called once when the run ends."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={algo_name(self)!r})"


def algo_name(algo: BaseAlgo) -> str:
    """The name results are collected under (the class name unless one was given)."""
    return str(getattr(algo, "name", None) or type(algo).__name__)
