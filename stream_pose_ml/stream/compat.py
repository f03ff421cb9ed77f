"""stream-infer's API (``Dispatcher``, ``DispatcherManager``, ``Inference``, ``Player``) over the
runner's pipeline.

Code written for stream-infer runs with ``stream_infer`` replaced by ``stream_pose_ml.stream``:

- ``Dispatcher(max_size)`` collects results as ``collect_results[name][str(frame_index)]``
  through ``collect_result((frame_index, name, data))``, which subclasses may override; results
  are keyed by frame, never by whole second, so none overwrites another. ``max_size`` is the
  real-time frame buffer.
- ``DispatcherManager(cls).create(max_size)`` gives the same dispatcher: the player and the
  inference share it as threads of one process, so no frame is pickled through a proxy.
- ``Inference(dispatcher).load_algo(algo, frame_count, frame_step, interval)``: ``interval``
  seconds between runs (0: every frame), each on ``frame_count`` frames ``frame_step`` played
  frames apart, newest last.
- ``Player(dispatcher, producer, path)``: ``play(fps)`` yields ``(image, frame_index)``
  offline; ``play_async(fps)`` plays in real time (files at their own pace) for
  ``Inference.run_async()``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.algo import BaseAlgo
from stream_pose_ml.stream.frames import DEFAULT_FPS, Frame, FrameSource
from stream_pose_ml.stream.frames import paced as paced_frames
from stream_pose_ml.stream.metrics import RunMetrics
from stream_pose_ml.stream.pipeline import Pipeline, Scheduled
from stream_pose_ml.stream.producer import Producer
from stream_pose_ml.stream.results import ResultRecord
from stream_pose_ml.stream.ring import FrameRing
from stream_pose_ml.stream.schedule import Decimator, EveryFrames, EveryInterval, Window

logger = logging.getLogger(__name__)


class Dispatcher:
    """Links a `Player` and an `Inference`: the current frame (offline), the frame buffer (real
    time), the results and the run's metrics."""

    def __init__(self, max_size: int = 120) -> None:
        self.max_size = int(max_size)
        self.ring = FrameRing(self.max_size)
        self.collect_results: dict[str, dict[str, Any]] = {}
        self.metrics = RunMetrics()
        self.current: Frame | None = None
        self.source = ""  # the player's source, once one plays
        self._lock = threading.RLock()

    @classmethod
    def create(cls, mode: str = "offline", buffer: int = 30, **kwargs: Any) -> Dispatcher:
        """The newer stream-infer spelling: a dispatcher for ``mode`` with a ``buffer`` of
        frames (real time); one class serves both modes here."""
        if mode not in ("offline", "realtime"):
            raise StreamError(f"mode must be 'offline' or 'realtime', got {mode!r}")
        return cls(buffer, **kwargs)

    # -- frames ----------------------------------------------------------------------------
    def add_frame(self, frame: Frame) -> None:
        """The player's newest frame (offline: the one ``auto_run_specific`` runs on)."""
        self.current = frame

    # -- results ---------------------------------------------------------------------------
    def collect_result(self, inference_result: Any) -> None:
        """Store ``(frame_index, name, data)`` as ``collect_results[name][str(frame_index)]``."""
        if inference_result is None:
            return
        key, name, data = str(inference_result[0]), inference_result[1], inference_result[2]
        with self._lock:
            self.collect_results.setdefault(name, {})[key] = data

    def get_result(self, name: str) -> dict[str, Any] | None:
        """Every result of algorithm ``name`` by frame index (as a string), or None."""
        return self.collect_results.get(name) or None

    def get_last_result(self, name: str) -> Any:
        """The result of algorithm ``name`` on the newest frame it ran on, or None."""
        with self._lock:
            results = self.collect_results.get(name)
            if not results:
                return None
            return results[str(max(int(k) for k in results))]

    def clear(self) -> None:
        with self._lock:
            self.collect_results.clear()


class DispatcherManager:
    """stream-infer's manager: ``DispatcherManager(cls).create(max_size)`` returns a ``cls``.
    Player and inference are threads of one process here and share it directly."""

    def __init__(self, obj: type[Dispatcher] = Dispatcher) -> None:
        self._cls = obj

    def create(self, max_size: int = 120, *args: Any, **kwargs: Any) -> Dispatcher:
        return self._cls(max_size, *args, **kwargs)


