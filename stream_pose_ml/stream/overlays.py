"""`VideoTap`: every frame of a run into the annotated video, with each algorithm's overlay.

Each algorithm says what to draw for its latest value (`BaseAlgo.overlay`): the pose algorithm
its skeleton, the classifier its label, analyzers their marks. Frames that inference skipped
(decimated, or dropped in real time) are written too, with the latest overlays, so the video
keeps the source's frames and timestamps.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stream_pose_ml.stream.algo import Overlay
from stream_pose_ml.stream.frames import Frame, SourceInfo

if TYPE_CHECKING:
    from stream_pose_ml.stream.pipeline import Pipeline

logger = logging.getLogger(__name__)


def combined_overlay(pipeline: Pipeline, frame: Frame) -> Overlay:
    """The overlays of every algorithm's latest value, in load order, as one (the first pose)."""
    pose = None
    people: list[tuple[int | str, np.ndarray]] = []
    labels: list[Any] = []
    marks: list[Any] = []
    for scheduled in pipeline.algorithms:
        value = pipeline.latest.get(scheduled.name)
        if value is None:
            continue
        overlay = scheduled.algo.overlay(value, frame)
        if overlay is None:
            continue
        pose = overlay.pose if pose is None else pose
        people.extend(overlay.people)
        labels.extend(overlay.labels)
        marks.extend(overlay.marks)
    return Overlay(pose, tuple(people), tuple(labels), tuple(marks))


class VideoTap:
    """Writes frames with the pipeline's overlays to an H.264 MP4 at the source's rate
    (``preset``: x264's speed preset; real time uses ``ultrafast`` to leave the cores to
    inference)."""

    def __init__(
        self, path: Path, info: SourceInfo, pipeline: Pipeline, preset: str = "veryfast"
    ) -> None:
        from stream_pose_ml.stream.video_out import AnnotatedVideoWriter

        self.pipeline = pipeline
        self.frames = 0
        self._last_index = -1
        self._writer = AnnotatedVideoWriter.for_source(path, info, preset=preset)

    def write(self, frame: Frame) -> None:
        if frame.index <= self._last_index:  # never out of order (a late frame is left out)
            return
        self._last_index = frame.index
        overlay = combined_overlay(self.pipeline, frame)
        self._writer.write(
            frame,
            pose=overlay.pose,
            people=overlay.people,
            labels=overlay.labels,
            marks=overlay.marks,
        )
        self.frames += 1

    def close(self) -> None:
        self._writer.close()
