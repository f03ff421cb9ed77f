"""The runner's built-in algorithms: MediaPipe pose, and a classifier over the pose.

`PoseAlgo` runs the landmarker in video mode on each frame it is scheduled on, with the
frame's presentation time as its (strictly increasing) timestamp. `ClassifierAlgo` feeds each
pose into the live server's own rolling window and window classifier
(``serving.window.RollingWindow``, ``serving.classifier.WindowClassifier``), so the same frames
give the same classifications here, over Socket.IO and in the offline dataset path.
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from stream_pose_ml.errors import PoseDataError, StreamError
from stream_pose_ml.stream.algo import AlgoResult, BaseAlgo, FrameWindow, Overlay
from stream_pose_ml.stream.frames import Frame

logger = logging.getLogger(__name__)

N_LANDMARKS, N_CHANNELS = 33, 4


class PoseAlgo(BaseAlgo):
    """BlazePose landmarks of the person in the frame (MediaPipe Tasks, video mode).

    The value is ``{"landmarks": (33, 4) array of x, y (normalized), z, visibility, or None
    when nobody is found, "image_size": [width, height]}``. ``complexity`` is ``"lite"``,
    ``"full"`` or ``"heavy"``; the confidences are MediaPipe's thresholds in ``[0, 1]``.

    With ``num_poses`` > 1 several people are found and tracked (``tracking.PoseTracker``,
    ``tracker`` its settings): the value adds ``"people"``, ``[{"id", "landmarks"}]`` of the
    confirmed tracks, and ``"landmarks"`` is the subject's. ``subject`` is a track id or a
    rule of ``tracking.parse_subject`` applied to each frame while the subject is out of view
    (``largest``, ``nearest:X,Y``, ``inside:X0,Y0,X1,Y1``); the person chosen is kept while in
    view. ``longest_visible`` and ``moves_most`` need the whole video (``stream-pose-ml
    analyze`` and the video jobs have them).
    """

    def __init__(
        self,
        name: str = "pose",
        complexity: int | str = "full",
        min_pose_detection_confidence: float = 0.5,
        min_pose_presence_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        model_path: str | Path | None = None,
        num_poses: int = 1,
        subject: int | str = "largest",
        tracker: Any = None,
    ) -> None:
        super().__init__(name)
        from stream_pose_ml.extraction.pose_estimator import PoseSettings
        from stream_pose_ml.tracking.selection import WHOLE_VIDEO_RULES, parse_subject

        try:
            self._rule, self._options = parse_subject(subject)
        except PoseDataError as exc:
            raise StreamError(str(exc)) from None
        if self._rule in WHOLE_VIDEO_RULES:
            raise StreamError(
                f"subject {subject!r} needs the whole video: a run picks its subject frame by"
                " frame (a track id, largest, nearest:X,Y or inside:X0,Y0,X1,Y1); use"
                " `stream-pose-ml analyze` for it"
            )
        self.subject = subject
        self.tracker_settings = tracker
        self._tracker: Any = None
        self._subject_id: int | None = self._options[0] if self._rule == "by_id" else None

        self.settings = PoseSettings(  # validated now, loaded in init()
            complexity=complexity,
            running_mode="video",
            min_pose_detection_confidence=min_pose_detection_confidence,
            min_pose_presence_confidence=min_pose_presence_confidence,
            min_tracking_confidence=min_tracking_confidence,
            model_path=model_path,
            num_poses=num_poses,
        )
        self.estimator: Any = None
        self._last_ms = -1

    def get_params(self) -> dict[str, Any]:
        return {
            "complexity": self.settings.complexity,
            "min_pose_detection_confidence": self.settings.min_pose_detection_confidence,
            "min_pose_presence_confidence": self.settings.min_pose_presence_confidence,
            "min_tracking_confidence": self.settings.min_tracking_confidence,
            "num_poses": self.settings.num_poses,
            "subject": self.subject,
        }

    def init(self) -> None:
        from dataclasses import asdict

        from stream_pose_ml.extraction.pose_estimator import PoseEstimator

        self.estimator = PoseEstimator(**asdict(self.settings))

    def process(self, window: FrameWindow) -> dict[str, Any]:
        frame = window.newest
        stamp = max(round(frame.pts_s * 1000.0), self._last_ms + 1)
        self._last_ms = stamp
        if self.settings.num_poses == 1:
            landmarks = self.estimator.detect(frame.rgb(), stamp)
            return {"landmarks": landmarks, "image_size": list(frame.size)}
        if self._tracker is None:
            from stream_pose_ml.tracking import PoseTracker

            self._tracker = PoseTracker(self.tracker_settings, image_size=frame.size)
        detections = self.estimator.detect_people(frame.rgb(), stamp)
        tracked = self._tracker.update(detections, stamp / 1000.0)
        people = [
            {"id": t.track_id, "landmarks": t.pose} for t in tracked if t.track_id is not None
        ]
        return {
            "landmarks": self._subject_pose(people, frame.size),
            "people": people,
            "subject": self._subject_id,
            "image_size": list(frame.size),
        }

    def _subject_pose(
        self, people: list[dict[str, Any]], size: tuple[int, int]
    ) -> np.ndarray | None:
        from stream_pose_ml.tracking.selection import choose_in_frame

        by_id = {p["id"]: p["landmarks"] for p in people}
        if self._subject_id in by_id or self._rule == "by_id":
            return by_id.get(self._subject_id)
        chosen = choose_in_frame(by_id, self._rule, self._options, size)
        if chosen is not None:
            self._subject_id = chosen
        return by_id.get(chosen) if chosen is not None else None

    def overlay(self, value: Any, frame: Frame) -> Overlay | None:
        people = value.get("people")
        if people:
            return Overlay(people=tuple((p["id"], np.asarray(p["landmarks"])) for p in people))
        landmarks = value.get("landmarks")
        return None if landmarks is None else Overlay(pose=np.asarray(landmarks))

    def close(self) -> None:
        if self.estimator is not None:
            self.estimator.close()
            self.estimator = None


class ClassifierAlgo(BaseAlgo):
    """Classifies windows of the poses the ``pose`` algorithm found, as the live server does.

    ``model`` is a path (anything ``load_model`` reads: a bundle, a legacy pickle, an MLflow
    model) or a loaded model. Windows are the model's window size, every ``stride`` frames
    (default: the model's own stride); a frame without a person is a NaN frame, as live. The
    value of a due window is ``{"label", "probabilities", "window_size", "model"}``; frames
    that complete no window give no result.
    """

    def __init__(
        self,
        model: str | Path | Any,
        name: str = "classifier",
        stride: int | None = None,
        pose: str = "pose",
    ) -> None:
        super().__init__(name)
        self.model_arg = model
        self.stride = stride
        self.pose = pose
        self.classifier: Any = None
        self.window: Any = None
        self._indices: deque[int] = deque()
        self._model_name = str(model) if isinstance(model, (str, Path)) else type(model).__name__

    def get_params(self) -> dict[str, Any]:
        return {"model": self._model_name, "stride": self.stride, "pose": self.pose}

    def init(self) -> None:
        from stream_pose_ml.serving.classifier import WindowClassifier
        from stream_pose_ml.serving.window import RollingWindow

        model = self.model_arg
        if isinstance(model, (str, Path)):
            from stream_pose_ml.learning.loading import load_model

            model = load_model(model, require_feature_spec=True)
        self.classifier = WindowClassifier(model, model_id=Path(self._model_name).stem)
        size = self.classifier.window_size
        stride = self.stride or max(1, int(getattr(model, "window_stride", 1) or 1))
        self.window = RollingWindow(size, stride)
        self._indices = deque(maxlen=size)

    def process(self, window: FrameWindow) -> AlgoResult | None:
        pose = window.needs(self.pose, by=self.name)
        frame = window.newest
        landmarks = pose.get("landmarks")
        data = (
            np.full((1, N_LANDMARKS, N_CHANNELS), np.nan)
            if landmarks is None
            else np.asarray(landmarks, dtype=np.float64)[None]
        )
        self._indices.append(frame.index)
        due = self.window.push(
            data, np.array([frame.index], dtype=np.int64), np.array([frame.pts_s * 1000.0])
        )
        if not len(due):
            return None
        size = tuple(pose.get("image_size") or frame.size)
        _, labels, probabilities = self.classifier.classify([due], (int(size[0]), int(size[1])))
        value = {
            "label": labels[-1],
            "probabilities": None if probabilities is None else probabilities[-1],
            "window_size": self.window.size,
            "model": self.classifier.model_id,
        }
        return AlgoResult(value, self._indices[0], frame.index)

    def overlay(self, value: Any, frame: Frame) -> Overlay | None:
        label = str(value.get("label"))
        probability = (value.get("probabilities") or {}).get(label)
        return Overlay(labels=((label, probability),))
