"""`StreamRunner`: algorithms over a video file, camera, image folder or network stream.

Two modes, one pipeline (:mod:`.pipeline`):

- ``offline``: every frame, in order, as fast as the machine goes (decoding runs a few frames
  ahead in a thread). Deterministic: no wall-clock value is written, so two runs over the same
  source give byte-identical result files.
- ``realtime``: a capture thread reads the source into a bounded ring (:mod:`.ring`), files
  paced by their timestamps, live sources as they come; inference takes frames from the ring in
  order, and when it falls behind the oldest frames are dropped and counted, so memory stays
  bounded. Runs whose frame is older than ``max_lateness_s`` are skipped and counted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stream_pose_ml.errors import StreamError
from stream_pose_ml.stream.algo import BaseAlgo, algo_name
from stream_pose_ml.stream.frames import ColorOrder, Frame, FrameSource
from stream_pose_ml.stream.frames import paced as paced_frames
from stream_pose_ml.stream.metrics import RunMetrics
from stream_pose_ml.stream.overlays import VideoTap
from stream_pose_ml.stream.pipeline import Pipeline, Scheduled
from stream_pose_ml.stream.results import ResultFiles, open_sinks
from stream_pose_ml.stream.ring import FrameRing
from stream_pose_ml.stream.schedule import Decimator

logger = logging.getLogger(__name__)

Mode = Literal["offline", "realtime"]
MODES: tuple[str, ...] = ("offline", "realtime")


@dataclass
class RunSummary:
    """What a run did: its id, metrics (see `RunMetrics.to_dict`) and files written."""

    run_id: str
    mode: str
    source: str
    metrics: dict[str, Any]
    outputs: list[Path] = field(default_factory=list)
    video: Path | None = None


def _open(
    source: str | int | Path | FrameSource,
    size: tuple[int, int] | None,
    color: ColorOrder,
    options: Mapping[str, Any],
) -> FrameSource:
    if not isinstance(source, (str, int, Path)):
        return source
    from stream_pose_ml.stream.sources import open_source

    return open_source(source, size=size, color=color, **options)


class StreamRunner:
    """Runs ``algorithms`` (``BaseAlgo`` on every frame, or `Scheduled` with a schedule and
    window) over ``source``.

    ``fps`` decimates the source to at most that rate; ``size`` scales frames to
    ``(width, height)``; ``outputs`` are result files (``.jsonl``, ``.parquet``); ``video_out``
    an annotated H.264 MP4; ``buffer`` the real-time ring's size in frames; ``max_lateness_s``
    the real-time lateness beyond which runs of plain ``BaseAlgo`` entries are skipped;
    ``timings`` (default: only in real time) writes wall-clock timings into the records;
    ``progress`` shows a progress bar (offline) or a status line (real time); ``mlflow_experiment``
    logs the run's metrics and result files to MLflow; ``max_frames`` stops after that many
    decoded frames; ``source_options`` go to ``open_source`` (``fps`` of an image folder or
    camera, network timeouts, a ``ReconnectPolicy``); ``on_progress(frames_done, frames_total)``
    is called after each frame (offline; ``frames_total`` None when unknown).
    """

    def __init__(
        self,
        source: str | int | Path | FrameSource,
        algorithms: Sequence[BaseAlgo | Scheduled],
        *,
        mode: Mode = "offline",
        fps: float | None = None,
        size: tuple[int, int] | None = None,
        outputs: Sequence[str | Path] = (),
        video_out: str | Path | None = None,
        buffer: int = 2,
        max_lateness_s: float | None = None,
        timings: bool | None = None,
        run_id: str | None = None,
        progress: bool = False,
        mlflow_experiment: str | None = None,
        max_frames: int | None = None,
        color: ColorOrder = "rgb",
        source_options: Mapping[str, Any] | None = None,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> None:
        if mode not in MODES:
            raise StreamError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if not algorithms:
            raise StreamError("give at least one algorithm to run")
        self.mode: Mode = mode
        self.scheduled = [
            a if isinstance(a, Scheduled) else Scheduled(a, max_lateness_s=max_lateness_s)
            for a in algorithms
        ]
        self.decimator = Decimator(fps)
        self.outputs = [Path(p) for p in outputs]
        self.video_out = None if video_out is None else Path(video_out)
        self.ring = FrameRing(buffer, keep_dropped=video_out is not None)
        self.timings = (mode == "realtime") if timings is None else bool(timings)
        self.progress = progress
        self.on_progress = on_progress
        self.mlflow_experiment = mlflow_experiment
        self.max_frames = max_frames
        self._source_arg = source
        self._size = size
        self._color: ColorOrder = color
        self._source_options = dict(source_options or {})
        self._requested_run_id = run_id
        self._stop = threading.Event()
        self._source: FrameSource | None = None
        self.metrics = RunMetrics()

    # -- identity --------------------------------------------------------------------------
    def _settings(self, uri: str) -> dict[str, Any]:
        return {
            "source": uri,
            "mode": self.mode,
            "fps": self.decimator.fps,
            "size": list(self._size) if self._size else None,
            "algorithms": [
                {
                    "name": s.name,
                    "class": f"{type(s.algo).__module__}.{type(s.algo).__qualname__}",
                    "schedule": s.schedule.describe(),
                    "frame_count": s.window.count,
                    "frame_step": s.window.step,
                    "params": _params(s.algo),
                }
                for s in self.scheduled
            ],
        }

    def _run_id(self, settings: dict[str, Any]) -> str:
        if self._requested_run_id:
            return self._requested_run_id
        if self.mode == "offline" and not self.timings:  # reproducible: same settings, same id
            text = json.dumps(settings, sort_keys=True, default=str)
            return hashlib.sha256(text.encode()).hexdigest()[:16]
        return uuid.uuid4().hex[:16]

    # -- running ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the run to end (from another thread or a signal handler): the source closes
        and ``run`` returns after the frame in progress."""
        self._stop.set()
        if self._source is not None:
            self._source.close()

    def run(self) -> RunSummary:
        """Run to the end of the source (or ``stop``, or ``max_frames``); write the outputs."""
        source = self._source = _open(
            self._source_arg, self._size, self._color, self._source_options
        )
        try:
            info = source.info
            settings = self._settings(info.uri)
            run_id = self._run_id(settings)
            run = {"run_id": run_id, **settings, "source_info": dataclasses.asdict(info)}
            files = ResultFiles(open_sinks(self.outputs, run))
            pipeline = Pipeline(
                self.scheduled,
                run_id=run_id,
                source=info.uri,
                on_result=files.write,
                metrics=self.metrics,
                timings=self.timings,
            )
            tap = None
            if self.video_out is not None:
                preset = "veryfast" if self.mode == "offline" else "ultrafast"
                tap = VideoTap(self.video_out, info, pipeline, preset)
            with files:
                pipeline.start()
                try:
                    if self.mode == "offline":
                        self._offline(source, pipeline, tap, info.frame_count)
                    else:
                        self._realtime(source, pipeline, tap)
                finally:
                    pipeline.close()
                    if tap is not None:
                        tap.close()
                    self.metrics.ended = time.monotonic()
                    self.metrics.reconnects = int(getattr(source, "reconnects", 0) or 0)
                    files.metrics = self.metrics.to_dict(timings=self.timings)
        finally:
            source.close()
        summary = RunSummary(
            run_id=run_id,
            mode=self.mode,
            source=info.uri,
            metrics=self.metrics.to_dict(),
            outputs=self.outputs,
            video=self.video_out,
        )
        if self.mlflow_experiment:
            _log_to_mlflow(self.mlflow_experiment, summary, settings, self.metrics)
        return summary

    def _frames(self, source: FrameSource) -> Iterator[Frame]:
        for n, frame in enumerate(source.frames()):
            if self._stop.is_set() or (self.max_frames is not None and n >= self.max_frames):
                return
            self.metrics.frames_decoded += 1
            yield frame

    def _offline(
        self, source: FrameSource, pipeline: Pipeline, tap: VideoTap | None, total: int | None
    ) -> None:
        from stream_pose_ml.extraction.video import prefetch

        if self.max_frames is not None:
            total = min(total or self.max_frames, self.max_frames)
        with (
            _progress(self.progress, total, "frames") as bar,
            prefetch(self._frames(source)) as frames,
        ):
            for frame in frames:
                if not self.decimator.keep(frame.index, frame.pts_s):
                    self.metrics.frames_decimated += 1
                else:
                    pipeline.process(frame)
                if tap is not None:
                    tap.write(frame)
                bar.update(1)
                if self.on_progress is not None:
                    self.on_progress(self.metrics.frames_decoded, total)

    def _realtime(self, source: FrameSource, pipeline: Pipeline, tap: VideoTap | None) -> None:
        ring = self.ring
        paced = not source.info.live
        failure: list[BaseException] = []

        def capture() -> None:
            played = 0  # positions of the frames kept, dropped ones included (window holes)
            frames = self._frames(source)
            try:
                for frame in paced_frames(frames, self._stop) if paced else frames:
                    if not self.decimator.keep(frame.index, frame.pts_s):
                        self.metrics.frames_decimated += 1
                        ring.put_aside(frame)
                    else:
                        ring.put(dataclasses.replace(frame, position=played))
                        played += 1
            except BaseException as exc:  # reported by the consumer, which is the caller
                failure.append(exc)
            finally:
                ring.close()

        thread = threading.Thread(target=capture, name="stream-capture", daemon=True)
        thread.start()
        last_status = time.monotonic()
        with _progress(self.progress, None, "frames") as bar:
            try:
                while True:
                    frame, aside = ring.get(timeout=0.2)
                    if tap is not None:
                        for old in aside:
                            tap.write(old)
                    if frame is None:
                        if ring.finished():
                            break
                        continue
                    pipeline.process(frame, realtime=True)
                    if tap is not None:
                        tap.write(frame)
                    bar.update(1)
                    now = time.monotonic()
                    if now - last_status >= 1.0:
                        self._sync_ring()
                        bar.set_postfix_str(self.metrics.status_line(), refresh=False)
                        last_status = now
            finally:
                self.stop()
                thread.join(timeout=5.0)
                self._sync_ring()
        if failure:
            raise failure[0]

    def _sync_ring(self) -> None:
        self.metrics.frames_dropped = self.ring.dropped
        self.metrics.buffer_high_water = self.ring.high_water


