"""Movement analyzers over poses: squat repetitions and form, falls, gait events.

An analyzer consumes frames one at a time (``update``), so it runs live, in the stream runner
(``stream_pose_ml.stream.analyzers.AnalyzerAlgo``) and offline (`analyze` over a
`PoseSequence`) with the same events. See docs/analysis.md.
"""

from __future__ import annotations

from stream_pose_ml.analysis.analyzer import (
    AnalysisResult,
    Analyzer,
    FramePose,
    analyze,
    event_counts,
)
from stream_pose_ml.analysis.events import AnalysisEvent, AnalysisInputError, FormError
from stream_pose_ml.analysis.falls import FallAnalyzer, FallParams
from stream_pose_ml.analysis.gait import GaitAnalyzer, GaitParams
from stream_pose_ml.analysis.squat import SQUAT_PROFILES, SquatAnalyzer, SquatParams, squat_params

__all__ = [
    "SQUAT_PROFILES",
    "AnalysisEvent",
    "AnalysisInputError",
    "AnalysisResult",
    "Analyzer",
    "FallAnalyzer",
    "FallParams",
    "FormError",
    "FramePose",
    "GaitAnalyzer",
    "GaitParams",
    "SquatAnalyzer",
    "SquatParams",
    "analyze",
    "event_counts",
    "squat_params",
]
