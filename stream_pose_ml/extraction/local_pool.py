"""The local executor: one worker process per core, each running one video at a time.

`completed` runs the unit of work over the videos in a process pool and yields each video with
its finished future, as they finish; `video_batch.run_videos` turns them into results.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, TypeVar

Options = TypeVar("Options")
Result = TypeVar("Result")


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: never as a fork of this process, whose MediaPipe threads
    (if it has any) would not survive it. A fork server imports MediaPipe once and forks the
    workers from there, so they start in milliseconds (and stay cheap for later jobs in this
    process); where there is none (Windows), "spawn"."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["mediapipe", "stream_pose_ml.extraction.video_batch"])
    return context


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
    """Start worker processes without running the caller's script again in each of them.

    Spawned and fork-server workers first import the parent's ``__main__`` (by file or module
    name), so a script that calls the job at top level, as the original's docs show (no ``if
    __name__ == "__main__"`` guard), would run again in every worker and break the pool. The
    workers need nothing from ``__main__``, so it names no file or module while they start.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    names = ("__spec__", "__file__")
    saved: dict[str, Any] = {name: vars(main)[name] for name in names if name in vars(main)}
    main.__spec__ = None
    vars(main).pop("__file__", None)
    try:
        yield
    finally:
        vars(main).update(saved)


@contextlib.contextmanager
def completed(
    work: Callable[[Path, Options], Result],
    videos: list[Path],
    options: Options,
    workers: int,
) -> Iterator[Iterator[tuple[Path, Future[Result]]]]:
    """``work(video, options)`` for every video in ``workers`` processes; yields an iterator of
    ``(video, finished future)`` in completion order. Leaving early cancels what has not
    started."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context())
    try:
        # Largest files first, so that no long video starts last while the other workers idle.
        by_size = sorted(videos, key=lambda video: video.stat().st_size, reverse=True)
        with main_module_hidden():  # the workers start during submit
            futures: dict[Future[Result], Path] = {
                pool.submit(work, video, options): video for video in by_size
            }
        yield ((futures[future], future) for future in as_completed(futures))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
