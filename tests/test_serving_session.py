"""The session's worker state machine: newest work wins, one worker, MediaPipe handed back."""

from __future__ import annotations

import numpy as np

from stream_pose_ml.serving.payload import ImageFrame
from stream_pose_ml.serving.session import ClassificationJob, PendingImage, Session
from stream_pose_ml.serving.window import DueWindows, FrameFeatures


class FakeEstimator:
    def __init__(self) -> None:
        self.closed = False

    def detect(self, frame: object, timestamp_ms: int | None = None) -> None:
        return None

    def close(self) -> None:
        self.closed = True


def job(n_windows: int) -> ClassificationJob:
    windows = DueWindows(
        np.zeros((n_windows, 2, 33, 4)),
        np.arange(n_windows),
        np.zeros(n_windows),
        np.arange(n_windows),
        FrameFeatures(),
    )
    return ClassificationJob(windows, 0.0, None, classifier=None, window_size=2)  # type: ignore[arg-type]


def test_newest_work_wins_and_only_one_worker_starts() -> None:
    session = Session("s")
    assert session.queue_job(job(2)) == (0, True)  # idle -> busy: start a worker
    assert session.queue_job(job(3)) == (2, False)  # replaced: 2 windows dropped, no 2nd worker
    assert session.queue_image(ImageFrame(b"\xff\xd8\xff"), 1.0) == (0, False)
    assert session.queue_image(ImageFrame(b"\xff\xd8\xff", frame_id=7), 2.0) == (1, False)
    assert session.counters.frames_dropped == 3
    first, _ = session.take_work()
    assert isinstance(first, PendingImage) and first.image.frame_id == 7  # images first
    second, _ = session.take_work()
    assert isinstance(second, ClassificationJob) and len(second.windows) == 3
    assert session.take_work() == (None, None) and not session.busy  # idle again
    assert session.queue_job(job(1)) == (0, True)


def test_closing_drops_work_and_hands_the_estimator_to_whoever_closes_it() -> None:
    idle = Session("idle")
    estimator = FakeEstimator()
    assert idle.attach_estimator(estimator)
    assert idle.close() is estimator and idle.estimator is None  # idle: close it now

    busy = Session("busy")
    busy.attach_estimator(estimator := FakeEstimator())
    busy.queue_job(job(1))
    assert busy.close() is None  # the worker still runs: it closes the estimator when it stops
    assert busy.take_work() == (None, estimator) and busy.pending_job is None
    assert not busy.attach_estimator(FakeEstimator())  # closed sessions take no new one


def test_image_timestamps_increase_from_the_first_image() -> None:
    session = Session("s")
    assert session.image_timestamp(1000.0, 5.0) == 0
    assert session.image_timestamp(1033.4, 5.1) == 33
    assert session.image_timestamp(1033.0, 5.2) == 34  # never backwards for MediaPipe
    other = Session("t")
    assert other.image_timestamp(float("nan"), 2.0) == 0  # no client clock: arrival time
    assert other.image_timestamp(float("nan"), 2.5) == 500