class Inference:
    """Loads algorithms with their schedules and runs them on the dispatcher's frames."""

    def __init__(self, dispatcher: Dispatcher, run_id: str | None = None) -> None:
        self.dispatcher = dispatcher
        self.run_id = run_id or uuid.uuid4().hex[:16]
        self.algos: list[Scheduled] = []
        self._pipeline: Pipeline | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def load_algo(
        self,
        algo: BaseAlgo,
        frame_count: int = 1,
        frame_step: int = 1,
        interval: float = 0,
        max_lateness_s: float | None = None,
    ) -> None:
        """Run ``algo`` every ``interval`` seconds of the video (0: every frame) on
        ``frame_count`` frames, one every ``frame_step`` played frames, newest last."""
        if self._pipeline is not None:
            raise StreamError("load every algorithm before the first frame runs")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0:
            raise StreamError(f"interval must be a number of seconds >= 0, got {interval!r}")
        schedule = EveryInterval(interval) if interval > 0 else EveryFrames(1)
        self.algos.append(
            Scheduled(algo, schedule, Window(frame_count, frame_step), max_lateness_s)
        )

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            if not self.algos:
                raise StreamError("load an algorithm first (Inference.load_algo)")
            self._pipeline = Pipeline(
                self.algos,
                run_id=self.run_id,
                source=self.dispatcher.source,
                on_result=self._collect,
                metrics=self.dispatcher.metrics,
            )
            self._pipeline.start()
        return self._pipeline

    def _collect(self, record: ResultRecord) -> None:
        self.dispatcher.collect_result((record.frame_index, record.algorithm, record.value))

    def auto_run_specific(self, fps: float | None = None, current_frame: int | None = None) -> Any:
        """Run the algorithms due on the player's current frame (offline); returns the name of
        the last one that gave a result, or None. ``fps`` is accepted for compatibility: the
        schedule uses the frame's own time."""
        frame = self.dispatcher.current
        if frame is None:
            raise StreamError("no frame yet: call auto_run_specific inside the player.play() loop")
        if current_frame is not None and int(current_frame) != frame.index:
            raise StreamError(
                f"current_frame {current_frame} is not the player's frame {frame.index}"
            )
        results = self.pipeline.process(frame)
        return next(reversed(results), None) if results else None

    def run_async(self) -> None:
        """Run the algorithms on the dispatcher's real-time buffer in a thread until stop()."""
        pipeline = self.pipeline
        ring = self.dispatcher.ring
        self._stop.clear()

        def work() -> None:
            while not self._stop.is_set():
                frame, _ = ring.get(timeout=0.1)
                if frame is None:
                    if ring.finished():
                        return
                    continue
                pipeline.process(frame, realtime=True)

        self._thread = threading.Thread(target=work, name="stream-inference", daemon=True)
        self._thread.start()

    def is_active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """End the inference thread and release the algorithms. When the player has finished,
        the frames still buffered are run first; otherwise it ends after the current run."""
        if not self.dispatcher.ring.closed:
            self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pipeline is not None:
            self._pipeline.close()
        metrics = self.dispatcher.metrics
        metrics.frames_dropped = self.dispatcher.ring.dropped
        metrics.buffer_high_water = self.dispatcher.ring.high_water
        metrics.ended = time.monotonic()


class Player:
    """Plays ``path`` (or ``source``: a file, camera index, image folder or stream URL) through
    ``producer`` into ``dispatcher``."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        producer: Producer,
        path: str | int | Path | None = None,
        *,
        source: str | int | Path | None = None,
    ) -> None:
        target = source if source is not None else path
        if target is None:
            raise StreamError("give the player a path (or source) to play")
        self.dispatcher = dispatcher
        self.producer = producer
        self.path = target
        self._source: FrameSource = producer.open(target)
        self.info = self._source.info
        dispatcher.source = self.info.uri
        self.fps: float = self.info.fps or DEFAULT_FPS
        self.frame_count = self.info.frame_count
        self.play_fps: float = self.fps
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _played(self, fps: float | None) -> Iterator[Frame]:
        if fps is not None and (isinstance(fps, bool) or not fps > 0):
            raise StreamError(f"fps must be a number > 0, got {fps!r}")
        self.play_fps = float(min(fps, self.fps)) if fps else self.fps
        decimator = Decimator(self.play_fps if fps and fps < self.fps else None)
        metrics = self.dispatcher.metrics
        played = 0
        for frame in self._source.frames():
            if self._stop.is_set():
                return
            metrics.frames_decoded += 1
            if not decimator.keep(frame.index, frame.pts_s):
                metrics.frames_decimated += 1
                continue
            yield dataclasses.replace(frame, position=played)
            played += 1

    def play(self, fps: float | None = None) -> Iterator[tuple[Any, int]]:
        """Offline: every frame (decimated to ``fps`` if lower than the source's), as
        ``(image, frame_index)``; run ``inference.auto_run_specific`` inside the loop."""
        try:
            for frame in self._played(fps):
                self.dispatcher.add_frame(frame)
                yield frame.image, frame.index
        finally:
            self._source.close()

    def play_async(self, fps: float | None = None) -> None:
        """Real time: play in a thread into the dispatcher's buffer (a file at its own pace; a
        full buffer drops its oldest frame)."""
        ring = self.dispatcher.ring
        paced = not self.info.live

        def play() -> None:
            frames = self._played(fps)
            try:
                for frame in paced_frames(frames, self._stop) if paced else frames:
                    self.dispatcher.add_frame(frame)
                    ring.put(frame)
            except Exception:
                logger.exception("playing %s failed", self.path)
            finally:
                ring.close()
                self._source.close()

        self._thread = threading.Thread(target=play, name="stream-player", daemon=True)
        self._thread.start()

    def is_active(self) -> bool:
        """True while ``play_async`` is still playing."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._source.close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
