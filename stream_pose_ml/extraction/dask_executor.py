"""The Dask executor: one task per video on a Dask cluster, results streamed back as they finish.

The task is the unit of work the local pool runs (`video_batch.process_one_video`), so the same
video gives the same keypoints on either. The cluster is a ``distributed.Client`` the caller
passes, the scheduler at an address, or a ``LocalCluster`` of one single-threaded worker process
per core started for the job. A worker plugin loads MediaPipe and the pose model once per worker
process, when it joins (building a missing model bundle there); each video still gets a fresh
MediaPipe landmarker, because in video mode the landmarker tracks the person from frame to frame
and MediaPipe has no way to reset it for the next video. When a worker dies under a task, the
scheduler runs the task again on another worker, at most ``distributed.scheduler.allowed-failures``
times (`LOST_WORKER_RETRIES` on a cluster started here); then the video is reported as failed.
Every worker must reach the videos and the output folders at the same paths (one machine, or a
shared volume mounted at the same place everywhere).
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from stream_pose_ml.errors import ExtractionError

try:
    import dask
    import distributed
except ImportError as exc:  # pragma: no cover - the extra is part of the test install
    raise ExtractionError(
        "executor='dask' needs Dask distributed: pip install 'stream_pose_ml[dask]'"
    ) from exc

from stream_pose_ml.extraction.local_pool import main_module_hidden

logger = logging.getLogger(__name__)

Options = TypeVar("Options")
Result = TypeVar("Result")

#: Reruns of a task whose worker died under it (Dask's default), on a cluster started here.
LOST_WORKER_RETRIES = 3
PLUGIN_NAME = "stream-pose-ml-pose-model"


class PoseModelPreload(distributed.WorkerPlugin):
    """Import MediaPipe and load the pose model of ``configuration`` once in each worker
    process (building a missing bundle), so that no task pays for it."""

    def __init__(self, configuration: Mapping[str, Any]) -> None:
        self.configuration = dict(configuration)

    def setup(self, worker: distributed.Worker) -> None:
        from stream_pose_ml.extraction.pose_estimator import PoseEstimator

        try:
            with PoseEstimator.from_configuration(self.configuration):
                pass
        except Exception as exc:  # each video's task reports the error itself
            logger.warning("worker %s could not load the pose model: %s", worker.address, exc)


@contextlib.contextmanager
def cluster_client(
    executor: Any, scheduler: str | None, workers: int | None
) -> Iterator[distributed.Client]:
    """The client to run on: ``executor`` if it is one, else a client of ``scheduler``, else
    of a ``LocalCluster`` of ``workers`` single-threaded processes (default: one per core),
    closed on leaving."""
    if isinstance(executor, distributed.Client):
        if scheduler is not None:
            raise ExtractionError("pass a distributed.Client or a scheduler address, not both")
        yield executor
        return
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, set_as_default=False)
        except OSError as exc:
            raise ExtractionError(
                f"no Dask scheduler answers at {scheduler} ({exc}); start one with "
                "`dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`"
            ) from exc
        with client:
            yield client
        return
    n_workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    config = {"distributed.scheduler.allowed-failures": LOST_WORKER_RETRIES}
    with _cluster_logs_quiet():
        with dask.config.set(config), main_module_hidden():
            cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
        with cluster, distributed.Client(cluster, set_as_default=False) as client:
            yield client


@contextlib.contextmanager
def _cluster_logs_quiet() -> Iterator[None]:
    """Only warnings from a cluster the job starts: its scheduler runs in this process and
    would log each start, registration and stop at INFO beside the job's own lines."""
    log = logging.getLogger("distributed")
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)


@contextlib.contextmanager
def completed(
    work: Callable[..., Result],
    videos: list[Path],
    options: Any,
    executor: Any,
    scheduler: str | None,
    workers: int | None,
) -> Iterator[Iterator[tuple[Path, distributed.Future]]]:
    """``work(video, options=options)`` as one task per video on the cluster; yields an
    iterator of ``(video, finished future)`` in completion order. Leaving early cancels the
    tasks not finished."""
    with cluster_client(executor, scheduler, workers) as client:
        client.register_plugin(PoseModelPreload(options.configuration), name=PLUGIN_NAME)
        # Largest files first, so that no long video starts last while the other workers idle.
        by_size = sorted(videos, key=lambda video: video.stat().st_size, reverse=True)
        run = uuid.uuid4().hex[:8]
        keys = [f"extract-{video.name}-{run}" for video in by_size]
        futures = client.map(work, by_size, key=keys, options=options, pure=False)
        owners = dict(zip(keys, by_size, strict=True))
        try:
            yield (
                (owners[future.key], future)
                for future in distributed.as_completed(futures, loop=client.loop)
            )
        except BaseException:
            client.cancel(futures)
            raise
