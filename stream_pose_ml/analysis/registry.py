"""Analyzers by name, for the live server's ``configure {"analyzer": ...}`` and the command line."""

from __future__ import annotations

from stream_pose_ml.analysis.analyzer import Analyzer
from stream_pose_ml.analysis.falls import FallAnalyzer
from stream_pose_ml.analysis.gait import GaitAnalyzer
from stream_pose_ml.analysis.squat import SquatAnalyzer

#: name -> analyzer class (each builds with its default parameters).
ANALYZERS: dict[str, type[Analyzer]] = {
    "squat": SquatAnalyzer,
    "falls": FallAnalyzer,
    "gait": GaitAnalyzer,
}


def make_analyzer(name: str, keep_signal: bool = True) -> Analyzer:
    """A new analyzer ``name`` with its defaults; ``keep_signal`` False keeps no per-frame
    signal rows (a live session's memory then stays flat however long it runs)."""
    try:
        cls = ANALYZERS[name]
    except KeyError:
        raise KeyError(
            f"unknown analyzer {name!r}; known: {', '.join(sorted(ANALYZERS))}"
        ) from None
    analyzer = cls()  # type: ignore[call-arg]  # each subclass has default parameters
    if not keep_signal:
        analyzer.keep_signal_rows(0)
    return analyzer
