"""`WorkDispatcher`: the sessions with pending work, served in batches.

A session whose state machine says "start a worker" (``Session.queue_job`` / ``queue_image``)
is handed to :meth:`WorkDispatcher.ready`. At most ``workers`` drain loops run (on the pool that
``spawn`` submits to); each takes every ready session at once (up to ``max_batch``), and
classifies all their due windows that share a classifier and an image size in one feature
transform and one model call. A window costs the model's per-call overhead only once per batch:
when the server is idle a batch is one session's window, as before; under load the windows that
arrived while the last batch ran go together, so throughput rises with load instead of the queue.
A session's pending work stays newest-wins (``Session``), and a session is in the queue at most
once, so nothing grows with the clients' send rates.

Overload: a job whose answer would leave more than ``max_wait_s`` after its frames should have
been read (how late they were read, plus its wait here) is dropped unclassified and counted in
the session's ``frames_dropped``: the CPU goes to windows that can still be answered in time.
Between batches a drain loop yields, so results go out and messages are read while a backlog of
batches is served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from stream_pose_ml.logfmt import kv
from stream_pose_ml.serving.session import ClassificationJob, PendingImage, Session
from stream_pose_ml.serving.session_worker import SessionWorker

logger = logging.getLogger(__name__)

Spawn = Callable[[Callable[[], None]], Any]


class WorkDispatcher:
    """Ready sessions -> batched classification (and their images, one by one)."""

    def __init__(
        self,
        worker: SessionWorker,
        spawn: Spawn,
        workers: int = 1,
        max_batch: int = 64,
        max_wait_s: float | None = None,
    ) -> None:
        self.worker = worker
        self.max_wait_s = max_wait_s
        self.spawn = spawn
        self.workers = max(1, workers)
        self.max_batch = max(1, max_batch)
        self._ready: deque[Session] = deque()
        self._lock = threading.Lock()
        self._draining = 0

    def ready(self, session: Session) -> None:
        """``session`` has work (its state machine made it busy): serve it soon."""
        with self._lock:
            self._ready.append(session)
            start = self._draining < self.workers
            if start:
                self._draining += 1
        if start:
            self.spawn(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._ready:
                    self._draining -= 1
                    return
                count = min(len(self._ready), self.max_batch)
                sessions = [self._ready.popleft() for _ in range(count)]
            try:
                self._serve(sessions)
            except Exception as exc:  # never let one batch end the loop
                logger.exception(kv("dispatch_failed", sessions=len(sessions), error=exc))
            time.sleep(0)  # let the connections send the results and read (green threads)

    def _serve(self, sessions: list[Session]) -> None:
        jobs: list[tuple[Session, ClassificationJob]] = []
        images: list[tuple[Session, PendingImage]] = []
        again: list[Session] = []
        now = time.perf_counter()
        for session in sessions:
            with session.lock:
                work, estimator = session.take_work()
            if work is None:  # idle now (take_work cleared busy)
                if estimator is not None:
                    estimator.close()
                continue
            again.append(session)
            if isinstance(work, ClassificationJob) and self._stale(work, now):
                with session.lock:
                    session.counters.frames_dropped += len(work.windows)
                self.worker.observer.frames_dropped(len(work.windows))
                continue
            if isinstance(work, PendingImage):
                images.append((session, work))
            else:
                jobs.append((session, work))
        try:
            for group in _groups(jobs):
                self._classify(group)
            for session, image in images:
                self.worker.run_item(session, image)
        finally:
            with self._lock:  # still busy: back in line, to take what arrived meanwhile
                self._ready.extend(again)

    def _stale(self, job: ClassificationJob, now: float) -> bool:
        """The job's answer would come too late: its frames were read late, then it waited
        here."""
        if self.max_wait_s is None:
            return False
        return job.read_lag_s + (now - job.received) > self.max_wait_s

    def _classify(self, group: list[tuple[Session, ClassificationJob]]) -> None:
        """One transform and one model call for the windows of several sessions."""
        if len(group) == 1:
            self.worker.run_item(*group[0])
            return
        jobs = [job for _, job in group]
        classifier, image_size = jobs[0].classifier, jobs[0].image_size
        try:
            rows, labels, probabilities = classifier.classify(
                [job.windows for job in jobs], image_size
            )
        except Exception:  # find out whose windows fail: each session gets its own answer
            for session, job in group:
                self.worker.run_item(session, job)
            return
        start = 0
        for session, job in group:
            stop = start + len(job.windows)
            self.worker.answer(
                session,
                job,
                rows[start:stop],
                labels[start:stop],
                None if probabilities is None else probabilities[start:stop],
            )
            start = stop


def _groups(
    jobs: list[tuple[Session, ClassificationJob]],
) -> list[list[tuple[Session, ClassificationJob]]]:
    """Jobs by (classifier, image size), in order of arrival."""
    groups: dict[tuple[int, tuple[int, int] | None], list[tuple[Session, ClassificationJob]]]
    groups = {}
    for session, job in jobs:
        key = (id(job.classifier), job.image_size)
        groups.setdefault(key, []).append((session, job))
    return list(groups.values())
