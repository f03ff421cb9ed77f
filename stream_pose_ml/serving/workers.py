"""`WorkerPool`: a few long-lived threads that run the sessions' workers.

A live server classifies one window at a time per session, many sessions at once: parallelism
belongs across sessions, not inside one single-row prediction. So each pool thread limits the
native thread pools it uses (OpenMP, BLAS) to ``native_threads`` (default 1); with its default
of all cores, an OpenMP model such as scikit-learn's HistGradientBoosting spends milliseconds per
row starting and syncing threads on a busy machine. OpenMP limits are per thread, hence set in
each pool thread, again after a model load brought new native libraries.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from stream_pose_ml.logfmt import kv

logger = logging.getLogger(__name__)


def limit_native_threads(limit: int) -> None:
    """Limit OpenMP (this thread) and BLAS (process) pools of the loaded libraries to ``limit``."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=limit)


class WorkerPool:
    """``size`` threads running submitted callables in order of submission.

    ``start(fn)`` starts one thread running ``fn`` (default ``threading.Thread``; the API passes
    Socket.IO's ``start_background_task`` so eventlet and gevent get green threads). The queue
    holds at most one entry per busy session, so it is bounded by the number of sessions.
    """

    def __init__(
        self,
        size: int = 2,
        native_threads: int | None = 1,
        start: Callable[[Callable[[], None]], Any] | None = None,
    ) -> None:
        self.size = size
        self.native_threads = native_threads
        self._start = start or _start_thread
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False
        self._generation = 0

    def submit(self, fn: Callable[[], None]) -> None:
        if not self._started:
            with self._lock:
                if not self._started:
                    for _ in range(self.size):
                        self._start(self._run)
                    self._started = True
        self._queue.put(fn)

    def libraries_changed(self) -> None:
        """Re-apply the native thread limit in every worker (after a model load)."""
        self._generation += 1

    def close(self) -> None:
        """Let the workers finish the queued work and exit."""
        for _ in range(self.size if self._started else 0):
            self._queue.put(None)

    def _run(self) -> None:
        applied = -1
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            if self.native_threads and applied != self._generation:
                applied = self._generation
                limit_native_threads(self.native_threads)
            try:
                fn()
            except Exception as exc:  # a task must never end a worker
                logger.exception(kv("pool_task_failed", error=exc))


def _start_thread(fn: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True, name="stream-pose-ml-worker")
    thread.start()
    return thread