def run_stream(
    source: str | int | Path | FrameSource,
    algorithms: Sequence[BaseAlgo | Scheduled],
    **options: Any,
) -> RunSummary:
    """``StreamRunner(source, algorithms, **options).run()``."""
    return StreamRunner(source, algorithms, **options).run()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress(enabled: bool, total: int | None, unit: str) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, dynamic_ncols=True)


def _params(algo: BaseAlgo) -> dict[str, Any]:
    get = getattr(algo, "get_params", None)
    if callable(get):
        try:
            return {str(k): v for k, v in get().items()}
        except Exception:  # a user algorithm with an unusual get_params
            return {}
    return {}


def _log_to_mlflow(
    experiment: str, summary: RunSummary, settings: dict[str, Any], metrics: RunMetrics
) -> None:
    import mlflow

    from stream_pose_ml.learning.mlflow_tracking import configure_tracking, get_or_create_experiment

    configure_tracking()
    experiment_id = get_or_create_experiment(experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"stream-{summary.run_id}"):
        mlflow.log_params(
            {
                "source": summary.source,
                "mode": summary.mode,
                "fps": settings["fps"],
                "algorithms": ",".join(a["name"] for a in settings["algorithms"]),
                "stream_run_id": summary.run_id,
            }
        )
        mlflow.log_metrics(metrics.flat())
        for path in [*summary.outputs, *([summary.video] if summary.video else [])]:
            if path.is_file():
                mlflow.log_artifact(str(path))


__all__ = ["MODES", "RunSummary", "Scheduled", "StreamRunner", "algo_name", "run_stream"]
