"""`SessionWorker`: what is done with a session's pending work, item by item.

The dispatcher (``serving.dispatcher``) takes the pending items of busy sessions: an image goes
through the session's MediaPipe landmarker and then the same path as keypoints (``ingest``); a
classification job becomes one ``frame_result`` (:meth:`SessionWorker.answer`, also for windows
the dispatcher classified together with other sessions'). Any error is an ``error`` event for
that session; the worker and the session carry on.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from stream_pose_ml.errors import ExtractionError, ModelAssetError, ServingError
from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.classifier import ClassificationResult
from stream_pose_ml.serving.images import decode_image
from stream_pose_ml.serving.payload import FrameBatch, PayloadLimits
from stream_pose_ml.serving.session import ClassificationJob, Estimator, PendingImage, Session

logger = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any], str], None]
Ingest = Callable[[Session, FrameBatch, float], None]


class WorkerObserver(Protocol):
    """Where the worker counts classifications, drops and errors (``ServingObserver``)."""

    def classified(self, n: int, latency_s: float) -> None: ...
    def frames_dropped(self, n: int) -> None: ...
    def payload_error(self, code: str) -> None: ...


def default_estimator(pose_model: str, num_poses: int = 1) -> Estimator:
    """A MediaPipe landmarker in video mode finding up to ``num_poses`` people (imported only
    when a session sends images)."""
    from stream_pose_ml.extraction.pose_estimator import PoseEstimator

    return PoseEstimator(complexity=pose_model, running_mode="video", num_poses=num_poses)


@dataclass(frozen=True)
class SessionWorker:
    """Runs a session's pending images and classification jobs, and answers the client.

    ``emit(event, body, sid)`` answers, ``ingest(session, frames, received)`` takes an image's
    landmarks down the keypoints path, ``estimator_factory(num_poses)`` makes a session's
    landmarker.
    """

    emit: Emit
    ingest: Ingest
    observer: WorkerObserver
    limits: PayloadLimits
    estimator_factory: Callable[[int], Estimator]

    def run_item(self, session: Session, item: PendingImage | ClassificationJob) -> None:
        """Run one pending image or classification job; a failure is the session's ``error``
        event, and the session goes on."""
        try:
            if isinstance(item, PendingImage):
                self._run_image(session, item)
            else:
                rows, labels, probabilities = item.classifier.classify(
                    [item.windows], item.image_size
                )
                self.answer(session, item, rows, labels, probabilities)
        except ServingError as exc:
            self._failed(session, exc.code, exc.to_dict())
        except Exception as exc:  # never let one message end the worker silently
            logger.exception(kv("worker_failed", sid=session.sid, error=exc))
            body = {"code": "internal", "message": f"server error: {exc}"}
            self._failed(session, "internal", body)

    def _failed(self, session: Session, code: str, body: dict[str, str]) -> None:
        session.counters.errors += 1
        self.observer.payload_error(code)
        self.emit("error", body, session.sid)

    def answer(
        self,
        session: Session,
        job: ClassificationJob,
        rows: np.ndarray,
        labels: list[str],
        probabilities: list[dict[str, float]] | None,
    ) -> None:
        """Emit the ``frame_result`` of a job's windows, classified as ``rows``/``labels``."""
        windows = job.windows
        classifier = job.classifier
        latency = time.perf_counter() - job.received
        k = len(windows)
        with session.lock:
            session.counters.classifications += k
            dropped = session.counters.frames_dropped
            include = session.settings.include_features
        results = [
            ClassificationResult(
                label=labels[i],
                probabilities=None if probabilities is None else probabilities[i],
                frame_id=int(windows.frame_ids[i]),
                window_fill=1.0,
                window_size=job.window_size,
                processing_ms=latency * 1000.0,
                dropped=dropped,
                model_id=classifier.model_id,
                backend=classifier.backend,
                timestamp=float(windows.timestamps[i]),
                features=[None if math.isnan(v) else v for v in rows[i].tolist()]
                if include
                else None,
            ).to_message()
            for i in range(k)
        ]
        if job.tracked:
            for result in results:
                result["track_id"] = job.track_id
        message = dict(results[-1])
        if k > 1:
            message["results"] = results
        session.last_result = results[-1]
        self.observer.classified(k, latency)
        self.emit("frame_result", message, session.sid)

    def _run_image(self, session: Session, pending: PendingImage) -> None:
        image = pending.image
        rgb = decode_image(image.data, self.limits.max_image_pixels)
        height, width = rgb.shape[:2]
        num_poses = session.settings.num_poses
        estimator = session.estimator
        if estimator is not None and getattr(estimator, "num_poses", 1) != num_poses:
            with session.lock:  # MediaPipe's number of poses is fixed when it is made
                session.estimator = None
            estimator.close()
            estimator = None
        if estimator is None:
            try:
                estimator = self.estimator_factory(num_poses)
            except (ModelAssetError, ExtractionError) as exc:
                raise ServingError(
                    "pose_unavailable", f"MediaPipe is not available: {exc}", 503
                ) from exc
            with session.lock:
                attached = session.attach_estimator(estimator)
            if not attached:
                estimator.close()
                return
        with session.lock:
            stamp = session.image_timestamp(image.timestamp, pending.received)
        try:
            # one person: the first MediaPipe lists; several: all of them, for the tracker
            found = [estimator.detect(rgb, stamp)] if num_poses == 1 else None
            people = estimator.detect_people(rgb, stamp) if found is None else None
        except ExtractionError as exc:
            raise ServingError("pose_failed", str(exc), 500) from exc
        landmarks = found[0] if found is not None else (people[0] if people else None)
        data = np.full((1, 33, 4), np.nan) if landmarks is None else landmarks[None]
        batch = FrameBatch(
            data=data,
            frame_ids=np.array([image.frame_id], dtype=np.int64),
            timestamps=np.array([image.timestamp]),
            image_size=(width, height),
            people=None if people is None else (_stack(people),),
            people_sent=() if people is None else (len(people),),
        )
        self.ingest(session, batch, pending.received)


def _stack(poses: list[np.ndarray]) -> np.ndarray:
    """``(k, 33, 4)`` of a frame's ``k`` people."""
    return np.stack(poses) if poses else np.zeros((0, 33, 4))
