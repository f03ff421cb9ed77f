"""The stream runner: pose, classifiers and analyzers over video files, cameras and streams.

``StreamRunner`` (or ``run_stream``) runs algorithms offline (every frame, deterministic) or in
real time (a capture thread, a bounded buffer, counted drops); see docs/stream.md. The names
of stream-infer's API (``Inference``, ``Dispatcher``, ``DispatcherManager``, ``Player``, and
``algo.BaseAlgo``, ``producer.PyAVProducer``/``OpenCVProducer``, ``log.logger``) are here too,
so its documented usage runs with ``stream_infer`` replaced by ``stream_pose_ml.stream``.
"""

from __future__ import annotations

from stream_pose_ml.stream.algo import AlgoResult, BaseAlgo, FrameWindow, Overlay
from stream_pose_ml.stream.builtin import ClassifierAlgo, PoseAlgo
from stream_pose_ml.stream.compat import Dispatcher, DispatcherManager, Inference, Player
from stream_pose_ml.stream.frames import Frame, SourceInfo
from stream_pose_ml.stream.pipeline import Scheduled
from stream_pose_ml.stream.producer import OpenCVProducer, PyAVProducer
from stream_pose_ml.stream.results import read_results
from stream_pose_ml.stream.runner import RunSummary, StreamRunner, run_stream
from stream_pose_ml.stream.schedule import Decimator, EveryFrames, EveryInterval, Window

__all__ = [
    "AlgoResult",
    "BaseAlgo",
    "ClassifierAlgo",
    "Decimator",
    "Dispatcher",
    "DispatcherManager",
    "EveryFrames",
    "EveryInterval",
    "Frame",
    "FrameWindow",
    "Inference",
    "OpenCVProducer",
    "Overlay",
    "Player",
    "PoseAlgo",
    "PyAVProducer",
    "RunSummary",
    "Scheduled",
    "SourceInfo",
    "StreamRunner",
    "Window",
    "read_results",
    "run_stream",
]
